#!/usr/bin/env python3
"""Time to a running stack: from ``docker compose up`` to every service healthy, on a real Docker
engine, with the Ignition gateway stand-in of the test suite (tests/standin/) in place of the
gateway image.

The stand-in starts in about a second, so what this measures is this tool's own share of the
wait: the PKI one-shot (``transport: ssl``), the bootstrap one-shots, the container starts and
the health checks. Each case is a redundant hub-and-spoke stack of N gateways (the hub pair and
N - 2 spokes), created with ``ignition-stack create`` and brought up with
``docker compose up --wait``, then removed with ``docker compose down -v``.

Run it from the repository root, as root, after ``tests/tools/install.sh`` (it starts its own
``dockerd`` on a private socket, as the engine tests do):

    .venv/bin/python benchmarks/compose_up.py

It prints a Markdown table and writes ``benchmarks/compose-up-results.json``. Standard library
only, apart from the engine helpers it shares with the test suite. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # benchmarks/run.py's machine_info
RESULTS = HERE / "compose-up-results.json"
DEFAULT_SIZES = (4, 20, 100)
QUICK_SIZES = (4,)
TRANSPORTS = ("plain", "ssl")
PROJECT = "bench"
# The stand-in's delays (startup, redundancy joinwaittime, pings) times this: ~1 s to RUNNING.
DEFAULT_TIME_SCALE = 0.05
# The goal of issue 11: this tool's share for 20 SSL gateways under 10 s.
GOAL_GATEWAYS, GOAL_SECONDS = 20, 10.0


@dataclass
class Case:
    gateways: int
    transport: str

    @property
    def id(self) -> str:
        return f"{self.gateways}-{self.transport}"

    @property
    def spokes(self) -> int:
        return self.gateways - 2  # the hub is a master/backup pair


@dataclass
class Result:
    case: str
    gateways: int
    transport: str
    status: str = "pending"  # ok | failed
    reason: str | None = None
    # From just before `docker compose up --wait` is spawned until it has exited (all healthy).
    up_to_healthy_s: float | None = None
    # From the engine's container timestamps, relative to the same start:
    pki_s: float | None = None  # the PKI one-shot's own run time
    one_shots_done_s: float | None = None  # the last PKI/bootstrap container finished
    gateways_started_s: float | None = None  # the last gateway container started
    containers: int = 0
    runs_s: list[float] = field(default_factory=list)


def run(
    argv: Sequence[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def docker_time(text: str) -> float | None:
    """A Docker RFC 3339 timestamp (nanoseconds) as a POSIX time; None for the zero time."""
    if not text or text.startswith("0001-"):
        return None
    stamp, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()
    return moment + (float(f"0.{fraction}") if fraction else 0.0)


def breakdown(containers: list[dict[str, Any]], start: float) -> dict[str, float | None]:
    """Where the time went, from ``docker inspect`` of the project's containers."""
    one_shots: list[float] = []
    gateway_starts: list[float] = []
    pki = None
    for container in containers:
        labels = container["Config"]["Labels"] or {}
        component = labels.get("io.ignition-stack.component")
        state = container["State"]
        started, finished = docker_time(state["StartedAt"]), docker_time(state["FinishedAt"])
        if component in ("pki", "bootstrap") and finished is not None:
            one_shots.append(finished - start)
            if component == "pki" and started is not None:
                pki = finished - started
        elif component == "gateway" and started is not None:
            gateway_starts.append(started - start)
    return {
        "pki_s": pki,
        "one_shots_done_s": max(one_shots, default=None),
        "gateways_started_s": max(gateway_starts, default=None),
    }


