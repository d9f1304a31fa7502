"""The repository itself: README commands, CI entry point, and the committed reference output."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .conftest import Result

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[str]:
    first_block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert first_block, "the README starts with a sh block of set-up commands"
    return [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_the_two_setup_commands() -> None:
    install, test = readme_commands()
    assert (
        "pip install ." in install
        and "ignition-stack create demo" in install
        and "--redundant" in install
    )
    assert (
        "pip install -e '.[test]'" in test and "tests/tools/install.sh" in test and "pytest" in test
    )


def test_what_the_readme_install_command_creates_is_git_ignored(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """Run inside a clone, the README's first command leaves nothing `git status` shows."""
    install, _ = readme_commands()
    create = shlex.split(install.partition("&&")[2])
    assert create[:2] == ["ignition-stack", "create"], install
    result = cli(*create[1:], "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    check = subprocess.run(
        [git, "check-ignore", "--no-index", "--verbose", "--non-matching", "--stdin"],
        cwd=ROOT,
        input="\n".join(written),
        capture_output=True,
        text=True,
        check=False,
    )
    shown = [line.split("\t")[1] for line in check.stdout.splitlines() if line.startswith("::")]
    assert not shown, f"git status would show {shown}: ignore them in .gitignore"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    _, test = readme_commands()
    assert test in ci.splitlines(), ".ci/run must call the README's test command unchanged"
    assert "IGNITION_STACK_REQUIRE_TOOLS=1" in ci


def test_committed_targets_are_what_stack_yaml_emits() -> None:
    """The repository eats its own cooking: targets/ is exactly `emit stack.yaml` output."""
    from emitter.pipeline import prepare, render
    from emitter.spec import load_stack_file
    from emitter.targets import registry
    from emitter.tree import diff_tree

    resolved = prepare(load_stack_file(ROOT / "stack.yaml"))
    emissions = render(resolved, registry.names())
    for name, emission in emissions.items():
        drift = diff_tree(ROOT / "targets" / name, emission.files)
        assert drift.clean, f"targets/{name} is stale: run `ignition-stack emit` ({drift})"
    assert resolved.stack.redundant == "backend" and resolved.stack.architecture == "scale-out"


def test_the_repository_passes_its_own_drift_gate(cli: Callable[..., Result]) -> None:
    """`emit --check` at the top, as a user's CI runs it: the recorded targets and the
    generated POST-SETUP.md are current."""
    result = cli("emit", str(ROOT / "stack.yaml"), "--check")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "POST-SETUP.md" in result.stdout and "kubernetes" in result.stdout


@pytest.mark.external
@pytest.mark.parametrize(
    "overlay", sorted(p.name for p in (ROOT / "overlays" / "kubernetes").iterdir())
)
def test_every_overlay_builds_and_validates(overlay: str) -> None:
    from .support import cert_manager
    from .support.validators import kustomize_build, run_kubeconform

    built = kustomize_build(ROOT / "overlays" / "kubernetes" / overlay)
    summary = run_kubeconform(built, extra_schema_locations=[cert_manager.schema_location()])
    # Every object of the base, and the Namespace the overlay creates.
    base = len(list((ROOT / "targets" / "kubernetes").glob("*_*.yaml")))
    assert summary["valid"] == base + 1


@pytest.mark.external
@pytest.mark.parametrize(
    "override", sorted(p.name for p in (ROOT / "overlays" / "compose").glob("*.yaml"))
)
def test_every_compose_override_merges(override: str) -> None:
    import json
    import subprocess

    from .support.validators import require_tool

    compose = require_tool("docker-compose")
    result = subprocess.run(
        [
            compose,
            "-f",
            "compose.yaml",
            "-f",
            f"../../overlays/compose/{override}",
            "config",
            "--format",
            "json",
        ],
        cwd=ROOT / "targets" / "compose",
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "IGNITION_STACK_ADMIN_PASSWORD_FILE": "/dev/null"},
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published and all(port["host_ip"] == "127.0.0.1" for port in published)


# The modules tests/tools/ builds, by the variable that pins each one's version.
GO_MODULES = {
    "KUBECONFORM_VERSION": "github.com/yannh/kubeconform",
    "COMPOSE_VERSION": "github.com/docker/compose/v2",
    "KUBE_SCORE_VERSION": "github.com/zegl/kube-score",
    "CERT_MANAGER_VERSION": "github.com/cert-manager/cert-manager",
    "GATEWAY_API_VERSION": "sigs.k8s.io/gateway-api",
    "KUBERNETES_VERSION": "k8s.io/kubernetes",
    "KWOK_VERSION": "sigs.k8s.io/kwok",
}


def _go_version(text: str) -> tuple[int, ...]:
    found = re.search(r"^go (\d+)\.(\d+)", text, re.MULTILINE)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@pytest.mark.external
def test_the_readme_names_the_go_version_the_install_scripts_need() -> None:
    """Go refuses a module whose go.mod asks for a newer Go: the README's minimum must cover
    the `go` line of every module tests/tools/ builds (read from the module cache they filled)."""
    from .support.validators import missing_tool, require_tool

    go = require_tool("go")
    cache = subprocess.run(
        [go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True
    ).stdout.strip()
    scripts = "".join(path.read_text() for path in (ROOT / "tests" / "tools").glob("install*.sh"))
    needed: dict[str, tuple[int, ...]] = {}
    for variable, module in GO_MODULES.items():
        version = re.search(rf"^{variable}=(\S+)", scripts, re.MULTILINE)
        assert version, f"{variable} is not set in tests/tools/"
        mod = Path(cache) / "cache" / "download" / module / "@v" / f"{version.group(1)}.mod"
        if not mod.is_file():
            missing_tool(f"{mod} is absent: run tests/tools/install.sh")
        needed[f"{module}@{version.group(1)}"] = _go_version(mod.read_text())
    stated = re.search(r"Go (\d+)\.(\d+) or later", (ROOT / "README.md").read_text())
    assert stated, "the README does not say which Go tests/tools/install.sh needs"
    minimum = (int(stated.group(1)), int(stated.group(2)))
    newest = max(needed.values())
    assert minimum == newest, f"the README says Go {minimum}; the modules need {needed}"


def test_the_readme_names_the_compose_version_include_needs(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """A created project's compose.yaml uses `include:`, which Docker Compose has since 2.20."""
    assert cli("create", "demo", "--arch", "basic", "-o", str(tmp_path)).exit_code == 0
    entrypoint = yaml.safe_load((tmp_path / "demo" / "compose.yaml").read_text())
    assert "include" in entrypoint
    assert "Docker Compose 2.20 or later" in (ROOT / "README.md").read_text()


def test_the_readmes_map_of_the_code_lists_every_module() -> None:
    """The Development section's map names every module of the package, so it cannot fall
    behind the code."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```\nsrc/emitter/\n(.*?)```", readme, re.DOTALL)
    assert block, "the README's Development section starts with a map of src/emitter/"
    listed = set(re.findall(r"^\s+([\w/]+\.py)\b", block.group(1), re.MULTILINE))
    modules = {
        path.relative_to(ROOT / "src" / "emitter").as_posix()
        for path in (ROOT / "src" / "emitter").glob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    }
    assert modules - listed == set(), "modules missing from the README's map"
    assert "targets/registry.py" in listed
