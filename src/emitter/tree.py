"""The only module that decides what changes in an output directory.

An emitted tree is a mapping of relative POSIX paths to text. ``write_trees`` writes the trees
of one emit (one per target) below one *root* so that nothing is lost: every path stays inside
its directory (resolved without following symlinks, see ``outdir``), files the emitter did not
write (an overlay, a user's README) are never touched, a file it does not own is never
overwritten, files whose bytes do not change are left alone, and all directories change in one
journaled commit (``journal``) under the root's lock: an error, an interrupt or a kill leaves
the previous trees byte-identical or, once recovered by the next emit, the new ones.
``inspect_trees`` is the same comparison, in memory, for ``emit --check``.
"""

from __future__ import annotations

import difflib
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from emitter.journal import Recovery, commit, recover
from emitter.outdir import OutputConflict, Root
from emitter.scratch import DIRECTORY_MODE, Step

MANIFEST = ".ignition-stack-files"
_MANIFEST_HEADER = (
    "# Files written by ignition-stack; it rewrites or removes only these.\n"
    "# Regenerate with `ignition-stack emit`; do not edit.\n"
)

__all__ = ["MANIFEST", "Drift", "OutputConflict", "diff_tree", "inspect_trees", "write_trees"]


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


def _join(sub: str, path: str) -> str:
    return f"{sub}/{path}" if sub else path


def read_manifest(directory: Path) -> set[str]:
    root = Root.open(directory)
    if root is None:
        return set()
    with root:
        return _owned(root, "")


def _owned(root: Root, sub: str, adopt: Mapping[str, str] | None = None) -> set[str]:
    """The paths the manifest of tree ``sub`` lists, plus each path of ``adopt`` (path ->
    the text it starts with) whose file starts with that text: a file an earlier release
    generated before it recorded it (POST-SETUP.md of a project from 0.1)."""
    text = _read_text(root, _join(sub, MANIFEST))
    owned = (
        set()
        if text is None
        else {line for line in text.splitlines() if line and not line.startswith("#")}
    )
    for path, prefix in (adopt or {}).items():
        current = _read_text(root, _join(sub, path))
        if path not in owned and current is not None and current.startswith(prefix):
            owned.add(path)
    return owned


def render_manifest(paths: set[str]) -> str:
    return _MANIFEST_HEADER + "".join(f"{path}\n" for path in sorted(paths))


def _read_text(root: Root | None, relative: str) -> str | None:
    return _decoded(None if root is None else root.read(relative))


def _decoded(data: bytes | None) -> str | None:
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _expected(files: Mapping[str, str]) -> dict[str, str]:
    for path in files:
        check_relative_path(path)
    if MANIFEST in files:
        raise OutputConflict(f"{MANIFEST} is reserved for the emitter's own record")
    return {**files, MANIFEST: render_manifest(set(files))}


@dataclass
class Drift:
    """How a directory differs from what would be emitted into it."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)
    # Per added, changed or removed emitted path (never the manifest): its text now (None:
    # absent or unreadable), for the targets' notes on a change.
    before: dict[str, str | None] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed or self.conflicts)


@dataclass
class Inspection:
    """What ``emit --check`` found: each tree's drift, and what recovery did or left."""

    drifts: dict[str, Drift]
    recovery: Recovery


def diff_tree(directory: Path, files: Mapping[str, str]) -> Drift:
    """What ``write_tree(directory, files)`` would change, without changing anything."""
    root = Root.open(directory)
    if root is None:
        return _diff(None, "", files)
    with root:
        return _diff(root, "", files)


def inspect_trees(
    root_path: Path,
    trees: Mapping[str, Mapping[str, str]],
    adopt: Mapping[str, Mapping[str, str]] | None = None,
) -> Inspection:
    """Recover an interrupted emit (taking the lock), then diff each tree (key: the directory
    below the root, ``""`` for the root); unreferenced scratch is reported, not removed.
    ``adopt``: per tree, files taken as owned when they start with the given text."""
    adopt = adopt or {}
    root = Root.open(root_path)
    if root is None:
        return Inspection({sub: _diff(None, sub, f) for sub, f in trees.items()}, Recovery())
    with root:
        root.lock()
        recovery = recover(root, remove_leftovers=False)
        drifts = {sub: _diff(root, sub, f, adopt.get(sub)) for sub, f in trees.items()}
        return Inspection(drifts, recovery)


def _diff(
    root: Root | None, sub: str, files: Mapping[str, str], adopt: Mapping[str, str] | None = None
) -> Drift:
    if root is not None:
        root.directory(sub)  # a symlinked or blocked directory is an error, as for emit
    owned = set() if root is None else _owned(root, sub, adopt)
    drift = Drift()
    for path, expected in sorted(_expected(files).items()):
        current = _read_text(root, _join(sub, path))
        if current == expected:
            continue
        if root is None or root.lstat(_join(sub, path)) is None:
            drift.added.append(path)
            drift.diffs[path] = _unified("/dev/null", f"b/{path}", "", expected)
        elif path in owned or path == MANIFEST:
            drift.changed.append(path)
            drift.diffs[path] = _unified(f"a/{path}", f"b/{path}", current or "", expected)
        else:
            drift.conflicts.append(path)
            continue
        if path != MANIFEST:
            drift.before[path] = current
    for path in sorted(owned - set(files)):
        full = _join(sub, str(check_relative_path(path)))
        found = None if root is None else root.lstat(full)
        if found is not None and stat.S_ISREG(found.st_mode):
            current = _read_text(root, full)
            drift.removed.append(path)
            drift.diffs[path] = _unified(f"a/{path}", "/dev/null", current or "", "")
            drift.before[path] = current
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