def measure(
    case: Case,
    tool: Sequence[str],
    compose: str,
    docker: str,
    env: dict[str, str],
    workdir: Path,
    timeout: float,
) -> Result:
    """One `create` + `up --wait` + `down -v` of ``case``; the project directory is removed."""
    result = Result(case.id, case.gateways, case.transport)
    directory = Path(tempfile.mkdtemp(prefix=f"compose-up-{case.id}-", dir=workdir))
    project = directory / PROJECT
    try:
        created = run(
            [*tool, "create", PROJECT, "--arch", "hub-and-spoke", "--redundant", "hub",
             "--spokes", str(case.spokes), "--transport", case.transport, "--target", "compose",
             "--no-ci", "-o", str(directory)],
            env,
        )  # fmt: skip
        if created.returncode != 0:
            result.status, result.reason = "failed", f"create: {created.stderr.strip()[-300:]}"
            return result
        start_wall = time.time()
        start = time.perf_counter()
        try:
            up = run(
                [compose, "up", "--wait", "--wait-timeout", str(int(timeout))],
                env,
                project,
                timeout + 60,
            )
        except subprocess.TimeoutExpired:
            result.status, result.reason = "failed", f"not healthy within {timeout + 60:.0f} s"
            return result
        elapsed = time.perf_counter() - start
        if up.returncode != 0:
            result.status, result.reason = "failed", f"up --wait: {up.stderr.strip()[-500:]}"
            return result
        listing = run(
            [docker, "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"], env
        ).stdout.split()
        inspected = json.loads(run([docker, "inspect", *listing], env).stdout) if listing else []
        result.status, result.up_to_healthy_s = "ok", elapsed
        result.containers = len(inspected)
        for key, value in breakdown(inspected, start_wall).items():
            setattr(result, key, value)
        return result
    finally:
        if project.is_dir():
            run([compose, "down", "-v", "--timeout", "5"], env, project, timeout)
        shutil.rmtree(directory, ignore_errors=True)


def median_result(runs: list[Result]) -> Result:
    """The run with the median up-to-healthy time, carrying every run's time."""
    ok = sorted((r for r in runs if r.status == "ok"), key=lambda r: r.up_to_healthy_s or 0.0)
    if not ok:
        return runs[-1]
    chosen = ok[(len(ok) - 1) // 2]
    chosen.runs_s = [round(r.up_to_healthy_s or 0.0, 2) for r in runs if r.status == "ok"]
    return chosen


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table(results: list[Result]) -> str:
    lines = [
        "| Gateways | Transport | Up to healthy (s) | PKI (s) | One-shots done (s) "
        "| Last gateway started (s) | Containers |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.status != "ok":
            lines.append(f"| {r.gateways} | {r.transport} | failed: {r.reason} | | | | |")
            continue
        lines.append(
            f"| {r.gateways} | {r.transport} | {_seconds(r.up_to_healthy_s)} | {_seconds(r.pki_s)} "
            f"| {_seconds(r.one_shots_done_s)} | {_seconds(r.gateways_started_s)} | {r.containers} |"
        )
    return "\n".join(lines)


def goal_line(results: list[Result]) -> str:
    found = [r for r in results if (r.gateways, r.transport) == (GOAL_GATEWAYS, "ssl")]
    if not found or found[0].up_to_healthy_s is None:
        return f"Goal ({GOAL_GATEWAYS} SSL gateways under {GOAL_SECONDS:.0f} s): not measured."
    value = found[0].up_to_healthy_s
    verdict = "met" if value < GOAL_SECONDS else "missed"
    return (
        f"Goal ({GOAL_GATEWAYS} SSL gateways under {GOAL_SECONDS:.0f} s): {value:.1f} s, {verdict}."
    )


# --------------------------------------------------------------------------- the engine


class Engine:
    """A private dockerd with the stand-in tagged as the image stacks pin (tests/engines)."""

    def __init__(self, time_scale: float) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.engines import docker as engines  # the suite's own engine helpers

        self.engines = engines
        dockerd, self.docker, self.compose, base = engines._requirements()
        self.directory = Path(tempfile.mkdtemp(prefix="ignition-stack-bench-dockerd-"))
        self.env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.directory}/docker.sock",
            "DOCKER_BUILDKIT": "0",
        }
        for name in ("DOCKER_CONTEXT", "DOCKER_CONFIG", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME",
                     "COMPOSE_PROFILES", "IGNITION_STACK_ADMIN_PASSWORD_FILE",
                 "IGNITION_STACK_MQTT_PASSWORD_FILE"):  # fmt: skip
            self.env.pop(name, None)
        self.pid = engines._start_dockerd(dockerd, self.directory, self.env, self.docker)
        try:
            tag = f"ignition-stack-test/base:{base.stem}"
            self._docker("import", str(base), tag)
            self._docker(
                "build", "--network=none", f"--build-arg=BASE_IMAGE={tag}",
                f"--build-arg=IGNITION_VERSION={engines.DEFAULT_IMAGE.rpartition(':')[2]}",
                f"--build-arg=STANDIN_TIME_SCALE={time_scale}",
                f"--tag={engines.DEFAULT_IMAGE}", str(engines.STANDIN),
            )  # fmt: skip
        except BaseException:
            self.close()
            raise

    def _docker(self, *args: str) -> None:
        done = run([self.docker, *args], self.env, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"docker {args[0]} failed: {done.stderr.strip()[-500:]}")

    def close(self) -> None:
        self.engines._stop_dockerd(self.pid)
        self.engines._remove(self.directory)


