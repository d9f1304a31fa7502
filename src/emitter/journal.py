"""The commit protocol: every output directory of one emit changes together, or none does,
even if the process is killed (SIGKILL, power loss) at any instruction.

One emit owns one *root* (``targets/`` beside the stack file, or ``--out``); the target
directories are below it (or are it). Everything the protocol keeps lives in the root, so
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
2. Write ``journal.tmp``, fsync it, rename it to ``journal``, fsync the scratch directory.
   From here recovery knows the commit exists. Before this rename the scratch directory is
   unreferenced and may simply be deleted.
3. Run the steps with SIGINT and SIGTERM held. Any error rolls back at once (undo in reverse).
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
or after a crash half-way through either, is harmless.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from emitter.diagnostics import EmitterError
from emitter.interrupts import deliver, held
from emitter.outdir import Root

SCRATCH_PREFIX = ".ignition-stack-scratch-"
JOURNAL = "journal"
COMMITTED = "committed"
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
_VERSION = 1

Op = Literal["park", "mkdir", "place", "rmdir"]


@dataclass(frozen=True)
class Step:
    op: Op
    path: str
    slot: int = -1
    mode: int = DIRECTORY_MODE  # rmdir: the mode to restore on undo

    def encode(self) -> list[object]:
        return [self.op, self.path, self.slot, self.mode]


class CommitFailed(EmitterError):
    """A commit failed and was rolled back (or will be by the next emit)."""


def _errno_ok(exc: OSError, *codes: int) -> bool:
    return exc.errno in codes


class Scratch:
    """One commit's scratch directory in the root."""

    def __init__(self, root: Root, name: str) -> None:
        self.root = root
        self.name = name

    @classmethod
    def create(cls, root: Root) -> Scratch:
        name = SCRATCH_PREFIX + secrets.token_hex(4)
        os.mkdir(name, 0o700, dir_fd=root.fd)
        scratch = cls(root, name)
        for sub in ("new", "old"):
            root.directory(f"{name}/{sub}", create_mode=0o700)
        return scratch

    def stage(self, slot: int, data: bytes) -> None:
        fd = self.root.directory(f"{self.name}/new")
        assert fd is not None
        out = os.open(
            str(slot),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            FILE_MODE,
            dir_fd=fd,
        )
        try:
            os.fchmod(out, FILE_MODE)  # whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
            os.fsync(out)
        finally:
            os.close(out)

    def write_journal(self, steps: list[Step]) -> None:
        self.root.sync(f"{self.name}/new")  # the staged files' names, before the journal
        fd = self.root.directory(self.name)
        assert fd is not None
        text = json.dumps({"version": _VERSION, "steps": [s.encode() for s in steps]})
        out = os.open(
            f"{JOURNAL}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600, dir_fd=fd
        )
        try:
            os.write(out, text.encode("utf-8"))
            os.fsync(out)
        finally:
            os.close(out)
        os.rename(f"{JOURNAL}.tmp", JOURNAL, src_dir_fd=fd, dst_dir_fd=fd)
        os.fsync(fd)

    def mark_committed(self) -> None:
        fd = self.root.directory(self.name)
        os.rename(JOURNAL, COMMITTED, src_dir_fd=fd, dst_dir_fd=fd)
        os.fsync(fd)  # type: ignore[arg-type]

    def drop_marker(self, marker: str) -> None:
        fd = self.root.directory(self.name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(marker, dir_fd=fd)
        os.fsync(fd)  # type: ignore[arg-type]

    def read_steps(self, marker: str) -> list[Step]:
        fd = self.root.directory(self.name)
        assert fd is not None
        out = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        with os.fdopen(out, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
        if data.get("version") != _VERSION:
            raise EmitterError(
                f"{self.root.path / self.name}/{marker} was written by another version of "
                "ignition-stack; finish the emit with that version"
            )
        return [Step(op, path, slot, mode) for op, path, slot, mode in data["steps"]]

    def marker(self) -> str | None:
        names = set(self.root.listdir(self.name))
        for marker in (COMMITTED, JOURNAL):
            if marker in names:
                return marker
        return None

    def delete(self) -> None:
        """Remove the scratch directory; only ever called once no marker references it."""
        for sub in ("new", "old"):
            relative = f"{self.name}/{sub}"
            fd = self.root.directory(relative)
            if fd is not None:
                for entry in self.root.listdir(relative):
                    os.unlink(entry, dir_fd=fd)
                self.root.forget(relative)
                os.rmdir(sub, dir_fd=self.root.directory(self.name))
        fd = self.root.directory(self.name)
        if fd is not None:
            for entry in self.root.listdir(self.name):
                os.unlink(entry, dir_fd=fd)
        self.root.forget(self.name)
        os.rmdir(self.name, dir_fd=self.root.fd)


def _parent(scratch: Scratch, step: Step) -> tuple[int, str]:
    """The step's directory, which must exist: a missing one must never mean the cwd."""
    parent, name = scratch.root.parent(step.path)
    if parent is None:
        raise FileNotFoundError(
            errno.ENOENT, "No such directory", str(scratch.root.path / step.path)
        )
    return parent, name


def _slots(scratch: Scratch, sub: str) -> int:
    fd = scratch.root.directory(f"{scratch.name}/{sub}")
    if fd is None:
        raise FileNotFoundError(errno.ENOENT, "No such directory", f"{scratch.name}/{sub}")
    return fd


def _park(scratch: Scratch, step: Step, undo: bool) -> None:
    old = _slots(scratch, "old")
    slot = str(step.slot)
    parked = _exists(old, slot)
    if not undo and not parked:
        parent, name = _parent(scratch, step)
        os.rename(name, slot, src_dir_fd=parent, dst_dir_fd=old)
    elif undo and parked:
        parent, name = _parent(scratch, step)
        os.rename(slot, name, src_dir_fd=old, dst_dir_fd=parent)


def _place(scratch: Scratch, step: Step, undo: bool) -> None:
    new = _slots(scratch, "new")
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
        if not _errno_ok(exc, errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
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
    scratch.delete()


def commit(root: Root, steps: list[Step], contents: dict[int, bytes]) -> None:
    """Run one commit: stage ``contents`` (by slot), journal ``steps``, run them."""
    scratch = Scratch.create(root)
    try:
        for slot, data in contents.items():
            scratch.stage(slot, data)
        scratch.write_journal(steps)
    except BaseException:
        with contextlib.suppress(OSError):
            scratch.delete()
        raise
    with held() as signals:
        done: list[Step] = []
        signum: int | None = None
        try:
            for step in steps:
                done.append(step)  # a step that fails half-way is undone too (undo checks)
                _ACTIONS[step.op](scratch, step, False)
            _sync(scratch, steps)
            signum = signals.take()
            if signum is None:
                scratch.mark_committed()
        except OSError as exc:
            _roll_back_or_explain(scratch, done, exc)
            where = scratch.root.path / done[-1].path if done else scratch.root.path
            raise CommitFailed(
                f"cannot write {where}: {exc.strerror or exc}; "
                "nothing was changed (every file is back as it was)"
            ) from exc
        except BaseException as exc:
            _roll_back_or_explain(scratch, done, exc)
            raise
        if signum is not None:
            _roll_back_or_explain(scratch, done, None)
    if signum is not None:
        deliver(signum)  # now that the previous tree is back
    with contextlib.suppress(OSError):
        scratch.drop_marker(COMMITTED)
        scratch.delete()  # leftovers are removed by the next emit


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


def scratch_directories(root: Root) -> list[Scratch]:
    return [
        Scratch(root, name)
        for name in sorted(root.listdir(""))
        if name.startswith(SCRATCH_PREFIX)
        and (found := root.lstat(name)) is not None
        and stat.S_ISDIR(found.st_mode)
    ]


def recover(root: Root, *, remove_leftovers: bool) -> Recovery:
    """Finish or roll back every interrupted commit in ``root`` (the lock must be held);
    delete unreferenced scratch directories too if ``remove_leftovers``, else list them."""
    found = Recovery()
    with held():
        for scratch in scratch_directories(root):
            marker = scratch.marker()
            if marker == JOURNAL:
                roll_back(scratch, scratch.read_steps(JOURNAL))
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
