"""The commit protocol: every output directory of one emit changes together, or none does,
even if the process is killed (SIGKILL, power loss) at any instruction.

One emit owns one *root* (the project directory, the stack file's, whose POST-SETUP.md and
``targets/<target>/`` it writes; or ``--out``); the target directories are below it (or are
it). Everything the protocol keeps lives in the root, so
every rename stays on one filesystem and is atomic:

    ROOT/.ignition-stack-scratch-XXXXXXXX/   one per commit (0700); git-ignored by ``create``
        new/<n>        the new contents of file n, fully written and fsynced
        old/<n>        the previous contents of file n, moved aside during the commit
        journal        JSON: every step of the commit, in order (below)
        committed      the journal renamed once every step is done

Steps, each relative to the root, in this order:

    park  n PATH   rename PATH -> old/n         (a file that is replaced or no longer emitted)
    mkdir   PATH   create a directory a new file needs
    place n PATH   rename new/n -> PATH
    rmdir   PATH   remove a directory the stale files leave empty (deepest first)

Order of operations and why each fsync:

1. Stage every new file in ``new/`` and fsync each one and ``new/``: the journal may only
   name contents that are on disk.
2. Hold SIGINT and SIGTERM. Write ``journal.tmp``, fsync it, rename it to ``journal``, fsync
   the scratch directory. From here recovery knows the commit exists. Before this rename the
   scratch directory is unreferenced and may simply be deleted.
3. Run the steps. Any error rolls back at once (undo in reverse).
4. fsync every directory the steps touched, then rename ``journal`` -> ``committed`` and fsync
   the scratch directory: the commit point. A signal that arrived meanwhile is taken back
   before this point and the commit is rolled back instead.
5. Delete the scratch directory (its ``committed`` marker first: without a marker the directory
   is mere leftovers).

Recovery, under the root's lock, before any emit or ``emit --check`` reads the tree: a scratch
directory with ``committed`` is finished (delete it); with ``journal`` it is rolled back (undo
every step; then unlink the journal and fsync *before* deleting ``new/``, because undoing a
``place`` moves the tree's file back into an empty ``new/`` slot and must never run again once
slots are deleted). Every step and its undo check what is on disk first, so running them twice,
or after a crash half-way through either, is harmless. A crash before the commit point thus
gives back the old tree, one after it the new tree. Recovery rolls back rather than forward so
that an interrupted emit never appears to have succeeded; the user runs it again.

Files whose bytes do not change are not in the journal at all. The whole emit, recovery
included, holds the root's ``flock`` (``outdir.Root.lock``): a second emit waits for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from emitter.diagnostics import EmitterError
from emitter.interrupts import deliver, held
from emitter.outdir import Root
from emitter.scratch import (
    COMMITTED,
    JOURNAL,
    Scratch,
    Step,
    scratch_directories,
)

__all__ = ["CommitFailed", "Recovery", "commit", "recover"]


class CommitFailed(EmitterError):
    """A commit failed and was rolled back (or will be by the next emit)."""


def _parent(scratch: Scratch, step: Step) -> tuple[int, str]:
    """The step's directory, which must exist: a missing one must never mean the cwd."""
    parent, name = scratch.root.parent(step.path)
    if parent is None:
        raise FileNotFoundError(
            errno.ENOENT, "No such directory", str(scratch.root.path / step.path)
        )
    return parent, name


def _park(scratch: Scratch, step: Step, undo: bool) -> None:
    old = scratch.slots("old")
    slot = str(step.slot)
    parked = _exists(old, slot)
    if not undo and not parked:
        parent, name = _parent(scratch, step)
        os.rename(name, slot, src_dir_fd=parent, dst_dir_fd=old)
    elif undo and parked:
        parent, name = _parent(scratch, step)
        os.rename(slot, name, src_dir_fd=old, dst_dir_fd=parent)


def _place(scratch: Scratch, step: Step, undo: bool) -> None:
    new = scratch.slots("new")
    slot = str(step.slot)
    staged = _exists(new, slot)
    if not undo and staged:
        parent, name = _parent(scratch, step)
        os.rename(slot, name, src_dir_fd=new, dst_dir_fd=parent)
    elif undo and not staged:
        where, name = scratch.root.parent(step.path)
        if where is not None and _exists(where, name):
            os.rename(name, slot, src_dir_fd=where, dst_dir_fd=new)


def _mkdir(scratch: Scratch, step: Step, undo: bool) -> None:
    if undo:
        _rmdir(scratch, Step("rmdir", step.path), undo=False)
        return
    fd = scratch.root.directory(step.path, create_mode=step.mode)
    assert fd is not None
    os.fchmod(fd, step.mode)  # whatever the umask


