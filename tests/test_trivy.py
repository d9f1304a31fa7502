"""trivy config on every golden tree: every finding is one of the reasoned exceptions of
``support/scanners.py`` (docs/security.md), and every exception is still needed.

trivy runs with the checks built into the pinned binary (``--skip-check-update``), no version
notice and no telemetry, inside a network namespace of its own (loopback only), so it cannot
fetch a newer check bundle or send anything: what it reports follows from its version alone.
trivy has no Compose scanner: of a golden tree it scans the Kubernetes manifests.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pytest
import yaml

from .conftest import GOLDEN
from .support.scanners import TRIVY_EXCEPTIONS, TRIVY_VERSION, trivy_allowed
from .support.validators import missing_tool, require_tool

TREES = sorted(path for path in GOLDEN.glob("*/expected") if path.is_dir())


def _offline() -> list[str]:
    """The prefix that runs a command with no network but loopback (a new network namespace)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        missing_tool("trivy runs in a network namespace of its own, which needs root and unshare")
    return [unshare, "--net", "--"]


@cache
def _cache_dir() -> Path:
    """trivy's cache (it keeps nothing of use here), removed at the end of the session."""
    directory = Path(tempfile.mkdtemp(prefix="ignition-stack-trivy-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


@cache
def findings(tree: Path) -> tuple[tuple[str, str, str, str], ...]:
    """(check id, kind, object name, what trivy says) of every failed check in ``tree``."""
    cache_dir = _cache_dir()
    result = subprocess.run(
        [
            *_offline(),
            require_tool("trivy"),
            "config",
            "--quiet",
            "--skip-check-update",
            "--skip-version-check",
            "--disable-telemetry",
            "--cache-dir",
            str(cache_dir),
            "--format",
            "json",
            str(tree),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        pytest.fail(
            f"trivy config {tree} failed ({result.returncode}):\n{result.stderr}", pytrace=False
        )
    found = []
    for target in json.loads(result.stdout).get("Results") or []:
        for misconfiguration in target.get("Misconfigurations") or []:
            if misconfiguration.get("Status") != "FAIL":
                continue
            document = yaml.safe_load((tree / target["Target"]).read_text())
            found.append(
                (
                    misconfiguration["ID"],
                    document.get("kind", "?"),
                    (document.get("metadata") or {}).get("name", "?"),
                    misconfiguration["Message"],
                )
            )
    return tuple(sorted(found))


@pytest.mark.external
def test_trivy_is_the_pinned_version() -> None:
    """A ``go install`` build reports its version as ``dev``; its module says which it is."""
    info = subprocess.run(
        [require_tool("go"), "version", "-m", require_tool("trivy")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(rf"^\s*mod\s+github\.com/aquasecurity/trivy\s+{TRIVY_VERSION}\s", info, re.M)


@pytest.mark.external
@pytest.mark.parametrize("tree", TREES, ids=lambda path: path.parent.name)
def test_trivy_finds_only_the_documented_exceptions(tree: Path) -> None:
    unexpected = [
        f"{kind}/{name}: {check}: {said}"
        for check, kind, name, said in findings(tree)
        if not trivy_allowed(check, kind)
    ]
    assert not unexpected, "trivy findings that docs/security.md does not explain:\n" + (
        "\n".join(unexpected)
    )


@pytest.mark.external
def test_every_trivy_exception_is_still_needed() -> None:
    seen = {(check, kind) for tree in TREES for check, kind, _, _ in findings(tree)}
    stale = [e.check for e in TRIVY_EXCEPTIONS if (e.check, e.kind) not in seen]
    assert not stale, f"no golden tree triggers these exceptions any more; drop them: {stale}"


def test_trivy_exceptions_are_documented() -> None:
    security = (Path(__file__).parents[1] / "docs" / "security.md").read_text()
    assert f"trivy {TRIVY_VERSION}" in security
    for exception in TRIVY_EXCEPTIONS:
        assert f"`{exception.check}`" in security, exception.check
