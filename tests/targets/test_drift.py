"""The drift gate, per target: `emit --check` passes on what `emit` wrote, and reports a
tampered file, a deleted one, the stale files of a removed gateway (with the target's notes on
them), until the next `emit` makes the tree current again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emitter.pipeline import prepare, render
from emitter.spec import load_stack_file
from emitter.targets import drift_notes
from tests.support.cases import stack_file
from tests.targets.registered import ALL_TARGETS, registered

from ..conftest import Result, read_tree

Cli = Callable[..., Result]


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_check_follows_every_change(cli: Cli, tmp_path: Path, target: str) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(stack_file("scale-out-redundant").read_text(encoding="utf-8"))
    out = tmp_path / "targets" / target
    with registered(target):
        assert cli("emit", str(path), "--target", target).exit_code == 0
        clean = cli("emit", str(path), "--target", target, "--check")
        assert clean.exit_code == 0, clean.stdout + clean.stderr
        assert f"{target}: {out} is up to date" in clean.stdout

        files = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
        tampered, deleted = files[0], files[-1]
        tampered.write_text("tampered\n")
        deleted.unlink()
        drifted = cli("emit", str(path), "--target", target, "--check")
        assert drifted.exit_code == 1
        assert f"changed: {tampered.relative_to(out).as_posix()}" in drifted.stdout
        assert f"missing: {deleted.relative_to(out).as_posix()} (emit writes it)" in drifted.stdout

        # The pair goes away: the backup's files change or go stale, with the target's notes.
        assert cli("emit", str(path), "--target", target).exit_code == 0
        before = {p: t for p, t in read_tree(out).items() if not p.startswith(".")}
        path.write_text(path.read_text().replace("redundant: backend\n", ""))
        after = render(prepare(load_stack_file(path)), (target,))[target].files
        removed = cli("emit", str(path), "--target", target, "--check")
        assert removed.exit_code == 1
        assert "(emit removes it)" in removed.stdout or "changed: " in removed.stdout
        notes = [
            note
            for changed in sorted(set(before) | set(after))
            if before.get(changed) != after.get(changed)
            for note in drift_notes(target, changed, before.get(changed), after.get(changed))
        ]
        printed = [line[len("  note: ") :] for line in removed.stdout.splitlines()]
        assert [line for line in printed if line in notes] == notes
        assert len(notes) == removed.stdout.count("\n  note: ")
        assert cli("emit", str(path), "--target", target).exit_code == 0
        assert cli("emit", str(path), "--target", target, "--check").exit_code == 0
