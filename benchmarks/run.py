#!/usr/bin/env python3
"""Speed and scale of ``ignition-stack`` (this tool) against the reference ``ignition-stack``
0.9.1 from PyPI, side by side in one run, as whole processes.

Run it from the repository root with the Python of the environment this tool is installed in:

    .venv/bin/python benchmarks/run.py

It installs the reference into its own temporary virtual environment, measures every row
(warm-up first, then ``--repeat`` interleaved runs per tool), prints a Markdown table and writes
``benchmarks/results.json``. Standard library only. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REFERENCE_PACKAGE = "ignition-stack"
REFERENCE_VERSION = "0.9.1"  # pinned: the numbers are only comparable against one release
# The reference refuses more spokes than this without --force (its RAM advisory).
REFERENCE_FORCE_ABOVE = 8
DEFAULT_SPOKES = (8, 200, 1000)
QUICK_SPOKES = (2, 4, 8)
DEFAULT_REPEAT = 5
PROJECT = "bench"
OUT = "{out}"  # replaced by the run's fresh output directory

# Targets, all judged on numbers measured in the same run.
STARTUP_LIMIT = 1 / 3  # --version, --help: this/reference
COMPOSE_LIMIT = 0.5  # compose-only create: this/reference
ALL_TARGETS_LIMIT = 1.0  # this tool's all-targets create / reference's compose-only create
LINEAR_SLACK = 1.1  # growth allowed: 1.1 x the spoke ratio (5.5 for 200 -> 1000 spokes)
MEMORY_LIMIT_MIB = 250.0  # peak RSS of this tool at the largest spoke count

RESULTS = Path(__file__).resolve().parent / "results.json"
KIB_PER_MIB = 1024


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    exit_code: int
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    stderr_tail: str


def run_process(argv: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    """Run one process to completion: wall time, CPU time and the process's own peak RSS.

    The child is waited for with ``waitid(WNOWAIT)`` (timing stops there), then reaped with
    ``wait4`` for its resource usage, so ``ru_maxrss`` is that process's peak (and that of any
    children it waited for), never the benchmark's. A timer kills it after ``timeout`` seconds;
    the pid cannot be reused before ``finished`` is set because it is not reaped until then.
    """
    lock = threading.Lock()
    finished = False
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )

        def kill() -> None:
            with lock:
                if not finished:
                    os.kill(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            seconds = time.perf_counter() - start
        finally:
            with lock:
                finished = True
            timer.cancel()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", errors="replace")
    return Run(
        exit_code=proc.returncode,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / KIB_PER_MIB,  # Linux: KiB
        stderr_tail=tail,
    )


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


@dataclass
class Side:
    """One tool's measurements of one row."""

    args: list[str] | None  # None: this tool is not run for the row
    status: str = "pending"  # pending -> ok | unavailable | skipped | n/a
    reason: str | None = None
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    peak_rss_mib: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.args is None:
            self.status = "n/a"

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.seconds)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.ok else None

    @property
    def peak(self) -> float | None:
        return max(self.peak_rss_mib) if self.ok else None

    def mark(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason
        self.seconds.clear()
        self.cpu_seconds.clear()
        self.peak_rss_mib.clear()

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "args": self.args,
            "median_s": _round(self.median, 4),
            "median_cpu_s": _round(statistics.median(self.cpu_seconds) if self.ok else None, 4),
            "runs_s": [round(s, 4) for s in self.seconds],
            "cpu_runs_s": [round(s, 4) for s in self.cpu_seconds],
            "peak_rss_mib": _round(self.peak, 1),
            "peak_rss_runs_mib": [round(m, 1) for m in self.peak_rss_mib],
        }


@dataclass
class Check:
    what: str  # "time" | "memory" | "growth"
    text: str
    limit: float
    value: float | None = None
    strict: bool = False  # "below" the limit rather than "at most"

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        within = self.value < self.limit if self.strict else self.value <= self.limit
        return "met" if within else "missed"

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "target": self.text,
            "limit": round(self.limit, 4),
            "value": _round(self.value, 4),
            "verdict": self.verdict,
        }


