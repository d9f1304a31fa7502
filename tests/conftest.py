"""Shared fixtures: an in-process CLI runner and the golden-tree helper."""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from emitter.cli import main
from tests.support.cases import GOLDEN

# The real engines: the private Docker engine, and the Kubernetes control plane (fixtures
# kubectl and new_namespace).
pytest_plugins = ["tests.engines.docker", "tests.engines.kubernetes"]

__all__ = ["GOLDEN", "Result", "assert_tree", "read_tree"]

# CI draws the property tests' examples from a fixed seed, so a run passes or fails on the code
# alone; a developer's run draws new examples each time, and keeps finding new inputs (a failure
# found so is kept as a test case of its own).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*/expected from the current code (review the git diff!)",
    )


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``ignition-stack ARGS`` in-process; never raises, returns exit code and output."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def read_tree(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def assert_tree(actual: Mapping[str, str], expected_directory: Path, update: bool) -> None:
    """Compare an emitted tree with a golden directory: same paths, same bytes.

    With ``--update-golden`` the directory is rewritten instead (stale files removed).
    """
    if update:
        if expected_directory.exists():
            shutil.rmtree(expected_directory)
        for path, text in actual.items():
            target = expected_directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return
    if not expected_directory.exists():
        pytest.fail(
            f"no golden tree at {expected_directory}; run pytest --update-golden and review it"
        )
    expected = read_tree(expected_directory)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    problems = [f"missing: {path}" for path in missing] + [f"unexpected: {path}" for path in extra]
    for path in sorted(set(expected) & set(actual)):
        if expected[path] != actual[path]:
            diff = difflib.unified_diff(
                expected[path].splitlines(keepends=True),
                actual[path].splitlines(keepends=True),
                f"golden/{path}",
                f"emitted/{path}",
            )
            problems.append("".join(diff))
    if problems:
        pytest.fail(
            f"{expected_directory} differs (pytest --update-golden rewrites it):\n"
            + "\n".join(problems)
        )


@pytest.fixture
def golden_tree() -> Callable[[Mapping[str, str], Path, bool], None]:
    return assert_tree


@pytest.fixture(scope="session")
def keytool_path() -> str:
    """The machine's Java keytool (the Ignition image's PKI tool)."""
    from .support.validators import missing_tool

    found = shutil.which("keytool")
    if found is None:
        missing_tool("keytool (Java) is not installed; the Gateway Network PKI scripts run it")
    return found


@pytest.fixture(scope="session")
def openssl_path() -> str:
    """openssl, used only to check that certificates chain to the CA."""
    from .support.validators import missing_tool

    found = shutil.which("openssl")
    if found is None:
        missing_tool("openssl is not installed; it checks that certificates chain to the CA")
    return found
