"""A Compose-only install: without the `kubernetes` extra, Compose works in full and anything
Kubernetes stops with one message naming the extra (and writes nothing)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from emitter.targets.kubernetes.extras import KUBERNETES_EXTRA

from .conftest import Result

ROOT = Path(__file__).parent.parent
# What an install without the extra looks like to Python: find_spec() answers None and an
# import fails, exactly as when the two distributions are absent from site-packages.
WITHOUT_EXTRA = (
    "import sys\n"
    "for name in ('kubernetes', 'kubernetes_validate'):\n"
    "    sys.modules[name] = None\n"
    "from emitter.cli import main\n"
    "main(sys.argv[1:])\n"
)


def without_extra(*args: str | Path, cwd: Path) -> Result:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_names_the_extra(result: Result) -> None:
    assert result.exit_code == 1, result.stderr
    assert f"pip install '{KUBERNETES_EXTRA}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_compose_needs_no_kubernetes_extra(tmp_path: Path) -> None:
    created = without_extra(
        "create", "demo", "--arch", "scale-out", "--redundant", "backend", cwd=tmp_path
    )
    assert created.exit_code == 0, created.stderr
    assert (tmp_path / "demo" / "targets" / "compose" / "compose.yaml").is_file()
    emitted = without_extra(
        "emit", "demo/stack.yaml", "--target", "compose", "--check", cwd=tmp_path
    )
    assert emitted.exit_code == 0, emitted.stdout + emitted.stderr
    validated = without_extra("validate", "demo/targets/compose", cwd=tmp_path)
    assert validated.exit_code == 0, validated.stdout + validated.stderr
    assert "1 ok, 0 failed" in validated.stdout


def test_kubernetes_without_the_extra_names_it_and_writes_nothing(tmp_path: Path) -> None:
    assert_names_the_extra(
        without_extra("create", "plant", "--arch", "basic", "--target", "k8s", cwd=tmp_path)
    )
    assert not (tmp_path / "plant").exists()
    assert without_extra("create", "demo", "--arch", "basic", cwd=tmp_path).exit_code == 0
    assert_names_the_extra(
        without_extra("emit", "demo/stack.yaml", "--target", "all", cwd=tmp_path)
    )
    assert not (tmp_path / "demo" / "targets" / "kubernetes").exists()


def test_validating_kubernetes_without_the_extra_is_one_message(tmp_path: Path) -> None:
    # The manifests come from a full install (this test run's); the check runs without it.
    full = subprocess.run(
        [sys.executable, "-m", "emitter", "create", "plant", "--arch", "basic", "--target", "k8s"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert full.returncode == 0, full.stderr
    assert_names_the_extra(without_extra("validate", "plant/targets/kubernetes", cwd=tmp_path))


def test_the_kubernetes_packages_are_an_extra_the_tests_install() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    heavy = {"kubernetes", "kubernetes-validate"}
    core = {requirement.split(">")[0].split("=")[0] for requirement in project["dependencies"]}
    extra = {r.split(">")[0] for r in project["optional-dependencies"]["kubernetes"]}
    assert not core & heavy, "a Compose-only install stays light"
    assert extra == heavy
    assert KUBERNETES_EXTRA in project["optional-dependencies"]["test"]
