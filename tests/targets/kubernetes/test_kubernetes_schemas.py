"""Every emitted object against the bundled Kubernetes schemas (strict: no unknown fields) of
every supported Kubernetes version, cert-manager's objects against cert-manager's own CRD
schemas made strict (``tests/support/cert_manager.py``), and the shape of the emitted files."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from kubernetes_validate.utils import all_versions
from packaging.version import Version

from emitter.targets.kubernetes.options import KubernetesSpec

from ...support import cert_manager, cloudnative_pg, gateway_api
from .emitted import CASE_IDS, CASES, KUSTOMIZATION, Emitted, build

OLDEST_SUPPORTED = Version("1.29")
# Discovered, not hard-coded: a newer kubernetes-validate adds its versions here by itself.
VERSIONS = sorted(
    {version for version in all_versions() if Version(version) >= OLDEST_SUPPORTED}, key=Version
)
TRANSPORTS = ("plain", "ssl")


@pytest.fixture(autouse=True, scope="module")
def _schemas_read_once() -> Iterator[None]:
    """kubernetes-validate re-reads a multi-megabyte definitions file on every call; the
    schemas never change during a run, so read each once (validation itself is unchanged)."""
    original = kubernetes_validate.utils.schema_contents
    kubernetes_validate.utils.schema_contents = functools.cache(original)
    yield
    kubernetes_validate.utils.schema_contents = original


def test_versions_are_discovered() -> None:
    assert VERSIONS[0] == "1.29.0"
    assert Version(VERSIONS[-1]) >= Version("1.37")
    assert VERSIONS[-1] == max(all_versions(), key=Version)


@pytest.fixture(
    scope="module", params=[*CASES, ("hub-and-spoke", "hub", "options")], ids=[*CASE_IDS, "options"]
)
def emitted(request: pytest.FixtureRequest) -> Emitted:
    architecture, redundant, *variant = request.param
    if variant:
        # Every optional field set: storage class, required anti-affinity, extra namespaces, SSL.
        return build(
            architecture,
            redundant,
            transport="ssl",
            spokes=5,
            kubernetes=KubernetesSpec(
                storage_class="fast-ssd",
                pair_anti_affinity="required",
                web_access_namespaces=["ingress-nginx", "monitoring"],
            ),
        )
    return build(architecture, redundant)


def validate_strictly(path: str, item: dict[str, Any], version: str) -> None:
    """One emitted object: a cert-manager kind against cert-manager's CRD, any other kind
    against Kubernetes' own schema; both strict."""
    if cert_manager.is_cert_manager(item):
        problems = cert_manager.problems(item, version)
        assert problems is not None, f"{path}: cert-manager has no CRD for {item['kind']}"
        assert problems == [], f"{path} is invalid for cert-manager {cert_manager.VERSION}"
        return
    if gateway_api.is_gateway_api(item):
        problems = gateway_api.problems(item, version)
        assert problems is not None, f"{path}: the Gateway API has no CRD for {item['kind']}"
        assert problems == [], (
            f"{path} is invalid for Gateway API {gateway_api.VERSION}: {problems}"
        )
    if cloudnative_pg.is_cloudnative_pg(item):
        assert cloudnative_pg.validate_objects([item], version) == 1, path
        return
    try:
        kubernetes_validate.validate(item, version, strict=True)
    except kubernetes_validate.ValidationError as exc:  # pragma: no cover - failure detail
        pytest.fail(f"{path} is invalid for Kubernetes {version}: {exc.message}")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly(emitted: Emitted, version: str) -> None:
    assert emitted.objects
    for path, item in emitted.objects.items():
        validate_strictly(path, item, version)


@pytest.mark.parametrize(("architecture", "redundant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_both_transports_validate(architecture: str, redundant: str | None, transport: str) -> None:
    emitted = build(architecture, redundant, transport=transport)
    for path, item in emitted.objects.items():
        validate_strictly(path, item, VERSIONS[-1])
    kinds = {
        item["kind"] for item in emitted.objects.values() if cert_manager.is_cert_manager(item)
    }
    assert kinds == ({"Certificate", "Issuer"} if transport == "ssl" else set())


def _walk(value: Any, path: str = "") -> list[str]:
    """Paths of every null in ``value``."""
    if value is None:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _walk(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [
            found for index, item in enumerate(value) for found in _walk(item, f"{path}[{index}]")
        ]
    return []


def test_files(emitted: Emitted) -> None:
    files = emitted.files
    assert list(files) == sorted(files)
    assert not emitted.emission.diagnostics
    for path, text in files.items():
        assert "/" not in path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert text.startswith("# Generated by ignition-stack"), path
        assert "&id" not in text and "*id" not in text, f"{path} uses YAML anchors"
    for path, item in emitted.objects.items():
        assert list(item)[:4] == [
            "apiVersion",
            "kind",
            "metadata",
            "spec" if "spec" in item else "data",
        ]
        assert "status" not in item
        assert _walk(item) == [], path
        group, _, version = item["apiVersion"].rpartition("/")
        prefix = f"{group}_{version}" if group else version
        assert path == f"{prefix}_{item['kind']}_{item['metadata']['name']}.yaml".lower()
        assert "namespace" not in item["metadata"], "kustomization.yaml sets the namespace"


def test_kustomization_lists_every_manifest(emitted: Emitted) -> None:
    kustomization = yaml.safe_load(emitted.files[KUSTOMIZATION])
    assert list(kustomization) == ["apiVersion", "kind", "namespace", "resources"]
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == emitted.stack.name
    assert kustomization["resources"] == sorted(emitted.objects)


@pytest.mark.parametrize(("architecture", "redundant"), CASES, ids=CASE_IDS)
def test_emit_is_deterministic(architecture: str, redundant: str | None) -> None:
    first = build(architecture, redundant).files
    assert build(architecture, redundant).files == first


def test_strict_validation_rejects_an_unknown_field(emitted: Emitted) -> None:
    """A negative control: the schemas in use do reject what the API server would."""
    stateful_set = emitted.of_kind("StatefulSet")[0]
    broken = yaml.safe_load(yaml.safe_dump(stateful_set))
    broken["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)
