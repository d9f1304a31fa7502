"""Real external validators on what ignition-stack emits: kubeconform (strict, offline
schemas, nothing skipped) on every golden Kubernetes tree and every overlay build, for every
supported Kubernetes version. cert-manager's kinds (``transport: ssl``) are validated against
cert-manager's own CRD schemas (``support/cert_manager.py``), HTTPRoutes (``web:``) against the
Gateway API's (``support/gateway_api.py``) and the database's CloudNativePG Cluster against
CloudNativePG's (``support/cloudnative_pg.py``), never skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from emitter.targets.kubernetes.validation import schemas

from .conftest import GOLDEN
from .support import cert_manager, cloudnative_pg, gateway_api
from .support.validators import kustomize_build, run_kubeconform

KUBERNETES_TREES = sorted(path for path in GOLDEN.glob("*/expected/kubernetes") if path.is_dir())
# 1.29 is the oldest release the manifests target (native sidecars, PVC retention policy GA).
VERSIONS = [
    v for v in schemas.bundled_kubernetes_versions() if tuple(map(int, v.split("."))) >= (1, 29)
]


def crd_schemas() -> list[str]:
    """The custom resources' schemas: cert-manager's, the Gateway API's and CloudNativePG's."""
    return [
        cert_manager.schema_location(),
        gateway_api.schema_location(),
        cloudnative_pg.schema_location(),
    ]


def tree_id(path: Path) -> str:
    return path.parts[-3]


@pytest.mark.external
@pytest.mark.parametrize("version", VERSIONS)
def test_kubeconform_accepts_every_golden_tree(version: str) -> None:
    manifests = sorted(
        path
        for tree in KUBERNETES_TREES
        for path in tree.glob("*.yaml")
        if path.name != "kustomization.yaml"
    )
    summary = run_kubeconform(manifests, version, extra_schema_locations=crd_schemas())
    assert summary["valid"] == len(manifests)


@pytest.mark.external
@pytest.mark.parametrize("tree", KUBERNETES_TREES, ids=tree_id)
def test_kustomize_builds_every_golden_base(tree: Path) -> None:
    built = kustomize_build(tree)
    listed = sum(1 for path in tree.glob("*.yaml") if path.name != "kustomization.yaml")
    summary = run_kubeconform(built, VERSIONS[-1], extra_schema_locations=crd_schemas())
    assert summary["valid"] == listed
    assert f"namespace: {'plant'}" in built


def test_versions_cover_1_29_to_the_newest_bundled() -> None:
    assert VERSIONS[0] == "1.29"
    assert VERSIONS[-1] == schemas.latest_kubernetes_version()
