"""The scaffolded CI workflow installs exactly this tool, from the requirement the project
records, and its own steps pass on a fresh checkout of a newly created project."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import __version__

from .conftest import Result
from .support.workflow import (
    Wheelhouse,
    build_wheelhouse,
    fresh_environment,
    git_checkout,
    load_workflow,
    run_steps,
)

Cli = Callable[..., Result]


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


def install_step(workflow: Mapping[str, Any]) -> str:
    steps = workflow["jobs"]["check"]["steps"]
    run: str = next(s["run"] for s in steps if "pip install" in s.get("run", ""))
    return run


def needs_the_internet(step: Mapping[str, Any]) -> bool:
    """kubeconform is installed from the Go module proxy and fetches its schemas from GitHub
    at run time; the overlays it checks are validated offline, with the same kubeconform, by
    test_scaffold.test_every_scaffolded_overlay_builds_and_validates."""
    return "kubeconform" in str(step.get("run", ""))


def create(cli: Cli, parent: Path, *args: str) -> Path:
    result = cli("create", "plant", *args, "-o", str(parent))
    assert result.exit_code == 0, result.stderr
    return parent / "plant"


def test_the_workflow_steps_pass_with_the_tool_built_from_this_checkout(
    cli: Cli, tmp_path: Path, wheelhouse: Wheelhouse
) -> None:
    """Install, drift gate and validation, as the workflow runs them, in a fresh virtual
    environment that can only install from the local wheel directory."""
    venv = fresh_environment(tmp_path / "venv")
    spec = str(wheelhouse.wheel)
    for parent, args in (
        ("compose", ("--arch", "hub-and-spoke", "--redundant", "hub", "--transport", "ssl")),
        (
            "all",
            (
                "--arch",
                "scale-out",
                "--redundant",
                "backend",
                "--transport",
                "ssl",
                "--target",
                "all",
            ),
        ),
    ):
        if parent == "all":  # the Kubernetes target needs the extra
            spec = f"ignition-stack-emitter[kubernetes] @ {wheelhouse.wheel.resolve().as_uri()}"
        project = create(cli, tmp_path / parent, *args, "--tool-spec", spec)
        assert yaml.safe_load((project / "stack.yaml").read_text())["tool"] == spec
        workflow = load_workflow(project)
        assert shlex.split(install_step(workflow)) == ["python", "-m", "pip", "install", spec]
        git_checkout(project)
        runs = run_steps(
            workflow, project, venv, wheelhouse.pip_environment(), skip=needs_the_internet
        )
        failed = [run for run in runs if run.exit_code != 0]
        assert not failed, f"{parent}: step {failed[0].name!r} failed:\n{failed[0].output}"
        ran = [run.name for run in runs]
        assert ran[:2] == ["Install ignition-stack", "Generated files match stack.yaml"], ran
        # Last, once the tools a Kubernetes project's check needs are installed.
        assert ran[-1].startswith("Schema-check the generated files"), ran
        drift_gate = runs[1].output
        assert "POST-SETUP.md" in drift_gate and "is up to date" in drift_gate
        if parent == "compose":
            assert "kubernetes" not in drift_gate
        else:
            assert "The production overlay needs transport: ssl" in ran
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
        assert status.stdout == "", "the workflow changes nothing in the checkout"
    installed = subprocess.run(
        [str(venv / "bin" / "ignition-stack"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert installed.stdout.strip() == f"ignition-stack {__version__}"
    shown = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "show", "ignition-stack-emitter"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0 and f"Version: {__version__}" in shown.stdout


def test_the_default_install_step_names_this_release(
    cli: Cli, tmp_path: Path, wheelhouse: Wheelhouse
) -> None:
    """Without --tool-spec the workflow installs ignition-stack-emitter==VERSION; served from
    a directory standing in for the user's package index, pip resolves it to this tool."""
    created = cli("create", "plant", "--arch", "basic", "--transport", "ssl", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    requirement = f"ignition-stack-emitter=={__version__}"
    assert f"CI installs {requirement}" in created.stdout
    assert yaml.safe_load((project / "stack.yaml").read_text())["tool"] == requirement
    run = install_step(load_workflow(project))
    assert shlex.split(run) == ["python", "-m", "pip", "install", requirement]
    venv = fresh_environment(tmp_path / "venv")
    result = subprocess.run(
        ["bash", "-e", "-c", run],
        cwd=project,
        env={
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(Path.home()),
            "PIP_DRY_RUN": "1",  # resolve only: the full install is the test above
            **wheelhouse.pip_environment(),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "Would install" in result.stdout
        and f"ignition-stack-emitter-{__version__}" in result.stdout
    )


def test_a_requirement_for_the_other_tool_is_refused(cli: Cli, tmp_path: Path) -> None:
    for spec in ("ignition-stack", "ignition_stack==0.9.1", "Ignition.Stack[extra] >= 0.9"):
        result = cli("create", "plant", "--arch", "basic", "--tool-spec", spec, "-o", str(tmp_path))
        assert result.exit_code == 2, (spec, result.stderr)
        assert (
            "error IS124 --tool-spec" in result.stderr and "ignition-stack-emitter" in result.stderr
        )
    assert not (tmp_path / "plant").exists()
    stack = tmp_path / "stack.yaml"
    stack.write_text("name: plant\narchitecture: basic\ntool: ignition-stack==0.9.1\n")
    result = cli("emit", str(stack))
    assert result.exit_code == 1
    assert (
        "error IS124 tool: 'ignition-stack==0.9.1' names PyPI's `ignition-stack`" in result.stderr
    )
    for bad in ("--index-url=https://evil.example/simple", "a\nb", ""):
        result = cli("create", "plant", "--arch", "basic", "--tool-spec", bad, "--dry-run")
        assert result.exit_code == 2 and "IS124" in result.stderr, (bad, result.stderr)


def test_a_requirement_reaches_pip_as_one_argument(cli: Cli, tmp_path: Path) -> None:
    """The requirement is shell-quoted into the workflow: whatever it holds, pip gets exactly
    it, and nothing of it runs as a command."""
    spec = "ignition-stack-emitter @ https://artifacts.example/it's $(touch pwned).whl"
    project = create(cli, tmp_path, "--arch", "basic", "--tool-spec", spec)
    assert shlex.split(install_step(load_workflow(project))) == [
        "python",
        "-m",
        "pip",
        "install",
        spec,
    ]


def test_the_readme_names_this_distribution() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "distribution **`ignition-stack-emitter`**" in readme
    assert "PyPI's **`ignition-stack`** is a\ndifferent" in readme