def version_of(tool: Sequence[str], env: dict[str, str]) -> str:
    done = run([*tool, "--version"], env)
    return done.stdout.strip() or done.stderr.strip()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time from `docker compose up` to every service healthy (gateway stand-in)."
    )
    parser.add_argument(
        "--tool",
        default=str(Path(sys.executable).parent / "ignition-stack"),
        help="this tool's console script (default: ignition-stack beside this Python)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="gateway counts, each >= 3 (a hub pair plus spokes); default 4,20,100",
    )
    parser.add_argument("--transports", default=",".join(TRANSPORTS), help="plain,ssl")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the median is kept")
    parser.add_argument("--quick", action="store_true", help="4 gateways, plain and SSL, one run")
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per `up --wait`")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument("--label", default="", help="a note kept in the JSON (e.g. 'before')")
    args = parser.parse_args(argv)
    args.sizes = QUICK_SIZES if args.quick else tuple(int(s) for s in args.sizes.split(","))
    if any(size < 3 for size in args.sizes):
        parser.error("--sizes: every size needs the hub pair and at least one spoke (>= 3)")
    args.transports = tuple(args.transports.split(","))
    if not set(args.transports) <= set(TRANSPORTS):
        parser.error("--transports: plain, ssl or both")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from run import machine_info

    tool = [args.tool]
    started = datetime.now(UTC)
    machine = machine_info()
    try:
        engine = Engine(args.time_scale)
    except BaseException as exc:  # pytest's skip/fail outcomes from the shared helpers included
        print(f"compose_up: no Docker engine: {exc}", file=sys.stderr)
        return 2
    results: list[Result] = []

    def write() -> None:  # after every case, so that an interrupted run keeps what it measured
        document = {
            "schema": 1,
            "generated_at": started.isoformat(timespec="seconds"),
            "label": args.label,
            "command": ["benchmarks/compose_up.py", *(argv if argv is not None else sys.argv[1:])],
            "settings": {
                "sizes": list(args.sizes),
                "transports": list(args.transports),
                "repeat": args.repeat,
                "stand_in_time_scale": args.time_scale,
            },
            "machine": {**machine, "load_average_end": [round(x, 2) for x in os.getloadavg()]},
            "tool": {"argv": tool, "version": version_of(tool, engine.env)},
            "results": [asdict(result) for result in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    try:
        with tempfile.TemporaryDirectory(prefix="compose-up-") as workdir:
            for size in args.sizes:
                for transport in args.transports:
                    case = Case(size, transport)
                    runs = []
                    for index in range(args.repeat):
                        print(f"{case.id}: run {index + 1}/{args.repeat}", file=sys.stderr)
                        runs.append(
                            measure(
                                case,
                                tool,
                                engine.compose,
                                engine.docker,
                                engine.env,
                                Path(workdir),
                                args.timeout,
                            )
                        )
                    results.append(median_result(runs))
                    print(table(results[-1:]).splitlines()[-1], file=sys.stderr)
                    write()
    finally:
        engine.close()
    print(table(results))
    print()
    print(goal_line(results))
    print(
        f"Machine: {machine['cpu_model']}, {machine['usable_cpus']} CPUs, "
        f"load average {machine['load_average'][0]} at start."
    )
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
