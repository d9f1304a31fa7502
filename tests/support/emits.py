"""Helpers for the tree-writer tests that run ``ignition-stack emit`` for real: two stack files
whose trees differ in every way a commit can (changed, added in new directories, removed), the
CLI as a subprocess or in-process, strace, and a hash of a whole directory tree."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from emitter.cli import main
from emitter.scratch import SCRATCH_PREFIX

from .validators import missing_tool

GOLDEN = Path(__file__).parent.parent / "golden"
# A redundant pair on both targets: few files, so a test can stop the commit at each step.
NEW_STACK = GOLDEN / "basic-redundant" / "stack.yaml"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> Run:
    """``ignition-stack ARGS`` in this process (no interpreter start-up: fast)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(arg) for arg in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
    return Run(code, out.getvalue(), err.getvalue())


def environment() -> dict[str, str]:
    """The subprocess environment: no bytecode writes, so syscall counts are reproducible."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


def cli_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "emitter", *(str(arg) for arg in args)]


def require_strace() -> str:
    found = shutil.which("strace") or (
        "/usr/bin/strace" if Path("/usr/bin/strace").exists() else None
    )
    if found is None:
        missing_tool("strace is not installed; the fault-injection tests run emit under it")
    probe = subprocess.run(
        [found, "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        missing_tool(f"strace cannot trace here (ptrace not permitted?): {probe.stderr.strip()}")
    return found


def tree_hash(directory: Path, *, skip_scratch: bool = False) -> str:
    """Every entry below ``directory``: path, type, mode and bytes (symlinks by target)."""
    digest = hashlib.sha256()
    for current, directories, files in os.walk(directory):
        directories.sort()
        if skip_scratch and Path(current) == directory:
            directories[:] = [d for d in directories if not d.startswith(SCRATCH_PREFIX)]
        for name in sorted(directories + files):
            path = Path(current) / name
            info = path.lstat()
            relative = path.relative_to(directory).as_posix()
            digest.update(
                f"{relative}\0{stat.S_IFMT(info.st_mode)}\0{info.st_mode & 0o7777}\0".encode()
            )
            if stat.S_ISREG(info.st_mode):
                digest.update(path.read_bytes())
            elif stat.S_ISLNK(info.st_mode):
                digest.update(str(path.readlink()).encode())
    return digest.hexdigest()


def scratch_directories(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith(SCRATCH_PREFIX))


def old_stack(directory: Path) -> Path:
    """``NEW_STACK`` with more memory per gateway: one file changes in Compose, two in
    Kubernetes (few renames, both targets)."""
    explicit = run_cli("create", "plant", "-f", NEW_STACK, "--target", "all", "--dry-run")
    assert explicit.exit_code == 0, explicit.stderr
    assert "memory_mb: 2048" in explicit.stdout
    path = directory / "old-stack.yaml"
    path.write_text(explicit.stdout.replace("memory_mb: 2048", "memory_mb: 3072"))
    return path


def old_tree(directory: Path) -> None:
    """The tree before the commit under test: the old stack's emit, where the user added a
    file and deleted one the emit wrote (it comes back, in a new directory), and where an
    earlier emit wrote a file in a directory of its own that the new emit drops."""
    directory.mkdir(parents=True)
    result = run_cli("emit", old_stack(directory.parent), "--out", directory)
    assert result.exit_code == 0, result.stderr
    compose = directory / "compose"
    (compose / "README.md").write_text("notes the user keeps here\n")
    shutil.rmtree(compose / "gateways" / "gateway-backup")
    retired = compose / "retired" / "notes.txt"
    retired.parent.mkdir()
    retired.write_text("written by an earlier version\n")
    manifest = compose / ".ignition-stack-files"
    manifest.write_text(manifest.read_text() + "retired/notes.txt\n")


@dataclass
class Syscall:
    name: str
    nth: int  # 1-based among calls of the same name (strace's inject when=)
    line: str


_CALL = re.compile(r"^(?:\d+\s+)?(\w+)\(")
TRACED = ("renameat", "renameat2", "rename", "mkdirat", "unlinkat", "fsync", "fdatasync")


def trace_emit(strace: str, directory: Path, stack: Path, work: Path) -> list[Syscall]:
    """The file-changing syscalls of ``emit stack --out directory``, from the moment the commit's
    scratch directory is made (what happens before it cannot change the tree)."""
    log = work / "trace.txt"
    subprocess.run(
        [strace, "-f", "-qq", "-o", log, "-e", f"trace={','.join(TRACED)}",
         *cli_command("emit", stack, "--out", directory)],
        capture_output=True, env=environment(), check=True, cwd=work,
    )  # fmt: skip
    calls: list[Syscall] = []
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines():
        match = _CALL.match(line)
        if match is None:
            continue
        name = match.group(1)
        counts[name] = counts.get(name, 0) + 1
        calls.append(Syscall(name, counts[name], line))
    start = next(i for i, c in enumerate(calls) if c.name == "mkdirat" and SCRATCH_PREFIX in c.line)
    return calls[start:]


def run_injected(
    strace: str, inject: str, *args: str | Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``ignition-stack ARGS`` under strace with one ``-e inject=`` rule."""
    syscall = inject.split(":", 1)[0]
    return subprocess.run(
        [strace, "-f", "-qq", "-o", os.devnull, "-e", f"trace={syscall}", "-e", f"inject={inject}",
         *cli_command(*args)],
        capture_output=True, text=True, env=environment(), check=False, cwd=cwd, timeout=120,
    )  # fmt: skip
