"""Faults injected into a real ``ignition-stack emit`` with strace: SIGKILL at every rename of
the commit (and where the journal is written, synced and removed), errors and signals in the
middle of the Kubernetes part of ``--target all``. After each, the tree must be exactly the old
or the new one, and the next emit (or ``emit --check``) must resolve the rest on its own."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from emitter.scratch import SCRATCH_PREFIX

from .support.emits import (
    NEW_STACK,
    Syscall,
    old_tree,
    require_strace,
    run_cli,
    run_injected,
    scratch_directories,
    trace_emit,
    tree_hash,
)
from .support.validators import missing_tool


@dataclass
class Transition:
    """The old tree (a template to copy), the new stack, both trees' hashes, and the syscalls
    of a clean emit from old to new."""

    template: Path
    old: str
    new: str
    calls: list[Syscall]


@pytest.fixture(scope="module")
def strace() -> str:
    return require_strace()


@pytest.fixture(scope="module")
def transition(strace: str, tmp_path_factory: pytest.TempPathFactory) -> Transition:
    work = tmp_path_factory.mktemp("transition")
    template = work / "old"
    old_tree(template)
    new = work / "new"
    shutil.copytree(template, new, symlinks=True)
    assert run_cli("emit", NEW_STACK, "--out", new).exit_code == 0
    assert (new / "compose" / "README.md").exists(), "the user's file stays"
    assert not (new / "compose" / "retired").exists(), "the stale file's directory is pruned"
    traced = work / "traced"
    shutil.copytree(template, traced, symlinks=True)
    calls = trace_emit(strace, traced, NEW_STACK, work)
    assert tree_hash(traced) == tree_hash(new), "the traced emit is a normal one"
    return Transition(template, tree_hash(template), tree_hash(new), calls)


def _kill_points(calls: list[Syscall]) -> list[Syscall]:
    """Every rename, and the first call of every run of other calls between renames (staging,
    the journal's fsync, mkdir, the cleanup's unlinks)."""
    points = []
    for index, call in enumerate(calls):
        if call.name.startswith("rename") or (index and calls[index - 1].name != call.name):
            points.append(call)
    return points


def _commit_renames(calls: list[Syscall]) -> list[Syscall]:
    return [c for c in calls if c.name == "renameat"]


def test_the_commit_renames_by_descriptor_and_journals_first(transition: Transition) -> None:
    renames = _commit_renames(transition.calls)
    assert '"journal.tmp"' in renames[0].line and '"journal"' in renames[0].line
    assert '"committed"' in renames[-1].line
    assert len(renames) >= 8, "enough steps to kill the commit between"


def test_sigkill_anywhere_leaves_the_old_or_the_new_tree(
    transition: Transition, strace: str, tmp_path: Path
) -> None:
    points = _kill_points(transition.calls)
    assert sum(p.name == "renameat" for p in points) == len(_commit_renames(transition.calls))

    def kill(index: int) -> tuple[Path, subprocess.CompletedProcess[str]]:
        out = tmp_path / f"kill-{index}"
        shutil.copytree(transition.template, out, symlinks=True)
        point = points[index]
        inject = f"{point.name}:signal=SIGKILL:when={point.nth}"
        return out, run_injected(strace, inject, "emit", NEW_STACK, "--out", out, cwd=tmp_path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        killed = list(pool.map(kill, range(len(points))))

    outcomes = set()
    for point, (out, process) in zip(points, killed, strict=True):
        where = f"SIGKILL at {point.name} #{point.nth}: {point.line}"
        assert process.returncode in (-9, 137), f"{where}: not killed\n{process.stderr}"
        # The next emit recovers on its own (a copy: the original goes through --check first).
        direct = out.with_name(out.name + "-direct")
        shutil.copytree(out, direct, symlinks=True)
        emitted = run_cli("emit", NEW_STACK, "--out", direct)
        assert emitted.exit_code == 0, f"{where}: {emitted.stderr}"
        assert tree_hash(direct) == transition.new, f"{where}: emit did not reach the new tree"

        check = run_cli("emit", NEW_STACK, "--out", out, "--check")
        state = tree_hash(out, skip_scratch=True)
        assert state in (transition.old, transition.new), f"{where}: a mixed tree\n{check.stdout}"
        leftovers = scratch_directories(out)
        for scratch in leftovers:
            assert not {"journal", "committed"} & {p.name for p in scratch.iterdir()}, where
        if leftovers:
            assert check.exit_code == 1, f"{where}: {check.stdout}{check.stderr}"
            assert "the next `ignition-stack emit` removes them" in check.stdout, where
            outcomes.add("leftovers")
        else:
            assert check.exit_code == (0 if state == transition.new else 1), where
        outcomes.add("new" if state == transition.new else "old")
        if "rolled back an interrupted emit" in check.stderr:
            outcomes.add("rolled back")

        emitted = run_cli("emit", NEW_STACK, "--out", out)
        assert emitted.exit_code == 0, f"{where}: {emitted.stderr}"
        assert tree_hash(out) == transition.new, f"{where}: the next emit left another tree"
    assert outcomes == {"old", "new", "leftovers", "rolled back"}, "every kind of kill point"


@pytest.mark.parametrize(
    ("action", "exit_code", "message"),
    [
        ("error=EIO", 1, "Input/output error; nothing was changed"),
        ("error=ENOSPC", 1, "No space left on device; nothing was changed"),
        ("signal=SIGINT", 130, "interrupted"),
        ("signal=SIGTERM", 143, "interrupted (SIGTERM)"),
    ],
)
def test_a_fault_in_the_kubernetes_part_rolls_back_compose_too(
    transition: Transition, strace: str, tmp_path: Path, action: str, exit_code: int, message: str
) -> None:
    renames = _commit_renames(transition.calls)
    last_kubernetes = renames[-2]  # the last file placed; compose's are all in place by then
    assert "apps_v1" in last_kubernetes.line or "v1_" in last_kubernetes.line
    out = tmp_path / "t"
    shutil.copytree(transition.template, out, symlinks=True)
    process = run_injected(
        strace, f"renameat:{action}:when={last_kubernetes.nth}", "emit", NEW_STACK, "--out", out,
        cwd=tmp_path,
    )  # fmt: skip
    assert process.returncode == exit_code, process.stderr
    assert message in process.stderr.splitlines()[-1], process.stderr
    assert "Traceback" not in process.stderr
    assert tree_hash(out) == transition.old, "compose and kubernetes are both the old trees"
    assert scratch_directories(out) == []


def test_a_failing_fsync_before_the_commit_point_rolls_back(
    transition: Transition, strace: str, tmp_path: Path
) -> None:
    index = next(i for i, c in enumerate(transition.calls) if '"committed"' in c.line)
    last_sync = next(c for c in reversed(transition.calls[:index]) if c.name == "fsync")
    out = tmp_path / "t"
    shutil.copytree(transition.template, out, symlinks=True)
    process = run_injected(
        strace, f"fsync:error=EIO:when={last_sync.nth}", "emit", NEW_STACK, "--out", out,
        cwd=tmp_path,
    )  # fmt: skip
    assert process.returncode == 1, process.stderr
    assert "nothing was changed" in process.stderr
    assert tree_hash(out) == transition.old
    assert scratch_directories(out) == []


def test_sigterm_while_staging_cleans_up_its_scratch(
    transition: Transition, strace: str, tmp_path: Path
) -> None:
    out = tmp_path / "t"
    shutil.copytree(transition.template, out, symlinks=True)
    process = run_injected(
        strace, "fsync:signal=SIGTERM:when=2", "emit", NEW_STACK, "--out", out, cwd=tmp_path
    )
    assert process.returncode == 143, process.stderr
    assert process.stderr.splitlines()[-1] == "interrupted (SIGTERM)"
    assert tree_hash(out) == transition.old
    assert scratch_directories(out) == [], "SIGINT and SIGTERM unwind through the cleanup"


def test_leftover_scratch_is_drift_and_the_next_emit_removes_it(
    transition: Transition, tmp_path: Path
) -> None:
    out = tmp_path / "t"
    shutil.copytree(transition.template, out, symlinks=True)
    assert run_cli("emit", NEW_STACK, "--out", out).exit_code == 0
    stray = out / f"{SCRATCH_PREFIX}deadbeef" / "new"
    stray.mkdir(parents=True)
    (stray / "0").write_text("half-staged\n")
    check = run_cli("emit", NEW_STACK, "--out", out, "--check")
    assert check.exit_code == 1
    assert (
        f"leftovers of an interrupted emit (the next `ignition-stack emit` removes them): {SCRATCH_PREFIX}deadbeef"
        in check.stdout
    )
    assert stray.exists(), "--check reports, it does not remove"
    assert run_cli("emit", NEW_STACK, "--out", out).exit_code == 0
    assert scratch_directories(out) == []
    assert run_cli("emit", NEW_STACK, "--out", out, "--check").exit_code == 0


def test_created_projects_git_ignore_scratch(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        missing_tool("git is not installed; it checks the created project's .gitignore")
    assert run_cli("create", "demo", "--arch", "basic", "-o", tmp_path).exit_code == 0
    project = tmp_path / "demo"
    stray = project / "targets" / f"{SCRATCH_PREFIX}0123abcd" / "old" / "3"
    stray.parent.mkdir(parents=True)
    stray.write_text("x\n")
    subprocess.run([git, "init", "-q", project], check=True)
    ignored = subprocess.run(
        [git, "-C", project, "check-ignore", "-q", stray.relative_to(project)], check=False
    )
    assert ignored.returncode == 0, "the scratch pattern is in the project's .gitignore"
