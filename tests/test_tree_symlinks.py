"""Symlinks never lead a write outside the output directory: a symlinked output directory or
parent is refused with a clear error, and a directory swapped for a symlink while the commit
runs changes nothing outside (the commit works on directories it opened before)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from emitter.scratch import SCRATCH_PREFIX

from .support.emits import (
    NEW_STACK,
    cli_command,
    environment,
    old_tree,
    require_strace,
    run_cli,
    tree_hash,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Where a symlink points: must stay empty."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


def _assert_untouched(outside: Path) -> None:
    assert list(outside.rglob("*")) == [], "nothing is written outside the output directory"


@pytest.mark.parametrize("link", ["kubernetes", "compose/scripts"])
def test_a_symlinked_directory_inside_the_output_is_refused(
    tmp_path: Path, outside: Path, link: str
) -> None:
    out = tmp_path / "t"
    assert run_cli("emit", NEW_STACK, "--out", out).exit_code == 0
    before = tree_hash(out)
    shutil.rmtree(out / link)
    (out / link).symlink_to(outside, target_is_directory=True)
    before = tree_hash(out)
    result = run_cli("emit", NEW_STACK, "--out", out)
    assert result.exit_code == 1
    assert f"refusing to write through symlink {out / link}" in result.stderr
    assert "Traceback" not in result.stderr
    _assert_untouched(outside)
    assert tree_hash(out) == before, "not even the other target was written"


def test_a_symlinked_targets_directory_is_refused(tmp_path: Path, outside: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(NEW_STACK, project / "stack.yaml")
    (project / "targets").symlink_to(outside, target_is_directory=True)
    result = run_cli("emit", project / "stack.yaml")
    assert result.exit_code == 1
    assert f"refusing to write through symlink {project / 'targets'}" in result.stderr
    _assert_untouched(outside)
    check = run_cli("emit", project / "stack.yaml", "--check")
    assert check.exit_code == 2, "--check cannot tell either"
    assert "refusing to write through symlink" in check.stderr


def test_a_symlinked_out_directory_is_refused(tmp_path: Path, outside: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(outside, target_is_directory=True)
    result = run_cli("emit", NEW_STACK, "--target", "compose", "--out", link)
    assert result.exit_code == 1
    assert f"refusing to write through symlink {link}" in result.stderr
    _assert_untouched(outside)


def test_a_directory_swapped_for_a_symlink_mid_commit_is_not_followed(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "t"
    old_tree(out)
    real_rename = os.rename
    swapped: list[bool] = []

    def rename_then_swap(*args: Any, **kwargs: Any) -> None:
        real_rename(*args, **kwargs)
        if "journal" not in str(args[0]) and not swapped:  # the commit's first step: race it
            swapped.append(True)
            real_rename(out / "kubernetes", out / "kubernetes.moved")
            (out / "kubernetes").symlink_to(outside, target_is_directory=True)

    monkeypatch.setattr(os, "rename", rename_then_swap)
    monkeypatch.setattr(os, "replace", rename_then_swap)
    result = run_cli("emit", NEW_STACK, "--out", out)
    monkeypatch.undo()
    assert swapped, "the race ran"
    assert "Traceback" not in result.stderr
    _assert_untouched(outside)
    # The files went to the directory that was opened (now kubernetes.moved), inside the root.
    assert (out / "kubernetes.moved" / "apps_v1_statefulset_gateway.yaml").exists()


def test_a_real_process_raced_mid_commit_writes_nothing_outside(
    tmp_path: Path, outside: Path
) -> None:
    strace = require_strace()
    out = tmp_path / "t"
    old_tree(out)
    # Hold the first rename after the journal's for a few seconds; swap compose meanwhile.
    process = subprocess.Popen(
        [strace, "-f", "-qq", "-o", os.devnull, "-e", "trace=renameat",
         "-e", "inject=renameat:delay_enter=3000000:when=2",
         *cli_command("emit", NEW_STACK, "--out", out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(f"{SCRATCH_PREFIX}*/journal")):
            assert process.poll() is None, "emit ended before its commit started"
            assert time.monotonic() < deadline, "no journal appeared"
            time.sleep(0.01)
        (out / "compose").rename(out / "compose.moved")
        (out / "compose").symlink_to(outside, target_is_directory=True)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in stderr
    _assert_untouched(outside)
    assert (out / "compose.moved" / "gateways" / "gateway-backup" / "redundancy.xml").exists()
