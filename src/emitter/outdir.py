"""The output root, opened by descriptor: symlink-proof paths below it, and the writer's lock.

Every path below the root is resolved one component at a time with ``O_NOFOLLOW``, and each
directory is opened once and then used by descriptor (``dir_fd=``). A symlink met on the way is
an error, and a directory swapped for a symlink after it was opened changes nothing: the
descriptor still names the directory that was checked, so no write can land outside the root.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from pathlib import Path, PurePosixPath

from emitter.diagnostics import EmitterError

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# How long an emit waits for another one writing the same root before it gives up.
LOCK_TIMEOUT_SECONDS = 30.0


class OutputConflict(EmitterError):
    """The emitter would overwrite a file it does not own, or leave its directory."""


class OutputBusy(EmitterError):
    """Another emit holds the root's lock for longer than an emit should take."""


def _refusal(path: Path, name: str, dir_fd: int | None = None) -> OutputConflict:
    """Why ``name`` (in ``dir_fd``) could not be opened as a directory without following it."""
    try:
        link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        link = False
    if link:
        return OutputConflict(
            f"refusing to write through symlink {path}: ignition-stack writes only inside real "
            "directories; replace the link with a directory or emit elsewhere (--out)"
        )
    return OutputConflict(f"{path} is in the way: it is not a directory")


class Root:
    """An opened output root; paths are relative POSIX strings, ``""`` for the root itself."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fds: dict[str, int] = {"": fd}

    @classmethod
    def create(cls, path: Path) -> Root:
        """Open ``path`` (a real directory, not a symlink), creating it and its parents."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir(mode=0o755, exist_ok=True)
        except OSError as exc:
            raise EmitterError(
                f"cannot create {exc.filename or path}: {exc.strerror or exc}"
            ) from None
        root = cls.open(path)
        if root is None:  # removed again in between
            raise EmitterError(f"cannot create {path}: it disappeared while being created")
        return root

    @classmethod
    def open(cls, path: Path) -> Root | None:
        """Open ``path`` (a real directory, not a symlink); ``None`` if it is missing."""
        try:
            fd = os.open(path, _DIRECTORY_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _refusal(path, str(path)) from None
            raise
        return cls(path, fd)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def fd(self) -> int:
        return self._fds[""]

    def lock(self, timeout: float | None = None) -> None:
        """Take the root's exclusive lock (``flock`` on the root directory itself, so no lock
        file is left behind), waiting at most ``timeout`` seconds for another emit."""
        limit = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputBusy(
                        f"another ignition-stack emit is writing {self.path}; waited "
                        f"{limit:g} s for it to finish. Run this emit again once it has"
                    ) from None
                time.sleep(0.02)

    def directory(self, relative: str, *, create_mode: int | None = None) -> int | None:
        """The descriptor of directory ``relative``, opened without following symlinks;
        ``None`` if it (or a parent) is missing, unless ``create_mode`` creates it."""
        if relative in self._fds:
            return self._fds[relative]
        parent, name = _split(relative)
        parent_fd = self.directory(parent, create_mode=create_mode)
        if parent_fd is None:
            return None
        if create_mode is not None:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, create_mode, dir_fd=parent_fd)
        try:
            fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _refusal(self.path / relative, name, parent_fd) from None
            raise
        self._fds[relative] = fd
        return fd

    def forget(self, relative: str) -> None:
        """Close the descriptors of ``relative`` and below (it was removed)."""
        for key in [k for k in self._fds if k == relative or k.startswith(f"{relative}/")]:
            if key:
                os.close(self._fds.pop(key))

    def parent(self, relative: str) -> tuple[int | None, str]:
        """The descriptor of the directory holding ``relative``, and its last component."""
        parent, name = _split(relative)
        return self.directory(parent), name

    def lstat(self, relative: str) -> os.stat_result | None:
        parent_fd, name = self.parent(relative)
        if parent_fd is None:
            return None
        try:
            return os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def read(self, relative: str) -> bytes | None:
        """A regular file's bytes; ``None`` if it is missing or not a regular file."""
        parent_fd, name = self.parent(relative)
        if parent_fd is None:
            return None
        # O_NONBLOCK: a named pipe put where a file was must not stall the emit until some
        # writer opens it (regular files read the same either way).
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(name, flags, dir_fd=parent_fd)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read()
        finally:
            os.close(fd)

    def listdir(self, relative: str) -> list[str]:
        fd = self.directory(relative)
        return [] if fd is None else os.listdir(fd)  # noqa: PTH208 (a descriptor, not a path)

    def sync(self, relative: str) -> None:
        """fsync directory ``relative`` so the renames in it survive a power loss."""
        fd = self.directory(relative)
        if fd is not None:
            os.fsync(fd)


def _split(relative: str) -> tuple[str, str]:
    pure = PurePosixPath(relative)
    parent = str(pure.parent)
    return ("" if parent == "." else parent), pure.name