@dataclass
class Row:
    id: str
    label: str
    this: Side
    reference: Side
    kind: str = "process"  # "process" (measured) | "growth" (derived from two rows)
    ratio_limit: float | None = None
    ratio_text: str = ""
    reference_row: str | None = None  # compare against that row's reference measurements
    memory_check: bool = False
    required: bool = True  # this tool must run it; its absence makes the benchmark fail
    needs_kubernetes_tree: bool = False
    spokes: int | None = None  # hub-and-spoke rows: the spoke count
    growth_of: tuple[str, str] | None = None  # (smaller row id, larger row id)
    spoke_ratio: float | None = None
    checks: list[Check] = field(default_factory=list)
    this_value: float | None = None  # growth rows: this tool's factor
    reference_value: float | None = None
    ratio: float | None = None

    def side(self, key: str) -> Side:
        return self.this if key == "this" else self.reference


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- the rows


def architecture_args(arch: str, spokes: int | None) -> list[str]:
    if arch == "basic":
        return ["--arch", "basic"]
    if arch == "scale-out":
        return ["--arch", "scale-out", "--redundant", "backend"]
    return ["--arch", "hub-and-spoke", "--redundant", "hub", "--spokes", str(spokes)]


def build_rows(spokes: Sequence[int]) -> list[Row]:
    largest = max(spokes)
    stacks: list[tuple[str, str, str, int | None]] = [
        ("basic", "basic", "basic", None),
        ("scale-out-redundant", "scale-out, redundant backend", "scale-out", None),
        *(
            (
                f"hub-and-spoke-redundant-{n}",
                f"hub-and-spoke, redundant hub, {n} spokes",
                "hub-and-spoke",
                n,
            )
            for n in spokes
        ),
    ]
    rows = [
        Row(
            "version",
            "`--version`",
            Side(["--version"]),
            Side(["--version"]),
            ratio_limit=STARTUP_LIMIT,
            ratio_text="≤ 0.33x",
        ),
        Row(
            "help",
            "`--help`",
            Side(["--help"]),
            Side(["--help"]),
            ratio_limit=STARTUP_LIMIT,
            ratio_text="≤ 0.33x",
        ),
    ]
    for key, label, arch, n in stacks:
        shape = architecture_args(arch, n)
        force = ["--force"] if n is not None and n > REFERENCE_FORCE_ABOVE else []
        rows.append(
            Row(
                f"create-{key}-compose",
                f"create {label} (compose)",
                Side(["create", PROJECT, *shape, "--target", "compose", "-o", OUT]),
                Side(["create", PROJECT, *shape, *force, "-o", OUT]),
                ratio_limit=COMPOSE_LIMIT,
                ratio_text="≤ 0.5x",
                memory_check=n == largest,
                spokes=n,
            )
        )
    for key, label, arch, n in stacks:
        rows.append(
            Row(
                f"create-{key}-all",
                f"create {label} (all targets; ref: compose)",
                Side(
                    ["create", PROJECT, *architecture_args(arch, n), "--target", "all", "-o", OUT]
                ),
                Side(None),
                reference_row=f"create-{key}-compose",
                ratio_limit=ALL_TARGETS_LIMIT,
                ratio_text="≤ 1.0x ref compose",
                memory_check=n == largest,
                required=False,
                spokes=n,
            )
        )
    rows.append(
        Row(
            f"validate-kubernetes-{largest}",
            f"validate Kubernetes tree, {largest} spokes",
            Side(["validate", "{tree}"]),
            Side(None),
            memory_check=True,
            required=False,
            needs_kubernetes_tree=True,
            spokes=largest,
        )
    )
    if len(spokes) >= 2:
        small, large = sorted(spokes)[-2:]
        allowed = LINEAR_SLACK * large / small
        for target in ("compose", "all"):
            rows.append(
                Row(
                    f"growth-{target}-{small}-{large}",
                    f"growth {small} → {large} spokes ({target})",
                    Side(None),
                    Side(None),
                    kind="growth",
                    growth_of=(
                        f"create-hub-and-spoke-redundant-{small}-{target}",
                        f"create-hub-and-spoke-redundant-{large}-{target}",
                    ),
                    spoke_ratio=large / small,
                    ratio_text=f"this ≤ {allowed:.2f}x",
                    ratio_limit=allowed,
                    required=False,
                )
            )
    return rows