@dataclass
class Written:
    """What ``write_trees`` did: per tree the stale paths it removed and, per path it wrote
    or removed, the text it held before (None: absent or unreadable); what recovery did."""

    removed: dict[str, list[str]]
    recovery: Recovery
    before: dict[str, dict[str, str | None]] = field(default_factory=dict)


def write_tree(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Make ``directory`` hold exactly the emitted ``files`` (plus anything it does not own).

    Returns the paths it removed because an earlier emit wrote them and this one does not.
    """
    return write_trees(directory, {"": files}).removed[""]


def write_trees(
    root_path: Path,
    trees: Mapping[str, Mapping[str, str]],
    adopt: Mapping[str, Mapping[str, str]] | None = None,
) -> Written:
    """Write every tree (key: its directory below ``root_path``, ``""`` for the root itself)
    in one commit; see ``journal`` for the protocol. ``adopt``: see ``inspect_trees``."""
    expected = {sub: _expected(files) for sub, files in trees.items()}
    for sub in trees:
        if sub:
            check_relative_path(sub)
    with Root.create(root_path) as root:
        root.lock()
        recovery = recover(root, remove_leftovers=True)
        plan = _Plan(root)
        for sub, files in expected.items():
            plan.add_tree(sub, files, (adopt or {}).get(sub))
        plan.raise_conflicts()
        plan.prune()
        if plan.steps:
            commit(root, plan.steps, plan.contents)
        return Written(plan.removed, recovery, plan.before)


class _Plan:
    """The steps that turn the trees on disk into the emitted ones."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self.parks: list[Step] = []
        self.mkdirs: list[Step] = []
        self.places: list[Step] = []
        self.rmdirs: list[Step] = []
        self.contents: dict[int, bytes] = {}
        self.removed: dict[str, list[str]] = {}
        self.before: dict[str, dict[str, str | None]] = {}
        self.conflicts: dict[str, list[str]] = {}
        self._stale: set[str] = set()
        self._kept: set[str] = set()  # directories that hold a file after the commit
        self._made: set[str] = set()
        self._old_slots = 0

    @property
    def steps(self) -> list[Step]:
        return self.parks + self.mkdirs + self.places + self.rmdirs

    def add_tree(self, sub: str, files: dict[str, str], adopt: Mapping[str, str] | None) -> None:
        root = self.root
        root.directory(sub)  # refuse a symlinked or blocked target directory up front
        owned = _owned(root, sub, adopt)
        before = self.before.setdefault(sub, {})
        for path, text in sorted(files.items()):
            full = _join(sub, path)
            found = root.lstat(full)
            data = text.encode("utf-8")
            self._keep(full)
            if found is None:
                self._make_parents(full)
                current = None
            elif stat.S_ISLNK(found.st_mode):
                raise OutputConflict(f"refusing to replace symlink {root.path / full}")
            elif stat.S_ISDIR(found.st_mode):
                self.conflicts.setdefault(sub, []).append(f"{path} (a directory is in the way)")
                continue
            elif (current_bytes := root.read(full)) == data:
                continue  # unchanged (or an identical file, adopted): nothing to write
            elif path not in owned and path != MANIFEST:
                self.conflicts.setdefault(sub, []).append(path)
                continue
            else:
                self._park(full)
                current = _decoded(current_bytes)
            if path != MANIFEST:
                before[path] = current
            slot = len(self.contents)
            self.contents[slot] = data
            self.places.append(Step("place", full, slot=slot))
        self.removed[sub] = []
        for path in sorted(owned - set(files)):
            full = _join(sub, str(check_relative_path(path)))
            found = root.lstat(full)
            if found is not None and stat.S_ISLNK(found.st_mode):
                raise OutputConflict(f"refusing to replace symlink {root.path / full}")
            if found is not None and stat.S_ISREG(found.st_mode):
                before[path] = _read_text(root, full)
                self._park(full)
                self._stale.add(full)
                self.removed[sub].append(path)

    def _park(self, full: str) -> None:
        self.parks.append(Step("park", full, slot=self._old_slots))
        self._old_slots += 1

    def _keep(self, full: str) -> None:
        for parent in PurePosixPath(full).parents:
            self._kept.add(str(parent))

    def _make_parents(self, full: str) -> None:
        for parent in reversed(PurePosixPath(full).parents[:-1]):
            name = str(parent)
            if name not in self._made and self.root.lstat(name) is None:
                self._made.add(name)
                self.mkdirs.append(Step("mkdir", name, mode=DIRECTORY_MODE))

    def raise_conflicts(self) -> None:
        if self.conflicts:
            raise OutputConflict(
                "; ".join(
                    f"refusing to overwrite file(s) in {self.root.path / sub} that "
                    f"ignition-stack did not write: {', '.join(sorted(paths))}"
                    for sub, paths in self.conflicts.items()
                )
                + "; move them away or emit into another directory (--out)"
            )

    def prune(self) -> None:
        """Remove directories that only held stale files (deepest first); never a target's."""
        candidates = {
            str(parent)
            for full in self._stale
            for parent in PurePosixPath(full).parents
            if str(parent) != "." and str(parent) not in self.removed
        }
        gone = set(self._stale)
        for directory in sorted(candidates, key=lambda d: (-d.count("/"), d)):
            if directory in self._kept:
                continue
            entries = self.root.listdir(directory)
            if all(_join(directory, entry) in gone for entry in entries):
                found = self.root.lstat(directory)
                assert found is not None
                self.rmdirs.append(Step("rmdir", directory, mode=stat.S_IMODE(found.st_mode)))
                gone.add(directory)
