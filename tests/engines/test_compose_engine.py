"""The Compose target on a real Docker engine, with a test double of the Ignition gateway.

Each created project runs as `docker compose up --wait` would run it for a user: the PKI
one-shot, the bootstrap (seeding) services, secrets, health checks. The stand-in gateway
(tests/standin/) reports what it found: the seeded volume, the 8.3 keystore and trust folders,
and whether its redundancy link to the master formed over the configured transport (a real TLS
handshake for SSL). `docker compose down -v` must then leave nothing behind.

The pair-health cases at the end state what the gateways' health checks must mean: a backup
that never paired, or a master that lost its role, is not healthy, and a restarted backup's
pairing keys are re-asserted.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..conftest import Result
from .docker import MEASUREMENTS, DockerEngine

pytestmark = pytest.mark.docker_engine

DATA = "/usr/local/bin/ignition/data"
KEYSTORE = "config/local/ignition/gateway-network/keystore/metro-keystore.pfx"
# Long enough for the stand-in's scaled startup and joinwaittime plus two health-check
# intervals (the generated healthcheck runs every 10 s).
SETTLE_SECONDS = 25


@dataclass(frozen=True)
class Case:
    arch: str
    role: str  # the redundant role: the master's name; the backup is <role>-backup
    transport: str
    extra: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.transport}"


CASES = [
    Case(arch, role, transport, extra)
    for arch, role, extra in (
        ("basic", "gateway", ()),
        ("scale-out", "backend", ("--frontends", "1")),
        ("hub-and-spoke", "hub", ("--spokes", "2")),
    )
    for transport in ("plain", "ssl")
]


def create(cli: Callable[..., Result], directory: Path, case: Case) -> Path:
    result = cli(
        "create", "plant", "--arch", case.arch, "--redundant", case.role,
        "--transport", case.transport, *case.extra, "--no-ci", "-o", str(directory),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return directory / "plant"


def services(docker: DockerEngine, project: Path) -> dict[str, dict[str, Any]]:
    """`docker compose ps -a` by service: Name, State, Health, ExitCode."""
    output = docker.compose(project, "ps", "-a", "--format", "json").stdout.strip()
    rows = (
        json.loads(output)
        if output.startswith("[")
        else [json.loads(line) for line in output.splitlines() if line]
    )
    return {row["Service"]: row for row in rows}


def gateways(docker: DockerEngine, project: Path) -> dict[str, str]:
    """Gateway service -> container name, from the generated labels."""
    listing = docker.docker(
        "ps", "-a", "--filter", f"label=com.docker.compose.project={project.name}",
        "--filter", "label=io.ignition-stack.component=gateway",
        "--format", '{{.Label "com.docker.compose.service"}} {{.Names}}',
    ).stdout  # fmt: skip
    return dict(line.split() for line in listing.splitlines() if line.strip())


def report(docker: DockerEngine, container: str) -> dict[str, Any]:
    run = docker.docker("exec", container, "curl", "-fsS", "http://localhost:8088/standin/report")
    return dict(json.loads(run.stdout))


def gwinfo(docker: DockerEngine, container: str) -> dict[str, str]:
    run = docker.docker(
        "exec", container, "curl", "-fsS", "--max-time", "3", "http://localhost:8088/system/gwinfo",
        check=False,
    )  # fmt: skip
    return dict(pair.split("=", 1) for pair in run.stdout.split(";") if "=" in pair)


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    """``check()`` once it passes (its AssertionError otherwise, after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def up_wait(docker: DockerEngine, project: Path, label: str) -> None:
    start = time.monotonic()
    run = docker.compose(project, "up", "--wait", "--wait-timeout", "180", check=False, timeout=300)
    if run.returncode != 0:
        logs = docker.compose(project, "logs", "--no-color", "--tail", "30", check=False).stdout
        docker.compose(project, "down", "-v", "--timeout", "5", check=False)
        pytest.fail(f"`docker compose up --wait` failed:\n{run.stderr}\n{logs}", pytrace=False)
    MEASUREMENTS[f"up --wait {label}"] = f"{time.monotonic() - start:.1f} s"


def down(docker: DockerEngine, project: Path) -> None:
    docker.compose(project, "down", "-v", "--timeout", "10")
    assert docker.leftovers() == [], "docker compose down -v left these behind"


def expected_role(service: str, case: Case) -> str:
    return {case.role: "Master", f"{case.role}-backup": "Backup"}.get(service, "Independent")


def check_gateway(docker: DockerEngine, service: str, container: str, case: Case) -> None:
    found = report(docker, container)
    role = expected_role(service, case)
    assert found["uid"] == 2003, found
    # The bootstrap copied the image's pristine data/ and handed it to 2003:2003.
    assert found["data"]["owner"] == "2003:2003"
    assert found["data"]["not_owned_by_2003"] == []
    assert all(found["data"]["pristine"].values()), found["data"]
    assert found["redundancy"]["role"] == role, found["redundancy"]
    network = found["gateway_network"]
    if case.transport == "ssl":
        # The 8.3 keystore and both trust folders, where the gateway reads them.
        assert network["keystore"] == KEYSTORE
        assert f"DNS:{service}" in network["san"].split(", "), network["san"]
        assert network["trusted"]["server"] and network["trusted"]["client"], network["trusted"]
        assert network["require_ssl"] and network["two_way_auth"]
    for outgoing in network["outgoing"]:
        assert outgoing["ssl"] == (case.transport == "ssl"), outgoing
    eventually(lambda: _connected(docker, container))
    if role == "Backup":
        link = found["redundancy"]["link"]
        assert (link["host"], link["transport"]) == (case.role, case.transport), link
        assert link["port"] == (8060 if case.transport == "ssl" else 8088), link
        assert link["connected"], link
    if role == "Master":
        peers = [p for p in network["incoming"] if p["role"] == "Backup"]
        assert [p["transport"] for p in peers] == [case.transport], network["incoming"]
        if case.transport == "ssl":  # the backup presented its client certificate (two-way)
            assert peers[0]["certificate"] == f"commonName={case.role}-backup", peers


def check_admin_password(docker: DockerEngine, project: Path, container: str) -> None:
    """The admin password reaches the gateway readable by uid 2003 and by no other uid (issue 10);
    on the host, `create` wrote it for its user only."""
    host_file = project / "secrets" / "gateway-admin-password"
    assert host_file.stat().st_mode & 0o777 == 0o600
    found = report(docker, container)["admin_password"]
    assert found == {
        "path": "/run/secrets/gateway-admin-password",
        "owner": "2003:2003",
        "mode": "0400",
        "directory_owner": "2003:2003",
        "directory_mode": "0500",
        "readable": True,
    }, found
    path = found["path"]
    assert docker.docker("exec", container, "cat", path).stdout == host_file.read_text()
    other = docker.docker("exec", "--user", "4242:4242", container, "cat", path, check=False)
    assert other.returncode != 0 and "Permission denied" in other.stderr, other
    # Not even through the image's own group.
    group = docker.docker("exec", "--user", "4242:2003", container, "cat", path, check=False)
    assert group.returncode != 0 and "Permission denied" in group.stderr, group


def check_bootstraps_see_only_their_own_key(
    docker: DockerEngine, project: Path, containers: dict[str, str]
) -> None:
    """Run each gateway's bootstrap service again, looking around instead of seeding: every
    keystore it can see anywhere in its file system is its own gateway's (issue 10)."""
    seen: dict[str, set[str]] = {}
    for service, container in containers.items():
        find = docker.compose(
            project, "run", "--rm", "--no-deps", "--entrypoint", "/bin/sh",
            f"{service}-bootstrap", "-c",
            # Every file system mounted in the container but the kernel's pseudo ones.
            "awk '$3 !~ /^(proc|sysfs|cgroup2?|devpts|mqueue|devtmpfs|tmpfs)$/ {print $2}'"
            " /proc/mounts | while read -r m; do find \"$m\" -xdev"
            " \\( -name '*.p12' -o -name '*.pfx' \\) -type f -exec sha256sum {} +; done",
        ).stdout  # fmt: skip
        seen[service] = {line.split()[0] for line in find.splitlines() if line.strip()}
        own = docker.docker(
            "exec", container, "sha256sum",
            f"{DATA}/config/local/ignition/gateway-network/keystore/metro-keystore.pfx",
        ).stdout.split()[0]  # fmt: skip
        assert seen[service] == {own}, (service, find)
    # ... and no two gateways share one.
    assert len(set().union(*seen.values())) == len(containers)


def _connected(docker: DockerEngine, container: str) -> None:
    outgoing = report(docker, container)["gateway_network"]["outgoing"]
    assert all(c["connected"] for c in outgoing), outgoing


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_created_project_comes_up_paired_and_goes_away(
    case: Case, cli: Callable[..., Result], docker: DockerEngine, tmp_path: Path
) -> None:
    project = create(cli, tmp_path, case)
    up_wait(docker, project, case.id)
    try:
        state = services(docker, project)
        for name, row in state.items():
            if name in gateways(docker, project):
                assert (row["State"], row["Health"]) == ("running", "healthy"), row
            else:  # the PKI service and the bootstrap steps ran once, successfully
                assert (row["State"], row["ExitCode"]) == ("exited", 0), row
        containers = gateways(docker, project)
        assert case.role in containers and f"{case.role}-backup" in containers
        # Each gateway's published HTTP port (stack.yaml http_port) answers on loopback.
        stack = yaml.safe_load((project / "stack.yaml").read_text(encoding="utf-8"))
        ports = {g["name"]: g["http_port"] for g in stack["gateways"]}
        assert set(ports) == set(containers)
        for name, port in ports.items():
            ping = docker.in_network("curl", "-fsS", f"http://127.0.0.1:{port}/StatusPing")
            assert ping.stdout == '{"state":"RUNNING"}', (name, port, ping.stderr)
        for service, container in containers.items():
            check_gateway(docker, service, container, case)
            check_admin_password(docker, project, container)
        if case.transport == "ssl":
            check_bootstraps_see_only_their_own_key(docker, project, containers)
        master = gwinfo(docker, containers[case.role])
        backup = gwinfo(docker, containers[f"{case.role}-backup"])
        assert (master["RedundancyStatus"], master["RedundantNodeActiveStatus"]) == (
            "Master",
            "Active",
        )
        assert master["RedundantState"] == "Good"
        assert backup["RedundancyStatus"] == "Backup" and backup["RedundantState"] == "Good"
        assert backup["RedundantNodeActiveStatus"] in ("Cold", "Warm"), backup
    finally:
        down(docker, project)


# --- pair health: what the gateways' health checks must mean -----------------------------------

PAIR = Case("basic", "gateway", "plain")


def run_once(docker: DockerEngine, project: Path, service: str) -> None:
    """Run one one-shot service (a bootstrap step) to completion."""
    docker.compose(project, "up", "-d", "--no-deps", service)
    container = services(docker, project)[service]["Name"]
    code = docker.docker("wait", container, timeout=120).stdout.strip()
    assert code == "0", docker.docker("logs", container, check=False).stdout


def never_healthy(docker: DockerEngine, container: str, seconds: float) -> str:
    """Watch ``container``'s health for ``seconds``; fail if it ever turns healthy."""
    deadline = time.monotonic() + seconds
    health = ""
    while time.monotonic() < deadline:
        health = docker.docker(
            "inspect", "--format", "{{.State.Health.Status}}", container
        ).stdout.strip()
        if health == "healthy":
            info = gwinfo(docker, container)
            pytest.fail(f"{container} turned healthy while reporting {info}", pytrace=False)
        time.sleep(1)
    return health


def test_a_backup_without_its_master_never_turns_healthy(
    cli: Callable[..., Result], docker: DockerEngine, tmp_path: Path
) -> None:
    project = create(cli, tmp_path, PAIR)
    try:
        run_once(docker, project, "gateway-backup-bootstrap")
        docker.compose(project, "up", "-d", "--no-deps", "gateway-backup")
        backup = gateways(docker, project)["gateway-backup"]
        # The stand-in does what the real backup does after joinwaittime: it makes itself
        # Active with an Unknown redundant state (a split brain once the master comes up).
        eventually(lambda: _assert_fields(docker, backup, RedundantNodeActiveStatus="Active"), 20)
        never_healthy(docker, backup, SETTLE_SECONDS)
        # Its master comes up late: the backup stands down (masterrecoverymode Automatic)
        # and the pair turns healthy.
        up_wait(docker, project, "basic-plain (late master)")
        info = gwinfo(docker, backup)
        assert (info["RedundantNodeActiveStatus"], info["RedundantState"]) == ("Cold", "Good")
    finally:
        down(docker, project)


def test_a_master_whose_role_did_not_take_is_not_healthy(
    cli: Callable[..., Result], docker: DockerEngine, tmp_path: Path
) -> None:
    project = create(cli, tmp_path, PAIR)
    try:
        run_once(docker, project, "gateway-bootstrap")
        # The start script re-asserts the seeded role on every start, so the role can only
        # fail to take in the gateway itself: the stand-in is told to ignore the file.
        override = project / "ignore-redundancy.yaml"
        override.write_text(
            "services:\n  gateway:\n    environment:\n      STANDIN_IGNORE_REDUNDANCY_XML: '1'\n"
        )
        docker.compose(
            project, "-f", "targets/compose/compose.yaml", "-f", override.name,
            "--project-directory", "targets/compose", "up", "-d", "--no-deps", "gateway",
        )  # fmt: skip
        master = gateways(docker, project)["gateway"]
        eventually(lambda: _assert_fields(docker, master, RedundancyStatus="Independent"), 20)
        never_healthy(docker, master, SETTLE_SECONDS)
    finally:
        down(docker, project)


def test_a_restarted_backup_gets_its_pairing_keys_back(
    cli: Callable[..., Result], docker: DockerEngine, tmp_path: Path
) -> None:
    project = create(cli, tmp_path, PAIR)
    up_wait(docker, project, "basic-plain (restart case)")
    try:
        backup = gateways(docker, project)["gateway-backup"]
        role_entry = '<entry key="redundancy.noderole">'
        docker.docker(
            "exec", backup, "sed", "-i", f"s|{role_entry}Backup<|{role_entry}Independent<|",
            f"{DATA}/redundancy.xml",
        )  # fmt: skip
        assert _noderole(docker, backup) == "Independent"
        docker.docker("restart", "--time", "5", backup)
        eventually(lambda: _assert_fields(docker, backup, ContextStatus="RUNNING"), 30)
        role = _noderole(docker, backup)
        assert role == "Backup", f"after a restart data/redundancy.xml still says noderole={role}"
        assert gwinfo(docker, backup)["RedundancyStatus"] == "Backup"
    finally:
        down(docker, project)


def _noderole(docker: DockerEngine, container: str) -> str:
    """redundancy.noderole in the container's data/redundancy.xml."""
    text = docker.docker("exec", container, "cat", f"{DATA}/redundancy.xml").stdout
    found = re.search(r'<entry key="redundancy\.noderole">([^<]*)</entry>', text)
    return found.group(1) if found else "(missing)"


def _assert_fields(docker: DockerEngine, container: str, **expected: str) -> None:
    info = gwinfo(docker, container)
    assert {key: info.get(key) for key in expected} == expected, info


# --- the time-to-running-stack benchmark (benchmarks/compose_up.py) ----------------------------


def test_the_compose_up_benchmark_measures_a_stack(docker: DockerEngine, tmp_path: Path) -> None:
    """One case of benchmarks/compose_up.py on this engine: it must bring the stack up, read
    where the time went, and take it down again (the fixture fails on anything left behind)."""
    import importlib.util
    import shutil
    import sys

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "compose_up.py"
    spec = importlib.util.spec_from_file_location("compose_up", path)
    assert spec is not None and spec.loader is not None
    compose_up = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = compose_up
    spec.loader.exec_module(compose_up)
    tool = shutil.which("ignition-stack") or str(Path(sys.executable).parent / "ignition-stack")
    case = compose_up.Case(4, "ssl")
    result = compose_up.measure(
        case, [tool], docker.compose_binary, docker.docker_binary, docker.env, tmp_path, 180
    )
    assert result.status == "ok", result.reason
    # The PKI, 4 bootstraps and 4 gateways; the one-shots finished before the last gateway
    # started, and everything before the stack was healthy.
    assert result.containers == 9
    assert 0 < result.pki_s <= result.one_shots_done_s <= result.gateways_started_s
    assert result.gateways_started_s < result.up_to_healthy_s
    assert list(tmp_path.iterdir()) == []
