"""One commit's scratch directory: the staged files, the parked ones and the journal file
(the protocol that uses them is described in ``journal``)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from dataclasses import dataclass
from typing import Literal

from emitter.diagnostics import EmitterError
from emitter.outdir import Root

SCRATCH_PREFIX = ".ignition-stack-scratch-"
JOURNAL = "journal"
COMMITTED = "committed"
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
_VERSION = 1  # of the journal's format

Op = Literal["park", "mkdir", "place", "rmdir"]


@dataclass(frozen=True)
class Step:
    """One line of the journal: ``op`` on ``path`` (relative to the root); ``slot`` names the
    file in ``new/`` or ``old/`` (park, place); ``mode`` is a directory's (mkdir, rmdir)."""

    op: Op
    path: str
    slot: int = -1
    mode: int = DIRECTORY_MODE  # rmdir: the mode to restore on undo

    def encode(self) -> list[object]:
        return [self.op, self.path, self.slot, self.mode]


class Scratch:
    """One commit's scratch directory in the root."""

    def __init__(self, root: Root, name: str) -> None:
        self.root = root
        self.name = name

    def slots(self, sub: str) -> int:
        """The descriptor of ``new/`` or ``old/``."""
        return self._fd(sub)

    def _fd(self, sub: str = "") -> int:
        fd = self.root.directory(f"{self.name}/{sub}" if sub else self.name)
        if fd is None:
            raise FileNotFoundError(errno.ENOENT, "No such directory", f"{self.name}/{sub}")
        return fd

    @classmethod
    def create(cls, root: Root) -> Scratch:
        name = SCRATCH_PREFIX + secrets.token_hex(4)
        os.mkdir(name, 0o700, dir_fd=root.fd)
        scratch = cls(root, name)
        for sub in ("new", "old"):
            root.directory(f"{name}/{sub}", create_mode=0o700)
        return scratch

    def stage(self, slot: int, data: bytes) -> None:
        fd = self._fd("new")
        out = os.open(
            str(slot),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            FILE_MODE,
            dir_fd=fd,
        )
        try:
            os.fchmod(out, FILE_MODE)  # whatever the umask
            _write_all(out, data)
        finally:
            os.close(out)

    def write_journal(self, steps: list[Step]) -> None:
        self.root.sync(f"{self.name}/new")  # the staged files' names, before the journal
        fd = self._fd()
        text = json.dumps({"version": _VERSION, "steps": [s.encode() for s in steps]})
        out = os.open(
            f"{JOURNAL}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600, dir_fd=fd
        )
        try:
            _write_all(out, text.encode("utf-8"))
        finally:
            os.close(out)
        os.rename(f"{JOURNAL}.tmp", JOURNAL, src_dir_fd=fd, dst_dir_fd=fd)
        os.fsync(fd)

    def mark_committed(self) -> None:
        fd = self._fd()
        os.rename(JOURNAL, COMMITTED, src_dir_fd=fd, dst_dir_fd=fd)
        os.fsync(fd)

    def drop_marker(self, marker: str) -> None:
        fd = self._fd()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(marker, dir_fd=fd)
        os.fsync(fd)

    def read_steps(self, marker: str) -> list[Step]:
        fd = self._fd()
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def scratch_directories(root: Root) -> list[Scratch]:
    return [
        Scratch(root, name)
        for name in sorted(root.listdir(""))
        if name.startswith(SCRATCH_PREFIX)
        and (found := root.lstat(name)) is not None
        and stat.S_ISDIR(found.st_mode)
    ]
