"""Reading a stack file from disk: bounded in size, and only from a file or a pipe.

A stack file is read whole before it is parsed, so an endless source (``/dev/zero``, a pipe
that never ends) or a huge file must stop at a limit instead of exhausting memory, and a
named pipe nobody writes to must not block the command forever.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from emitter.diagnostics import StackInvalid, error

# The largest stack the tool derives (10000 spokes, redundant hub) is 1.7 MiB as YAML and
# 2.8 MiB as JSON (`create --dry-run --output-format json`); 4 MiB leaves room for hand edits.
MAX_STACK_FILE_BYTES = 4 * 1024 * 1024
_CHUNK = 1 << 16
_FILE_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _problem(message: str, hint: str = "") -> StackInvalid:
    return StackInvalid([error("IS001", "", message, hint)])


def read_stack_file(path: Path) -> str:
    """The text of the stack file at ``path``; every reason it cannot be read is an IS001."""
    limit = MAX_STACK_FILE_BYTES
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise _problem(
            f"no stack file at {path}",
            "create one with `ignition-stack create NAME --arch ...`, or pass its path",
        ) from None
    except OSError as exc:
        raise _problem(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        inside = path / "stack.yaml"
        if inside.is_file():
            raise _problem(f"{path} is a directory", f"did you mean {inside}?")
        raise _problem(
            f"{path} is a directory, and holds no stack.yaml",
            "pass the path of the stack file (a project's is PROJECT/stack.yaml)",
        )
    for test, kind in _FILE_KINDS:
        if test(mode):
            raise _problem(
                f"{path} is {kind}, not a stack file", "pass the path of a stack.yaml file"
            )
    try:
        data = _read_at_most(path, limit + 1)
    except OSError as exc:
        raise _problem(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise _problem(
            f"{path} is larger than {_size(limit)}, the limit for a stack file",
            f"check that {path} is a stack file; one of 10000 gateways is under 3 MiB",
        )
    if not data and stat.S_ISFIFO(mode):
        raise _problem(
            f"{path} is a pipe and nothing was written to it",
            "pass the path of a stack.yaml file, or write the stack into the pipe",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _problem(
            f"cannot read {path}: it is not UTF-8 text (byte {exc.start + 1})",
            "save the stack file as UTF-8",
        ) from None


def _read_at_most(path: Path, count: int) -> bytes:
    # O_NONBLOCK: opening a named pipe without a writer returns at once instead of waiting for
    # one. Reads then block again, so a pipe with a writer (`-f <(...)`) delivers all it writes,
    # and one whose writer is gone reads as empty.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        remaining = count
        while remaining > 0:
            chunk = os.read(fd, min(remaining, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count % (1024 * 1024) == 0 else f"{count} bytes"