def _rmdir(scratch: Scratch, step: Step, undo: bool) -> None:
    if undo:
        _mkdir(scratch, Step("mkdir", step.path, mode=step.mode), undo=False)
        return
    parent, name = scratch.root.parent(step.path)
    if parent is None:
        return
    scratch.root.forget(step.path)
    try:
        os.rmdir(name, dir_fd=parent)
    except OSError as exc:
        # Gone already (a repeated step), or someone put a file there: keep it.
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
            raise


_ACTIONS = {"park": _park, "place": _place, "mkdir": _mkdir, "rmdir": _rmdir}


def _exists(fd: int | None, name: str) -> bool:
    if fd is None:
        return False
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _touched(steps: Iterable[Step]) -> list[str]:
    """Every directory a step changed an entry of (fsynced before the commit point)."""
    directories = set()
    for step in steps:
        parent = step.path.rpartition("/")[0]
        directories.add(parent)
    return sorted(directories)


def _sync(scratch: Scratch, steps: list[Step]) -> None:
    for directory in _touched(steps):
        scratch.root.sync(directory)
    for sub in ("new", "old"):
        scratch.root.sync(f"{scratch.name}/{sub}")


def roll_back(scratch: Scratch, steps: list[Step]) -> None:
    """Undo every step, newest first; then the journal goes (fsynced), then the scratch."""
    for step in reversed(steps):
        _ACTIONS[step.op](scratch, step, True)
    _sync(scratch, steps)
    scratch.drop_marker(JOURNAL)
    with contextlib.suppress(OSError):
        scratch.delete()  # unreferenced now: if this fails, the next emit removes it


def _unchanged(root: Root, exc: OSError, path: str = "") -> CommitFailed:
    where = root.path / path if path else root.path
    return CommitFailed(
        f"cannot write {where}: {exc.strerror or exc}; "
        "nothing was changed (every file is back as it was)"
    )


def commit(root: Root, steps: list[Step], contents: dict[int, bytes]) -> None:
    """Run one commit: stage ``contents`` (by slot), journal ``steps``, run them."""
    try:
        scratch = Scratch.create(root)
    except OSError as exc:
        raise _unchanged(root, exc) from exc
    try:
        for slot, data in contents.items():
            scratch.stage(slot, data)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            scratch.delete()
        if isinstance(exc, OSError):
            raise _unchanged(root, exc) from exc
        raise
    # From the journal on, a signal must not leave the commit half-done: hold both.
    with held() as signals:
        done: list[Step] = []
        signum: int | None = None
        try:
            scratch.write_journal(steps)
            for step in steps:
                done.append(step)  # a step that fails half-way is undone too (undo checks)
                _ACTIONS[step.op](scratch, step, False)
            _sync(scratch, steps)
            signum = signals.take()
            if signum is None:
                scratch.mark_committed()
        except OSError as exc:
            _roll_back_or_explain(scratch, done, exc)
            raise _unchanged(root, exc, done[-1].path if done else "") from exc
        except BaseException as exc:
            _roll_back_or_explain(scratch, done, exc)
            raise
        if signum is not None:
            _roll_back_or_explain(scratch, done, None)
    if signum is not None:
        deliver(signum)  # now that the previous tree is back
    with contextlib.suppress(OSError):
        scratch.drop_marker(COMMITTED)
        scratch.delete()  # if this fails, the next emit removes the leftovers


def _roll_back_or_explain(scratch: Scratch, done: list[Step], cause: BaseException | None) -> None:
    try:
        roll_back(scratch, done)
    except OSError as exc:
        raise CommitFailed(
            f"the write to {scratch.root.path} failed and so did undoing it "
            f"({exc.strerror or exc}); the next `ignition-stack emit` finishes the rollback "
            f"from {scratch.root.path / scratch.name}/{JOURNAL}"
        ) from cause


@dataclass
class Recovery:
    """What recovery found in a root."""

    rolled_back: int = 0
    finished: int = 0
    leftovers: list[str] = field(default_factory=list)  # scratch nothing references


def recover(root: Root, *, remove_leftovers: bool) -> Recovery:
    """Finish or roll back every interrupted commit in ``root`` (the lock must be held);
    delete unreferenced scratch directories too if ``remove_leftovers``, else list them."""
    found = Recovery()
    with held():
        for scratch in scratch_directories(root):
            marker = scratch.marker()
            if marker == JOURNAL:
                try:
                    roll_back(scratch, scratch.read_steps(JOURNAL))
                except OSError as exc:
                    raise CommitFailed(
                        f"cannot roll back the interrupted emit in {root.path} "
                        f"({exc.strerror or exc}); fix that and run `ignition-stack emit` again"
                    ) from exc
                found.rolled_back += 1
            elif marker == COMMITTED:
                scratch.drop_marker(COMMITTED)
                scratch.delete()
                found.finished += 1
            elif remove_leftovers:
                scratch.delete()
            else:
                found.leftovers.append(scratch.name)
    return found
