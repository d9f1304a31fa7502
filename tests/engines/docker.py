"""A private, real Docker engine for the test suite (pytest plugin; see tests/conftest.py).

``docker_engine`` (session) starts Debian's ``dockerd`` on its own socket, data root and exec
root under a temporary directory, imports the cached Debian base image that
``tests/tools/install-docker.sh`` builds, and builds the Ignition gateway test double
(tests/standin/) tagged with the image name stacks pin by default. At session end it stops
dockerd and removes everything it created. ``docker`` (per test) hands the engine to a test and
fails the test if it leaves a container, volume or network behind.

The engine stays inside this machine: dockerd runs in its own network namespace (loopback
only), so its bridges and published ports are invisible outside it; no default bridge, no
iptables/NAT or IP forwarding; image builds run without network. It needs root,
docker.io and the base image; otherwise the tests skip with the reason, or fail when
``IGNITION_STACK_REQUIRE_TOOLS=1``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emitter.spec import DEFAULT_IMAGE

from ..support.validators import missing_tool

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "standin"
BASE_POINTER = ROOT / ".tools" / "docker-base-image"
# Private address pool for the networks Compose creates; unused on this machine's interfaces.
ADDRESS_POOL = "base=10.213.0.0/16,size=24"
# Every delay of the stand-in (startup, joinwaittime, pings) is multiplied by this.
TIME_SCALE = "0.1"
MEASUREMENTS: dict[str, str] = {}


@dataclass
class DockerEngine:
    """Clients of the private engine: ``docker`` and Docker Compose v2 on its socket."""

    directory: Path
    docker_binary: str
    compose_binary: str
    image: str
    env: dict[str, str] = field(default_factory=dict)
    pid: int = 0  # dockerd's; its network namespace holds the published ports

    def in_network(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in dockerd's network namespace (where published ports listen)."""
        return self._run(["nsenter", "-t", str(self.pid), "-n", *argv], None, False, timeout, None)

    def docker(
        self, *args: str, check: bool = True, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self._run([self.docker_binary, *args], None, check, timeout, input)

    def compose(
        self, project: Path, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return self._run([self.compose_binary, *args], project, check, timeout, None)

    def _run(
        self,
        argv: Sequence[str],
        cwd: Path | None,
        check: bool,
        timeout: float,
        input: str | None,
    ) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            list(argv),
            cwd=cwd,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and run.returncode != 0:
            pytest.fail(
                f"`{' '.join(argv)}` exited {run.returncode}:\n{run.stdout}\n{run.stderr}",
                pytrace=False,
            )
        return run

    def leftovers(self) -> list[str]:
        """Every container, volume and network the engine holds beyond its built-in ones."""
        found = [f"container {line}" for line in self._lines("ps", "-a", "--format", "{{.Names}}")]
        found += [f"volume {line}" for line in self._lines("volume", "ls", "-q")]
        found += [
            f"network {line}"
            for line in self._lines("network", "ls", "--format", "{{.Name}}")
            if line not in ("host", "none", "bridge")
        ]
        return found

    def clean(self) -> None:
        containers = self._lines("ps", "-aq")
        if containers:
            self.docker("rm", "-f", "-v", *containers, check=False)
        self.docker("volume", "prune", "-f", check=False)
        self.docker("network", "prune", "-f", check=False)

    def _lines(self, *args: str) -> list[str]:
        return [line for line in self.docker(*args).stdout.splitlines() if line.strip()]


def _requirements() -> tuple[str, str, str, Path]:
    """dockerd, docker, docker-compose and the base tarball, or skip/fail with the reason."""
    if os.geteuid() != 0:
        missing_tool("the Docker engine tests start their own dockerd, which needs root")
    dockerd = shutil.which("dockerd")
    # The client packaged with this dockerd (docker.io puts both in /usr), else any on PATH.
    packaged = Path(dockerd).parent.parent / "bin" / "docker" if dockerd else None
    docker = str(packaged) if packaged and packaged.is_file() else shutil.which("docker")
    if dockerd is None or docker is None:
        missing_tool(
            "dockerd/docker are not installed (tests/tools/install-docker.sh installs docker.io)"
        )
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        missing_tool(
            "unshare (util-linux) and ip (iproute2) are needed to give dockerd its own network"
        )
    compose = ROOT / ".tools" / "bin" / "docker-compose"
    compose_binary = str(compose) if compose.is_file() else shutil.which("docker-compose")
    if compose_binary is None:
        missing_tool("docker-compose is not installed (tests/tools/install.sh builds it)")
    base = Path(os.environ.get("IGNITION_STACK_DOCKER_BASE", "") or _pointer())
    if not base.is_file():
        missing_tool(
            f"no Debian base image tarball at {base or BASE_POINTER}: run tests/tools/install.sh "
            "(as root; it builds it with debootstrap)"
        )
    return dockerd, docker, compose_binary, base


def _pointer() -> str:
    return BASE_POINTER.read_text(encoding="utf-8").strip() if BASE_POINTER.is_file() else ""


def _start_dockerd(dockerd: str, directory: Path, env: dict[str, str], docker: str) -> int:
    log = (directory / "dockerd.log").open("w")
    process = subprocess.Popen(
        [
            # Its own network namespace with only a loopback interface: the bridges, the
            # published ports (docker-proxy) and the containers' traffic stay inside it, so
            # nothing outside this machine, nor anyone else's service on it, can meet them.
            "unshare",
            "--net",
            "--",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            dockerd,
            f"--host=unix://{directory}/docker.sock",
            f"--data-root={directory}/root",
            f"--exec-root={directory}/exec",
            f"--pidfile={directory}/pid",
            # No docker0 bridge, no iptables/NAT rules, no forwarding between bridges:
            # containers reach each other only on the Compose networks they share.
            "--bridge=none",
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            f"--default-address-pool={ADDRESS_POOL}",
            "--log-level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        probe = subprocess.run([docker, "version"], env=env, capture_output=True, check=False)
        if probe.returncode == 0:
            return process.pid
        time.sleep(0.5)
    _stop_dockerd(process.pid)
    tail = (directory / "dockerd.log").read_text(errors="replace")[-3000:]
    pytest.fail(f"dockerd did not come up within 60 s:\n{tail}", pytrace=False)


def _stop_dockerd(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if finished:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _remove(directory: Path) -> None:
    """Unmount whatever dockerd left mounted under ``directory``, then delete it."""
    prefix = f"{directory}/"
    with Path("/proc/self/mounts").open() as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)


def _timed(label: str, engine: DockerEngine, *args: str) -> None:
    start = time.monotonic()
    engine.docker(*args, timeout=900)
    MEASUREMENTS[label] = f"{time.monotonic() - start:.1f} s"


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    dockerd, docker, compose, base = _requirements()
    directory = Path(tempfile.mkdtemp(prefix="ignition-stack-dockerd-"))
    env = {**os.environ, "DOCKER_HOST": f"unix://{directory}/docker.sock", "DOCKER_BUILDKIT": "0"}
    # Settings of the caller's own Docker/Compose use must not leak into the projects.
    for name in ("DOCKER_CONTEXT", "DOCKER_CONFIG", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME",
                 "COMPOSE_PROFILES", "IGNITION_STACK_ADMIN_PASSWORD_FILE",
                 "IGNITION_STACK_MQTT_PASSWORD_FILE"):  # fmt: skip
        env.pop(name, None)
    try:
        pid = _start_dockerd(dockerd, directory, env, docker)
    except BaseException:
        _remove(directory)
        raise
    engine = DockerEngine(directory, docker, compose, DEFAULT_IMAGE, env, pid)
    try:
        base_tag = f"ignition-stack-test/base:{base.stem}"
        _timed("docker import of the base image", engine, "import", str(base), base_tag)
        _timed(
            "docker build of the gateway stand-in",
            engine,
            "build",
            "--network=none",
            f"--build-arg=BASE_IMAGE={base_tag}",
            f"--build-arg=IGNITION_VERSION={DEFAULT_IMAGE.rpartition(':')[2]}",
            f"--build-arg=STANDIN_TIME_SCALE={TIME_SCALE}",
            f"--tag={DEFAULT_IMAGE}",
            str(STANDIN),
        )
        yield engine
    finally:
        engine.clean()
        _stop_dockerd(pid)
        _remove(directory)


@pytest.fixture
def docker(docker_engine: DockerEngine) -> Iterator[DockerEngine]:
    """The session's engine; the test fails if it leaves containers, volumes or networks."""
    docker_engine.clean()
    yield docker_engine
    left = docker_engine.leftovers()
    docker_engine.clean()
    if left:
        pytest.fail(f"the test left {', '.join(left)} behind", pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASUREMENTS:
        terminalreporter.section("Docker engine timings")
        for label, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{label}: {value}")
