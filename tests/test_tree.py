"""The tree writer: owned files only, paths confined, and all-or-nothing writes."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from emitter import scratch, tree
from emitter.diagnostics import EmitterError
from emitter.tree import MANIFEST, OutputConflict, diff_tree, write_tree

from .conftest import read_tree


def test_user_files_survive_and_stale_files_go(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": "a\n", "sub/b.yaml": "b\n"})
    (tmp_path / "README.md").write_text("my notes\n")
    removed = write_tree(tmp_path, {"a.yaml": "a2\n"})
    assert removed == ["sub/b.yaml"]
    assert not (tmp_path / "sub").exists(), "an emptied directory of ours is pruned"
    assert (tmp_path / "README.md").read_text() == "my notes\n"
    assert (tmp_path / "a.yaml").read_text() == "a2\n"
    assert (tmp_path / MANIFEST).read_text().splitlines()[-1] == "a.yaml"


def test_refuses_to_overwrite_a_file_it_does_not_own(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("hand written\n")
    with pytest.raises(OutputConflict, match=r"did not write: a\.yaml"):
        write_tree(tmp_path, {"a.yaml": "generated\n", "b.yaml": "b\n"})
    assert read_tree(tmp_path) == {"a.yaml": "hand written\n"}


def test_adopts_an_identical_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("same\n")
    write_tree(tmp_path, {"a.yaml": "same\n"})
    assert "a.yaml" in tree.read_manifest(tmp_path)


@pytest.mark.parametrize(
    "path", ["../escape.yaml", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "./a"]
)
def test_paths_cannot_leave_the_directory(tmp_path: Path, path: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputConflict, match="inside the output directory"):
        write_tree(out, {path: "x"})
    assert not (tmp_path / "escape.yaml").exists()


def test_refuses_to_write_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "gateways").symlink_to(outside)
    with pytest.raises(OutputConflict, match="symlink"):
        write_tree(out, {"gateways/x/redundancy.xml": "x"})
    assert list(outside.iterdir()) == []


def test_a_failure_mid_write_leaves_the_old_tree_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.yaml": "old a\n", "b/c.yaml": "old c\n", "d.yaml": "old d\n"})
    (tmp_path / "mine.txt").write_text("user\n")
    before = read_tree(tmp_path)
    real_rename = os.rename
    calls = {"count": 0}

    def failing_rename(*args: Any, **kwargs: Any) -> None:
        calls["count"] += 1
        if calls["count"] == 5:  # part-way through committing the new tree
            raise OSError(errno.ENOSPC, "No space left on device")
        real_rename(*args, **kwargs)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(EmitterError, match="No space left on device; nothing was changed"):
        write_tree(tmp_path, {"a.yaml": "new a\n", "b/c.yaml": "new c\n", "e/f.yaml": "new f\n"})
    monkeypatch.setattr(os, "rename", real_rename)
    assert calls["count"] > 5, "the rollback renamed the parked files back"
    assert read_tree(tmp_path) == before
    assert not any(p.name.startswith(".ignition-stack-scratch") for p in tmp_path.iterdir()), (
        "no scratch left"
    )


def test_an_interrupt_while_staging_leaves_the_old_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.yaml": "old\n"})
    before = read_tree(tmp_path)
    real_stage = scratch.Scratch.stage

    def interrupted(self: scratch.Scratch, slot: int, data: bytes) -> None:
        if data == b"b\n":
            raise KeyboardInterrupt
        real_stage(self, slot, data)

    monkeypatch.setattr(scratch.Scratch, "stage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_tree(tmp_path, {"a.yaml": "new\n", "b.yaml": "b\n"})
    monkeypatch.setattr(scratch.Scratch, "stage", real_stage)
    assert read_tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "a.yaml"], "no scratch left"


def test_file_modes_do_not_depend_on_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_tree(tmp_path / "out", {"d/a.yaml": "a\n"})
    finally:
        os.umask(previous)
    assert (tmp_path / "out" / "d" / "a.yaml").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out" / "d").stat().st_mode & 0o777 == 0o755


def test_diff_tree_sees_the_manifest_too(tmp_path: Path) -> None:
    files = {"a.yaml": "a\n"}
    write_tree(tmp_path, files)
    assert diff_tree(tmp_path, files).clean
    (tmp_path / MANIFEST).unlink()
    drift = diff_tree(tmp_path, files)
    assert drift.added == [MANIFEST]
