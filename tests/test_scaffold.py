"""What `create` scaffolds once and the user then owns: kustomize overlays and a CI workflow."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import GOLDEN, Result
from .support import cert_manager, cloudnative_pg, gateway_api
from .support.cases import CASES
from .support.validators import kustomize_build, run_kubeconform

Cli = Callable[..., Result]


@pytest.mark.external
@pytest.mark.parametrize("case", CASES)
def test_every_scaffolded_overlay_builds_and_validates(cli: Cli, tmp_path: Path, case: str) -> None:
    result = cli(
        "create",
        "plant",
        "-f",
        str(GOLDEN / case / "stack.yaml"),
        "--target",
        "k8s",
        "-o",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    overlays = tmp_path / "plant" / "overlays" / "kubernetes"
    assert sorted(path.name for path in overlays.iterdir()) == ["dev", "production"]
    transport = yaml.safe_load((GOLDEN / case / "stack.yaml").read_text()).get("transport", "plain")
    for environment in ("dev", "production"):
        built = kustomize_build(overlays / environment)
        documents = [d for d in yaml.safe_load_all(built) if d]
        run_kubeconform(
            built,
            extra_schema_locations=[
                cert_manager.schema_location(),
                gateway_api.schema_location(),
                cloudnative_pg.schema_location(),
            ],
        )
        expected = "plant" if environment == "production" else "plant-dev"
        # The overlay creates the namespace it deploys into, under Pod Security "restricted".
        namespace_objects = [d for d in documents if d["kind"] == "Namespace"]
        assert [d["metadata"]["name"] for d in namespace_objects] == [expected]
        labels = namespace_objects[0]["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        namespaced = [d for d in documents if d["kind"] != "Namespace"]
        assert {d["metadata"]["namespace"] for d in namespaced} == {expected}
        for document in documents:
            assert document["metadata"]["labels"]["environment"] == environment
            if document["kind"] == "StatefulSet":
                assert "environment" not in document["spec"]["selector"]["matchLabels"]
        if environment == "dev":
            stateful_sets = [d for d in documents if d["kind"] == "StatefulSet"]
            for stateful_set in stateful_sets:
                container = stateful_set["spec"]["template"]["spec"]["containers"][0]
                assert container["resources"]["limits"]["memory"] == "1536Mi"
    assert transport in ("plain", "ssl")


def test_the_ci_workflow_is_a_valid_github_workflow(cli: Cli, tmp_path: Path) -> None:
    assert (
        cli(
            "create",
            "plant",
            "--arch",
            "scale-out",
            "--redundant",
            "backend",
            "--target",
            "all",
            "-o",
            str(tmp_path),
        ).exit_code
        == 0
    )
    workflow = yaml.safe_load(
        (tmp_path / "plant" / ".github" / "workflows" / "ignition-stack.yaml").read_text()
    )
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "github-workflows.json"
    )
    jsonschema.validate(workflow, json.loads(vendored.read_text()))
    runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["check"]["steps"])
    assert "ignition-stack emit stack.yaml --check\n" in runs + "\n"
    assert "kubectl kustomize" in runs and "kubeconform -strict" in runs
    # The production overlay's gate makes the demo-only plain transport an error.
    gate = next(
        s
        for s in workflow["jobs"]["check"]["steps"]
        if s.get("name", "").startswith("The production")
    )
    assert gate["run"].endswith("--check --strict")


def test_the_production_gate_fails_a_plain_stack_and_passes_an_ssl_one(
    cli: Cli, tmp_path: Path
) -> None:
    # --check exits 2 when the stack itself is refused (IS201 under --strict: the pair's link is
    # plain), 0 when clean.
    for transport, exit_code in (("plain", 2), ("ssl", 0)):
        project = tmp_path / transport
        created = cli(
            "create",
            "plant",
            "--arch",
            "basic",
            "--redundant",
            "gateway",
            "--transport",
            transport,
            "--target",
            "k8s",
            "-o",
            str(project),
        )
        assert created.exit_code == 0, created.stderr
        result = cli(
            "emit",
            str(project / "plant" / "stack.yaml"),
            "--target",
            "kubernetes",
            "--check",
            "--strict",
        )
        assert result.exit_code == exit_code, result.stderr
        if transport == "plain":
            assert "error IS201" in result.stderr


def test_a_compose_only_workflow_has_no_kubernetes_steps(cli: Cli, tmp_path: Path) -> None:
    assert (
        cli(
            "create", "plant", "--arch", "basic", "--transport", "ssl", "-o", str(tmp_path)
        ).exit_code
        == 0
    )
    workflow = (tmp_path / "plant" / ".github" / "workflows" / "ignition-stack.yaml").read_text()
    assert "ignition-stack emit stack.yaml --check" in workflow
    assert "kubeconform" not in workflow and "--strict" not in workflow


def test_no_ci_and_compose_only_scaffold_less(cli: Cli, tmp_path: Path) -> None:
    assert cli("create", "plant", "--arch", "basic", "--no-ci", "-o", str(tmp_path)).exit_code == 0
    assert not (tmp_path / "plant" / ".github").exists()
    assert not (tmp_path / "plant" / "overlays").exists()


def test_emit_never_touches_overlays_or_user_files(cli: Cli, tmp_path: Path) -> None:
    assert (
        cli(
            "create", "plant", "--arch", "hub-and-spoke", "--target", "all", "-o", str(tmp_path)
        ).exit_code
        == 0
    )
    project = tmp_path / "plant"
    overlay = project / "overlays" / "kubernetes" / "dev" / "kustomization.yaml"
    overlay.write_text(overlay.read_text() + "# my change\n")
    (project / "targets" / "kubernetes" / "NOTES.md").write_text("mine\n")
    stack = project / "stack.yaml"
    stack.write_text(
        stack.read_text().replace("spokes: 3", "spokes: 2").split("\ngateways:")[0] + "\n"
    )
    result = cli("emit", str(stack))
    assert result.exit_code == 0, result.stderr
    assert overlay.read_text().endswith("# my change\n")
    assert (project / "targets" / "kubernetes" / "NOTES.md").read_text() == "mine\n"
    assert "spoke-2" not in (project / "targets" / "compose" / "compose.yaml").read_text()


def _replicas(overlay: Path) -> dict[str, int]:
    built = [d for d in yaml.safe_load_all(kustomize_build(overlay)) if d]
    return {
        d["metadata"]["name"]: d["spec"]["replicas"] for d in built if d["kind"] == "StatefulSet"
    }


@pytest.mark.external
def test_production_replicas_follow_stack_yaml_through_the_base(cli: Cli, tmp_path: Path) -> None:
    """The production overlay pins no replica count: `spokes:` in stack.yaml and `emit` resize
    production. Dev keeps its one replica per tier, a deliberate per-environment difference."""
    created = cli(
        "create",
        "plant",
        "--arch",
        "hub-and-spoke",
        "--redundant",
        "hub",
        "--spokes",
        "5",
        "--target",
        "k8s",
        "-o",
        str(tmp_path),
    )
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    overlays = project / "overlays" / "kubernetes"
    assert _replicas(overlays / "production") == {"hub": 2, "spoke": 5}
    assert _replicas(overlays / "dev") == {"hub": 2, "spoke": 1}
    stack = project / "stack.yaml"
    stack.write_text(
        stack.read_text().replace("spokes: 5", "spokes: 2").split("\ngateways:")[0] + "\n"
    )
    emitted = cli("emit", str(stack), "--target", "kubernetes")
    assert emitted.exit_code == 0, emitted.stderr
    assert _replicas(overlays / "production") == {"hub": 2, "spoke": 2}
    assert _replicas(overlays / "dev") == {"hub": 2, "spoke": 1}