# --------------------------------------------------------------------------- the tools


@dataclass
class Tool:
    key: str  # "this" | "reference"
    name: str
    executable: Path | None
    version: str | None = None
    python: str | None = None
    status: str = "ok"  # ok | skipped | unavailable
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "executable": str(self.executable) if self.executable else None,
            "version": self.version,
            "python": self.python,
            "status": self.status,
            "reason": self.reason,
        }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def query_version(executable: Path, env: dict[str, str]) -> str | None:
    try:
        done = subprocess.run(
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    words = done.stdout.split()
    return words[-1] if done.returncode == 0 and words else None


def interpreter_version(executable: Path) -> str | None:
    """The Python version behind a console script, from its shebang line."""
    try:
        with executable.open("rb") as handle:
            first = handle.readline().decode("utf-8", errors="replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    command = first[2:].split()
    try:
        done = subprocess.run(
            [*command, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def default_tool() -> Path:
    """This tool as its user runs it: the console script beside the running interpreter."""
    return Path(sys.executable).parent / "ignition-stack"


def install_reference(version: str, where: Path) -> Path:
    """``python -m venv DIR && DIR/bin/pip install ignition-stack==VERSION``; the console script."""
    log(f"installing the reference {REFERENCE_PACKAGE}=={version} into {where} ...")
    subprocess.run(
        [sys.executable, "-m", "venv", str(where)], check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run(
        [
            str(where / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--disable-pip-version-check",
            f"{REFERENCE_PACKAGE}=={version}",
        ],
        check=True,
    )
    return where / "bin" / "ignition-stack"


# --------------------------------------------------------------------------- the benchmark


class Benchmark:
    def __init__(
        self,
        rows: list[Row],
        tools: dict[str, Tool],
        root: Path,
        env: dict[str, str],
        timeout: float,
        progress: Callable[[str], None] = log,
    ) -> None:
        self.rows = rows
        self.tools = tools
        self.root = root
        self.env = env
        self.timeout = timeout
        self.progress = progress
        self.tree: Path | None = None
        self.tree_problem: str | None = None

    def by_id(self, row_id: str) -> Row:
        return next(row for row in self.rows if row.id == row_id)

    def prepare(self) -> None:
        for row in self.rows:
            for key, tool in self.tools.items():
                side = row.side(key)
                if side.status == "pending" and tool.status != "ok":
                    side.mark(tool.status, tool.reason or tool.status)
        if any(row.needs_kubernetes_tree and row.this.status == "pending" for row in self.rows):
            self.make_kubernetes_tree()
        for row in self.rows:
            if row.needs_kubernetes_tree and row.this.status == "pending":
                if self.tree is None:
                    row.this.mark("unavailable", self.tree_problem or "no Kubernetes tree")
                else:
                    assert row.this.args is not None
                    row.this.args = [str(self.tree) if a == "{tree}" else a for a in row.this.args]

    def make_kubernetes_tree(self) -> None:
        """The largest Kubernetes tree, created once and kept until the end for ``validate``."""
        spokes = max(row.spokes for row in self.rows if row.needs_kubernetes_tree and row.spokes)
        parent = self.root / "kubernetes-tree"
        parent.mkdir()
        tool = self.tools["this"]
        assert tool.executable is not None
        argv = [
            str(tool.executable),
            "create",
            PROJECT,
            *architecture_args("hub-and-spoke", spokes),
            "--target",
            "k8s",
            "-o",
            str(parent),
        ]
        self.progress(f"creating the Kubernetes tree for validate ({spokes} spokes) ...")
        run = run_process(argv, parent, self.env, self.timeout)
        tree = parent / PROJECT / "targets" / "kubernetes"
        if run.exit_code != 0:
            self.tree_problem = (
                f"`create --target k8s` exited {run.exit_code}: {last_line(run.stderr_tail)}"
            )
        elif not tree.is_dir():
            self.tree_problem = f"`create --target k8s` wrote no {tree.relative_to(parent)}"
        else:
            self.tree = tree

    def measure(self, warmup: int, repeat: int) -> None:
        rounds = warmup + repeat
        for number in range(rounds):
            measured = number >= warmup
            what = (
                f"run {number - warmup + 1}/{repeat}"
                if measured
                else f"warm-up {number + 1}/{warmup}"
            )
            self.progress(f"[{what}]")
            # Alternate which tool goes first, and interleave tools and rows, to spread drift.
            order = ("this", "reference") if number % 2 == 0 else ("reference", "this")
            for row in self.rows:
                if row.kind != "process":
                    continue
                notes = []
                for key in order:
                    side = row.side(key)
                    if side.status not in ("pending", "ok"):
                        continue
                    run = self.run_once(self.tools[key], side)
                    if run.exit_code != 0:
                        side.mark(
                            "unavailable", f"exit {run.exit_code}: {last_line(run.stderr_tail)}"
                        )
                        notes.append(f"{key} unavailable ({side.reason})")
                        continue
                    side.status = "ok"
                    if measured:
                        side.seconds.append(run.seconds)
                        side.cpu_seconds.append(run.cpu_seconds)
                        side.peak_rss_mib.append(run.peak_rss_mib)
                    notes.append(f"{key} {run.seconds:.3f} s {run.peak_rss_mib:.0f} MiB")
                if notes:
                    self.progress(f"  {row.id}: " + ", ".join(notes))

    def run_once(self, tool: Tool, side: Side) -> Run:
        assert tool.executable is not None and side.args is not None
        out = Path(tempfile.mkdtemp(prefix="run-", dir=self.root))
        try:
            argv = [str(tool.executable), *(str(out) if a == OUT else a for a in side.args)]
            return run_process(argv, out, self.env, self.timeout)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def evaluate(self) -> None:
        for row in self.rows:
            if row.kind == "growth":
                self.evaluate_growth(row)
                continue
            reference = (
                self.by_id(row.reference_row).reference if row.reference_row else row.reference
            )
            this_median, reference_median = row.this.median, reference.median
            if this_median is not None and reference_median:
                row.ratio = this_median / reference_median
            if row.ratio_limit is not None:
                row.checks.append(Check("time", row.ratio_text, row.ratio_limit, row.ratio))
            if row.memory_check:
                row.checks.append(
                    Check(
                        "memory",
                        f"peak < {MEMORY_LIMIT_MIB:.0f} MiB",
                        MEMORY_LIMIT_MIB,
                        row.this.peak,
                        strict=True,
                    )
                )

    def evaluate_growth(self, row: Row) -> None:
        assert row.growth_of is not None and row.ratio_limit is not None
        small, large = (self.by_id(i) for i in row.growth_of)
        row.this_value = _factor(small.this.median, large.this.median)
        row.reference_value = _factor(small.reference.median, large.reference.median)
        if row.this_value is None:
            row.this.mark("unavailable", f"needs both {small.id} and {large.id}")
        else:
            row.this.status = "ok"
        if row.reference_value is not None:
            row.reference.status = "ok"
            if row.this_value is not None:
                row.ratio = row.this_value / row.reference_value
        row.checks.append(Check("growth", row.ratio_text, row.ratio_limit, row.this_value))


def _factor(small: float | None, large: float | None) -> float | None:
    return large / small if small and large is not None else None


# --------------------------------------------------------------------------- reporting


def default_workdir() -> Path:
    """A tmpfs when there is one with room, else the system temp dir.

    On ext4, an inode freed in the last 60-300 s is skipped when a new one is allocated
    (``recently_deleted``), so creating and deleting thousands of files per run makes every
    later run on that disk slower, by an amount that depends on how many files the *previous*
    runs wrote. Measured here: the reference at 200 spokes went from 1.4 to 2.7 s over six runs,
    its system time from 0.07 to 1.3 s; on tmpfs it stayed at 1.3 s. A tmpfs measures the tools'
    own work, not the allocator's memory of earlier runs.
    """
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= 1 << 30:
            return shm
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def filesystem_type(path: Path) -> str | None:
    """The type of the file system holding ``path``, from the longest mount point above it."""
    best, kind = "", None
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    resolved = str(path.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def machine_info() -> dict[str, Any]:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    os_name = None
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu_model": cpu or platform.processor() or None,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_gib,
        "os": os_name or platform.system(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def _side_text(side: Side, value: float | None, pattern: str) -> str:
    if value is not None:
        return pattern.format(value)
    return {"unavailable": "unavailable", "skipped": "skipped"}.get(side.status, "—")


def verdict_text(checks: list[Check]) -> str:
    if not checks:
        return "n/a"
    if len(checks) == 1:
        return checks[0].verdict
    return "; ".join(f"{c.what}: {c.verdict}" for c in checks)


def markdown_table(bench: Benchmark) -> str:
    header = (
        "| Row | This median (s) | Reference median (s) | Ratio this/ref | This peak (MiB) "
        "| Reference peak (MiB) | Target | Verdict |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---|---|"]
    for row in bench.rows:
        if row.kind == "growth":
            this = _side_text(row.this, row.this_value, "x{:.2f}")
            ref = _side_text(row.reference, row.reference_value, "x{:.2f}")
            this_peak = ref_peak = "—"
        else:
            reference = (
                bench.by_id(row.reference_row).reference if row.reference_row else row.reference
            )
            this = _side_text(row.this, row.this.median, "{:.3f}")
            ref = _side_text(reference, reference.median, "{:.3f}")
            this_peak = _side_text(row.this, row.this.peak, "{:.1f}")
            ref_peak = _side_text(reference, reference.peak, "{:.1f}")
        targets = "; ".join(c.text for c in row.checks) or "—"
        lines.append(
            f"| {row.label} | {this} | {ref} | {_fmt(row.ratio, '{:.2f}')} | {this_peak} | {ref_peak} "
            f"| {targets} | {verdict_text(row.checks)} |"
        )
    return "\n".join(lines)


def footnotes(bench: Benchmark, machine: dict[str, Any]) -> str:
    this, ref = bench.tools["this"], bench.tools["reference"]
    notes = [
        f"Machine: {machine['cpu_model']}, {machine['usable_cpus']}/{machine['logical_cpus']} CPUs, "
        f"{machine['memory_gib']} GiB, {machine['os']} (kernel {machine['kernel']}), "
        f"Python {machine['python']}; runs written to {machine.get('workdir')} "
        f"({machine.get('workdir_filesystem')}).",
        f"This: {this.name} {this.version} ({this.executable}, Python {this.python}). "
        f"Reference: {ref.name} {ref.version or '—'} "
        + (
            f"({ref.executable}, Python {ref.python})."
            if ref.status == "ok"
            else f"({ref.status}: {ref.reason})."
        ),
    ]
    for row in bench.rows:
        for key in ("this", "reference"):
            side = row.side(key)
            if side.status == "unavailable" and side.reason and row.kind == "process":
                notes.append(f"{row.id} ({key}) unavailable: {side.reason}")
    counts = {
        v: sum(c.verdict == v for row in bench.rows for c in row.checks)
        for v in ("met", "missed", "n/a")
    }
    notes.append(f"Targets: {counts['met']} met, {counts['missed']} missed, {counts['n/a']} n/a.")
    return "\n".join(f"- {note}" for note in notes)


def results_json(
    bench: Benchmark, machine: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    rows = []
    for row in bench.rows:
        entry: dict[str, Any] = {
            "id": row.id,
            "label": row.label,
            "kind": row.kind,
            "required": row.required,
        }
        if row.kind == "growth":
            assert row.growth_of is not None
            entry |= {
                "from_row": row.growth_of[0],
                "to_row": row.growth_of[1],
                "spoke_ratio": row.spoke_ratio,
                "this": {
                    "status": row.this.status,
                    "reason": row.this.reason,
                    "growth": _round(row.this_value, 4),
                },
                "reference": {
                    "status": row.reference.status,
                    "growth": _round(row.reference_value, 4),
                },
            }
        else:
            entry |= {
                "this": row.this.as_json(),
                "reference": row.reference.as_json(),
                "reference_row": row.reference_row,
            }
        entry |= {
            "ratio": _round(row.ratio, 4),
            "checks": [c.as_json() for c in row.checks],
            "verdict": verdict_text(row.checks),
        }
        rows.append(entry)
    return {
        "schema": 1,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "settings": settings,
        "machine": machine,
        "tools": {key: tool.as_json() for key, tool in bench.tools.items()},
        "rows": rows,
    }


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark ignition-stack against the reference ignition-stack from PyPI.",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help=f"measured runs per row and tool [default: {DEFAULT_REPEAT}; 1 with --quick]",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="unmeasured runs first [default: 1; 0 with --quick]",
    )
    parser.add_argument(
        "--spokes",
        default=None,
        help=f"comma-separated hub-and-spoke sizes [default: {','.join(map(str, DEFAULT_SPOKES))}]",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke mode: spokes {','.join(map(str, QUICK_SPOKES))}, 1 run, no warm-up",
    )
    parser.add_argument(
        "--tool",
        type=Path,
        default=None,
        help="this tool's console script, or the venv it is installed in [default: ignition-stack beside the running Python]",
    )
    parser.add_argument(
        "--skip-reference", action="store_true", help="measure this tool only (no network)"
    )
    parser.add_argument(
        "--reference-version",
        default=REFERENCE_VERSION,
        help=f"[default: {REFERENCE_VERSION}, pinned]",
    )
    parser.add_argument(
        "--reference-venv",
        type=Path,
        default=None,
        help="reuse this venv (with the pinned reference) instead of creating a temporary one",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS,
        help="where to write the results [default: benchmarks/results.json]",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="parent of the per-run output directories [default: /dev/shm if it has 1 GiB free, else the system temp dir]",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds before one process is killed [default: 600]",
    )
    args = parser.parse_args(argv)
    args.repeat = args.repeat if args.repeat is not None else (1 if args.quick else DEFAULT_REPEAT)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    if args.spokes:
        try:
            args.spokes = tuple(sorted({int(s) for s in args.spokes.split(",")}))
        except ValueError:
            parser.error("--spokes: comma-separated integers, e.g. 8,200,1000")
    else:
        args.spokes = QUICK_SPOKES if args.quick else DEFAULT_SPOKES
    if args.repeat < 1 or args.warmup < 0 or min(args.spokes) < 0:
        parser.error("--repeat must be >= 1, --warmup >= 0, spokes >= 0")
    return args


def setup_this(path: Path | None, env: dict[str, str]) -> Tool:
    executable = path or default_tool()
    if executable.is_dir():  # a virtual environment
        executable = executable / "bin" / "ignition-stack"
    if executable.parent == Path() and not executable.exists():
        found = shutil.which(str(executable))
        executable = Path(found) if found else executable
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        raise SystemExit(
            f"run.py: no executable {executable}; run with the Python of the venv where "
            f"ignition-stack is installed, or pass --tool PATH"
        )
    executable = executable.absolute()
    return Tool(
        "this",
        "ignition-stack (this)",
        executable,
        query_version(executable, env),
        interpreter_version(executable),
    )


def setup_reference(args: argparse.Namespace, scratch: list[Path], env: dict[str, str]) -> Tool:
    name = f"{REFERENCE_PACKAGE} (PyPI)"
    if args.skip_reference:
        return Tool("reference", name, None, status="skipped", reason="--skip-reference")
    try:
        if args.reference_venv is not None:
            executable = args.reference_venv.absolute() / "bin" / "ignition-stack"
        else:
            # In the system temp dir, not the work dir: a venv is large and need not be fast.
            venv_parent = Path(tempfile.mkdtemp(prefix="ignition-stack-reference-"))
            scratch.append(venv_parent)
            executable = install_reference(args.reference_version, venv_parent / "venv")
    except (OSError, subprocess.CalledProcessError) as exc:
        return Tool("reference", name, None, status="unavailable", reason=f"install failed: {exc}")
    version = query_version(executable, env)
    if version != args.reference_version:
        return Tool(
            "reference",
            name,
            executable,
            version,
            status="unavailable",
            reason=f"{executable} reports version {version}, expected {args.reference_version}",
        )
    return Tool("reference", name, executable, version, interpreter_version(executable))


# Interpreter settings that would make a run unlike a user's: no bytecode cache (every module
# compiled from source on every run), debug or tracing modes.
PERTURBING = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONDEVMODE",
    "PYTHONTRACEMALLOC",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONMALLOC",
    "PYTHONMALLOCSTATS",
    "PYTHONVERBOSE",
    "PYTHONDEBUG",
    "PYTHONINSPECT",
)


def measuring_environment() -> tuple[dict[str, str], list[str]]:
    """The benchmark's environment for both tools, minus interpreter settings that perturb."""
    env = dict(os.environ)
    dropped = sorted(name for name in PERTURBING if env.pop(name, None) is not None)
    # The reference checks PyPI for updates on a terminal; it never is one here, but be sure.
    env["IGNITION_STACK_NO_UPDATE_CHECK"] = "1"
    return env, dropped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env, dropped = measuring_environment()
    this = setup_this(args.tool, env)
    workdir = args.workdir or default_workdir()
    root = Path(tempfile.mkdtemp(prefix="ignition-stack-bench-", dir=workdir))
    scratch = [root]
    try:
        reference = setup_reference(args, scratch, env)
        bench = Benchmark(
            build_rows(args.spokes), {"this": this, "reference": reference}, root, env, args.timeout
        )
        machine = machine_info()
        machine["workdir"] = str(workdir)
        machine["workdir_filesystem"] = filesystem_type(root)
        bench.prepare()
        started = time.perf_counter()
        bench.measure(args.warmup, args.repeat)
        bench.evaluate()
        machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        settings = {
            "repeat": args.repeat,
            "warmup": args.warmup,
            "spokes": list(args.spokes),
            "quick": args.quick,
            "skip_reference": args.skip_reference,
            "reference_package": f"{REFERENCE_PACKAGE}=={args.reference_version}",
            "statistic": "median of the measured runs; peak = max ru_maxrss over them",
            "measuring_s": round(time.perf_counter() - started, 1),
            "environment_dropped": dropped,
        }
        print(markdown_table(bench))
        print()
        print(footnotes(bench, machine))
        document = results_json(bench, machine, settings)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        log(f"wrote {args.json}")
    finally:
        for path in scratch:
            shutil.rmtree(path, ignore_errors=True)
    failed = [row.id for row in bench.rows if row.required and row.this.status != "ok"]
    if failed:
        log(f"run.py: this tool could not run required rows: {', '.join(failed)}")
    if reference.status == "unavailable":
        log(f"run.py: reference unavailable: {reference.reason}")
    return 1 if failed or reference.status == "unavailable" else 0


if __name__ == "__main__":
    sys.exit(main())
