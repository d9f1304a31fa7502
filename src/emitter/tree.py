"""The only module that touches the output directory.

An emitted tree is a mapping of relative POSIX paths to text. ``write_tree`` writes it so that
nothing is lost: every path stays inside the output directory, files the emitter did not write
(an overlay, a user's README) are never touched, a file it does not own is never overwritten,
and the whole change is committed with renames that are rolled back on failure, so an error or
an interrupt leaves the previous tree byte-identical. ``diff_tree`` is the same comparison,
in memory, for ``emit --check``.
"""

from __future__ import annotations

import contextlib
import difflib
import signal
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from emitter.diagnostics import EmitterError

MANIFEST = ".ignition-stack-files"
_MANIFEST_HEADER = (
    "# Files written by ignition-stack; it rewrites or removes only these.\n"
    "# Regenerate with `ignition-stack emit`; do not edit.\n"
)
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755


class OutputConflict(EmitterError):
    """The emitter would overwrite a file it does not own, or leave its directory."""


def check_relative_path(path: str) -> PurePosixPath:
    """Reject any path that could leave the output directory, whatever a stack file holds."""
    pure = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or "\0" in path
        or pure.is_absolute()
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise OutputConflict(
            f"refusing to write {path!r}: emitted paths must stay inside the output directory"
        )
    return pure


def read_manifest(directory: Path) -> set[str]:
    try:
        text = (directory / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {line for line in text.splitlines() if line and not line.startswith("#")}


def render_manifest(paths: set[str]) -> str:
    return _MANIFEST_HEADER + "".join(f"{path}\n" for path in sorted(paths))


def _ensure_inside(directory: Path, relative: PurePosixPath) -> Path:
    """The on-disk path, refusing symlinked parents that would lead outside ``directory``."""
    target = directory.joinpath(*relative.parts)
    current = directory
    for part in relative.parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise OutputConflict(f"refusing to write through symlink {current}")
    if target.is_symlink():
        raise OutputConflict(f"refusing to replace symlink {target}")
    return target


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, UnicodeDecodeError):
        return None


@dataclass
class Drift:
    """How a directory differs from what would be emitted into it."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed or self.conflicts)


def diff_tree(directory: Path, files: Mapping[str, str]) -> Drift:
    """What ``write_tree(directory, files)`` would change, without changing anything."""
    owned = read_manifest(directory)
    expected_tree = {**files, MANIFEST: render_manifest(set(files))}
    drift = Drift()
    for path in sorted(expected_tree):
        target = directory.joinpath(*check_relative_path(path).parts)
        current = _read_text(target)
        expected = expected_tree[path]
        if current == expected:
            continue
        if current is None and not target.exists():
            drift.added.append(path)
            drift.diffs[path] = _unified("/dev/null", f"b/{path}", "", expected)
        elif path in owned or path == MANIFEST:
            drift.changed.append(path)
            drift.diffs[path] = _unified(f"a/{path}", f"b/{path}", current or "", expected)
        else:
            drift.conflicts.append(path)
    for path in sorted(owned - set(files)):
        stale = directory.joinpath(*check_relative_path(path).parts)
        if stale.is_file():
            drift.removed.append(path)
            drift.diffs[path] = _unified(f"a/{path}", "/dev/null", _read_text(stale) or "", "")
    return drift


def _unified(before_name: str, after_name: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            before_name,
            after_name,
        )
    )


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while renames commit, so an interrupt cannot split the tree."""
    if hasattr(signal, "pthread_sigmask"):
        blocked = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    else:  # pragma: no cover - non-POSIX
        yield


def write_tree(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Make ``directory`` hold exactly the emitted ``files`` (plus anything it does not own).

    Returns the paths it removed because an earlier emit wrote them and this one does not.
    """
    checked = {path: check_relative_path(path) for path in files}
    if MANIFEST in files:
        raise OutputConflict(f"{MANIFEST} is reserved for the emitter's own record")
    directory.mkdir(parents=True, exist_ok=True)
    owned = read_manifest(directory)

    conflicts = []
    for path, relative in checked.items():
        target = _ensure_inside(directory, relative)
        if target.is_dir():
            conflicts.append(f"{path} (a directory is in the way)")
        elif target.exists() and path not in owned and _read_text(target) != files[path]:
            conflicts.append(path)
    if conflicts:
        raise OutputConflict(
            f"refusing to overwrite file(s) in {directory} that ignition-stack did not write: "
            + ", ".join(sorted(conflicts))
            + "; move them away or emit into another directory (--out)"
        )

    stale = sorted(path for path in owned - set(files) if (directory / path).is_file())
    for path in stale:
        _ensure_inside(directory, check_relative_path(path))

    contents = dict(files)
    contents[MANIFEST] = render_manifest(set(files))
    with tempfile.TemporaryDirectory(prefix=".ignition-stack-scratch-", dir=directory) as scratch:
        staging = Path(scratch) / "new"
        previous = Path(scratch) / "old"
        # Stage every file first: a failure here has not touched the tree at all.
        for path, text in contents.items():
            staged = staging / path
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(text.encode("utf-8"))
            staged.chmod(FILE_MODE)
        _commit(directory, staging, previous, sorted(contents), stale)
    _prune_empty_directories(directory, stale)
    return stale


def _commit(
    directory: Path, staging: Path, previous: Path, paths: list[str], stale: list[str]
) -> None:
    moved_out: list[str] = []  # old files parked in ``previous``
    moved_in: list[str] = []  # new files now in the tree
    created_directories: list[Path] = []
    with _interrupts_deferred():
        try:
            for path in stale:
                _park(directory, previous, path)
                moved_out.append(path)
            for path in paths:
                target = directory / path
                for parent in reversed(target.relative_to(directory).parents[:-1]):
                    absolute = directory / parent
                    if not absolute.exists():
                        absolute.mkdir(mode=DIRECTORY_MODE)
                        absolute.chmod(DIRECTORY_MODE)
                        created_directories.append(absolute)
                if target.exists():
                    _park(directory, previous, path)
                    moved_out.append(path)
                (staging / path).replace(target)
                moved_in.append(path)
        except BaseException:
            for path in reversed(moved_in):
                with contextlib.suppress(OSError):
                    (directory / path).unlink()
            for path in reversed(moved_out):
                (previous / path).replace(directory / path)
            for created in reversed(created_directories):
                with contextlib.suppress(OSError):
                    created.rmdir()
            raise


def _park(directory: Path, previous: Path, path: str) -> None:
    parked = previous / path
    parked.parent.mkdir(parents=True, exist_ok=True)
    (directory / path).replace(parked)


def _prune_empty_directories(directory: Path, removed: list[str]) -> None:
    for path in removed:
        for parent in PurePosixPath(path).parents:
            if str(parent) == ".":
                break
            with contextlib.suppress(OSError):
                (directory / parent).rmdir()  # only succeeds when empty
