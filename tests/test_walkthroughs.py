"""The Kubernetes walkthroughs (POST-SETUP.md, the README) name the namespace the manifests they
apply really use, create it and the Secrets in it first, and watch it.

Each command is read as the shell reads it; the overlay a block applies is built with
`kubectl kustomize`, and every namespace the block names, creates or watches is checked against
that build. tests/targets/kubernetes/test_cluster.py runs the same blocks against a real API server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Result
from .engines.kubernetes import user_secrets
from .support import walkthrough
from .support.validators import kustomize_build

Cli = Callable[..., Result]
ROOT = Path(__file__).parent.parent

# Plain and SSL (which adds the keystore Secret), with and without a pair and replicated tiers.
SHAPES = {
    "basic": ("--arch", "basic", "--redundant", "none"),
    "scale-out-redundant": ("--arch", "scale-out", "--redundant", "backend"),
    "hub-and-spoke-redundant-ssl": (
        *("--arch", "hub-and-spoke", "--redundant", "hub", "--spokes", "2"),
        *("--transport", "ssl"),
    ),
}


def built(directory: Path) -> list[dict[str, Any]]:
    return [item for item in yaml.safe_load_all(kustomize_build(directory)) if item]


def check_block(block: list[walkthrough.Command], cwd: Path) -> str:
    """Check one deploy block run from ``cwd``; returns the namespace it deploys into."""
    for command in block:
        if command.argv[:1] == ("cd",):
            cwd = cwd / command.argv[1]
    overlays = [command.applied_overlay for command in block if command.applied_overlay]
    assert len(overlays) == 1, f"one overlay per block: {[c.line for c in block]}"
    objects = built(cwd / overlays[0])
    namespaces = {item["metadata"]["namespace"] for item in objects if item["kind"] != "Namespace"}
    assert len(namespaces) == 1, f"{overlays[0]} spreads over {sorted(namespaces)}"
    namespace: str = namespaces.pop()
    created = [item["metadata"]["name"] for item in objects if item["kind"] == "Namespace"]
    assert created == [namespace], f"{overlays[0]} creates {created}, deploys into {namespace}"
    for command in block:
        if command.namespace is not None:
            assert command.namespace == namespace, (
                f"{command.line!r}: {overlays[0]} uses {namespace}"
            )
    # The namespace exists before the Secrets go into it, and both before the workloads start.
    kinds = [_step(command, cwd, namespace) for command in block]
    steps = [kind for kind in kinds if kind]
    assert steps[0] == "namespace" and steps[-2:] == ["apply", "watch"], steps
    assert set(steps[1:-2]) <= {"secret"}, steps
    secrets = {command.created_secret for command in block if command.created_secret}
    needed = {secret["metadata"]["name"] for secret in user_secrets(objects)}
    assert secrets == needed, f"the block creates Secrets {secrets}; the pods read {needed}"
    return namespace


def _step(command: walkthrough.Command, cwd: Path, namespace: str) -> str | None:
    if command.applied_file:
        document = yaml.safe_load((cwd / command.applied_file).read_text(encoding="utf-8"))
        assert document["kind"] == "Namespace", command.line
        assert document["metadata"]["name"] == namespace, command.line
        labels = document["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted", command.line
        return "namespace"
    if command.created_secret:
        return "secret"
    if command.applied_overlay:
        return "apply"
    if command.argv[:1] == ("kubectl",) and "get" in command.argv and "pods" in command.argv:
        return "watch"
    return None


@pytest.mark.external
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_post_setup_deploys_into_the_namespace_each_overlay_uses(
    shape: str, cli: Cli, tmp_path: Path
) -> None:
    created = cli("create", "plant", *SHAPES[shape], "--target", "all", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    text = (project / "POST-SETUP.md").read_text(encoding="utf-8")
    deploys = walkthrough.kubernetes_blocks(text)
    applied = sorted(
        c.applied_overlay or "" for block in deploys for c in block if c.applied_overlay
    )
    assert applied == ["overlays/kubernetes/dev", "overlays/kubernetes/production"]
    namespaces = [check_block(block, project) for block in deploys]
    assert namespaces == ["plant-dev", "plant"]
    # Commands quoted in the prose (port-forward, exec, rollout restart) use the first one's.
    quoted = walkthrough.inline_kubectl(text)
    assert quoted or shape == "basic", "a pair's POST-SETUP.md quotes no kubectl command"
    for command in quoted:
        assert command.namespace == namespaces[0], command.line


@pytest.mark.external
def test_the_readme_kubernetes_walkthrough_deploys_where_it_watches(
    cli: Cli, tmp_path: Path
) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    deploys = walkthrough.kubernetes_blocks(text)
    assert len(deploys) == 1
    block = deploys[0]
    create = block[0].argv
    assert create[:2] == ("ignition-stack", "create"), block[0].line
    result = cli(*create[1:], "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert check_block(block, tmp_path) == f"{create[2]}-dev"
