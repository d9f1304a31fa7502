"""Two writers: emits into the same directory take turns (the second waits for the first's
lock, up to ``LOCK_TIMEOUT_SECONDS``, then fails with a message), never mix their trees."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from emitter import outdir

from .support.emits import (
    NEW_STACK,
    cli_command,
    environment,
    old_stack,
    run_cli,
    scratch_directories,
    tree_hash,
)

ITERATIONS = 4
TIME_BUDGET_SECONDS = 20.0


def _reference(stack: Path, directory: Path) -> str:
    assert run_cli("emit", stack, "--out", directory).exit_code == 0
    return tree_hash(directory)


def test_two_emits_at_once_give_one_tree_or_the_other(tmp_path: Path) -> None:
    stacks = [old_stack(tmp_path), NEW_STACK]
    expected = {_reference(stack, tmp_path / f"ref-{i}") for i, stack in enumerate(stacks)}
    assert len(expected) == 2
    out = tmp_path / "t"
    _reference(stacks[0], out)  # every round starts from a whole tree, as in a repository
    # With strace, the first writer's renames each take 100 ms, so the second one, started at
    # the same moment, surely runs while the first is half-way through its commit.
    strace = shutil.which("strace")
    slow = [
        strace,
        "-f",
        "-qq",
        "-o",
        os.devnull,
        "-e",
        "inject=rename,renameat:delay_enter=100000",
    ]
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    for iteration in range(ITERATIONS):
        order = stacks if iteration % 2 == 0 else stacks[::-1]
        processes = [
            subprocess.Popen(
                [
                    *(slow if strace and index == 0 else []),
                    *cli_command("emit", stack, "--out", out),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environment(),
            )
            for index, stack in enumerate(order)
        ]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
        for process in processes:
            for stream in (process.stdout, process.stderr):
                if stream:
                    stream.close()
        for code, stderr in results:
            assert code == 0, f"iteration {iteration}: {stderr}"
        assert tree_hash(out) in expected, f"iteration {iteration}: a mixed tree"
        assert scratch_directories(out) == []
        if time.monotonic() > deadline:
            break


def test_a_writer_that_holds_the_lock_too_long_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "t"
    assert run_cli("emit", NEW_STACK, "--out", out).exit_code == 0
    before = tree_hash(out)
    monkeypatch.setattr(outdir, "LOCK_TIMEOUT_SECONDS", 0.3)
    holder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        started = time.monotonic()
        result = run_cli("emit", old_stack(tmp_path), "--out", out)
        assert time.monotonic() - started >= 0.3, "it waited first"
        check = run_cli("emit", NEW_STACK, "--out", out, "--check")
    finally:
        os.close(holder)
    assert result.exit_code == 1
    assert f"another ignition-stack emit is writing {out}; waited 0.3 s" in result.stderr
    assert check.exit_code == 2, "--check waits for the same lock; it cannot tell meanwhile"
    assert tree_hash(out) == before
