"""The scaffolded workflow's schema-check step, run as the user's CI runs it: its ``run:`` text
through bash in a created project, with the tool, Go and Python on PATH. With a Kubernetes
target it fetches cert-manager's CRDs from the Go module proxy and validates ``--strict``, so
nothing (the Certificates and Issuers of ``transport: ssl`` included) goes unvalidated."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from emitter import scaffold
from emitter.targets.kubernetes import ci

from .conftest import Result
from .support import cert_manager, cloudnative_pg, gateway_api
from .support.validators import require_tool

Cli = Callable[..., Result]


def validate_step(project: Path) -> dict[str, str]:
    workflow = yaml.safe_load((project / scaffold.WORKFLOW).read_text())
    steps = workflow["jobs"]["check"]["steps"]
    return next(step for step in steps if step.get("name", "").startswith("Schema-check"))


def run_step(step: dict[str, str], project: Path) -> subprocess.CompletedProcess[str]:
    tools = os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    )  # the venv's ignition-stack and python first, as setup-python puts them
    return subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=project,
        env={**os.environ, "PATH": tools},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_pinned_cert_manager_is_the_one_the_suite_validates_against() -> None:
    assert f"{cert_manager.MODULE}@{cert_manager.VERSION}" == ci.CERT_MANAGER
    assert f"{gateway_api.MODULE}@{gateway_api.VERSION}" == ci.GATEWAY_API


@pytest.mark.external
def test_the_validate_step_checks_http_routes(cli: Cli, tmp_path: Path) -> None:
    """A project whose `web:` routes through HTTPRoutes: strict passes only because the step
    gives the Gateway API's CRDs too, and each HTTPRoute is reported validated."""
    require_tool("go")
    require_tool("kubectl")
    stack = Path(__file__).parent / "golden" / "scale-out-redundant-ssl-web" / "stack.yaml"
    created = cli("create", "plant", "-f", str(stack), "--target", "k8s", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    run = run_step(validate_step(project), project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(": ok (HTTPRoute/web-") == 3
    assert " 0 failed, 0 skipped; Kubernetes " in run.stdout


def test_the_pinned_cloudnative_pg_is_the_one_the_suite_validates_against() -> None:
    assert f"{cloudnative_pg.MODULE}@{cloudnative_pg.VERSION}" == ci.CLOUDNATIVE_PG


@pytest.mark.external
@pytest.mark.parametrize("transport", ["ssl", "plain"])
def test_the_kubernetes_validate_step_passes_strict(
    cli: Cli, tmp_path: Path, transport: str
) -> None:
    require_tool("go")
    require_tool("kubectl")
    created = cli(
        "create",
        "plant",
        "--arch",
        "scale-out",
        "--redundant",
        "backend",
        "--transport",
        transport,
        "--target",
        "all",
        "-o",
        str(tmp_path),
    )
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    step = validate_step(project)
    assert "--strict --crd" in step["run"]
    run = run_step(step, project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 failed, 0 skipped; Kubernetes " in run.stdout
    assert "custom resource kinds from --crd" in run.stdout
    if transport == "ssl":
        assert ": ok (Certificate/" in run.stdout and ": ok (Issuer/" in run.stdout


def test_the_compose_validate_step_passes(cli: Cli, tmp_path: Path) -> None:
    assert cli("create", "plant", "--arch", "basic", "-o", str(tmp_path)).exit_code == 0
    project = tmp_path / "plant"
    step = validate_step(project)
    assert step["run"] == "ignition-stack validate targets"
    run = run_step(step, project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Kubernetes" not in run.stdout


@pytest.mark.external
def test_the_validate_step_checks_a_database_cluster(cli: Cli, tmp_path: Path) -> None:
    """A stack with a database: the Cluster is validated against CloudNativePG's CRD."""
    from .support.cases import stack_file

    require_tool("go")
    require_tool("kubectl")
    case = stack_file("scale-out-redundant-ssl-database")
    created = cli("create", "plant", "-f", str(case), "--target", "all", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    run = run_step(validate_step(project), project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "postgresql.cnpg.io_v1_cluster_postgres.yaml: ok (Cluster/postgres)" in run.stdout
    assert " 0 failed, 0 skipped; Kubernetes " in run.stdout
