"""Byte-stable output: the same stack file and tool version give the same tree everywhere, for
every target (the suite's own included)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cases import CASES, GOLDEN
from tests.targets.registered import ALL_TARGETS, MAIN_WITH_TEST_TARGETS

ROOT = Path(__file__).resolve().parents[1]
PYTHON_WITH_TEST_TARGETS = (sys.executable, "-c", MAIN_WITH_TEST_TARGETS)


def emit_in_a_fresh_process(
    stack: Path, out: Path, cwd: Path, environment: dict[str, str], umask: int
) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [*PYTHON_WITH_TEST_TARGETS, "emit", str(stack), "--target", "all", "--out", str(out)],
        cwd=cwd,
        # The suite's own targets are importable from the repository, wherever the process runs.
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.umask(umask),
    )
    assert result.returncode == 0, result.stderr


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(directory).as_posix(): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("case", CASES)
def test_two_emits_anywhere_are_byte_identical(case: str, tmp_path: Path) -> None:
    base = {"PATH": os.environ["PATH"]}
    first_stack = tmp_path / "one" / "stack.yaml"
    second_stack = tmp_path / "elsewhere" / "deeper" / "stack.yaml"
    for stack in (first_stack, second_stack):
        stack.parent.mkdir(parents=True)
        shutil.copy(GOLDEN / case / "stack.yaml", stack)
    emit_in_a_fresh_process(
        first_stack,
        tmp_path / "out-one",
        tmp_path / "cwd-one",
        {
            **base,
            "LANG": "C",
            "TZ": "UTC",
            "HOME": str(tmp_path),
            "USER": "alice",
            "PYTHONHASHSEED": "1",
        },
        0o022,
    )
    emit_in_a_fresh_process(
        second_stack,
        tmp_path / "out-two",
        tmp_path / "somewhere" / "else",
        {
            **base,
            "LANG": "de_DE.UTF-8",
            "LC_ALL": "tr_TR.UTF-8",
            "TZ": "Pacific/Kiritimati",
            "HOME": "/nonexistent",
            "USER": "bob",
            "PYTHONHASHSEED": "987654",
        },
        0o077,
    )
    first, second = snapshot(tmp_path / "out-one"), snapshot(tmp_path / "out-two")
    assert first == second
    assert {path.split("/")[0] for path in first} == set(ALL_TARGETS)
    text = b"".join(content for content, _ in first.values())
    for leak in (str(tmp_path).encode(), b"alice", b"bob"):
        assert leak not in text
