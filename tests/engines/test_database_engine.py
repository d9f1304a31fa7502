"""The database on the Compose target, on a real Docker engine: a created project with
`database:` comes up as `docker compose up --wait` brings it up for a user, with a stand-in of
the postgres image (tests/standin/postgres/: it starts the way the official entrypoint does,
as root reading the password secret file, then as its own user) and the gateway stand-in.

What it shows: the database starts with the capabilities the compose file leaves it (the host
password file belongs to another user with mode 0600); the connected gateways start only once
its health check passes; the master's bootstrap writes the connection with the password of the
project's secret file and the backup's writes none; the database publishes no port.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ..conftest import Result
from ..support.cases import stack_file
from .docker import DockerEngine
from .test_compose_engine import down, gateways, services, up_wait

pytestmark = pytest.mark.docker_engine

STANDIN = Path(__file__).resolve().parents[1] / "standin" / "postgres"
CONNECTION = "/usr/local/bin/ignition/data/config/resources/external/ignition/database-connection"
# A uid that is neither root nor the stand-in's postgres (999) nor the gateway's (2003).
HOST_USER = 4242
# Seconds the stand-in takes to turn ready (its STANDIN_STARTUP default).
STARTUP = 6


def build_standin(docker: DockerEngine, image: str) -> None:
    bases = docker.docker(
        "images", "--format", "{{.Repository}}:{{.Tag}}", "ignition-stack-test/base"
    ).stdout.split()
    assert bases, "the session's base image is missing"
    docker.docker(
        "build", "--network=none", f"--build-arg=BASE_IMAGE={bases[0]}", f"--tag={image}",
        str(STANDIN), timeout=600,
    )  # fmt: skip


def _time(value: str) -> datetime:
    # Docker's RFC 3339 with nanoseconds; Python takes microseconds.
    head, _, rest = value.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    return datetime.fromisoformat(f"{head}.{fraction or '0'}+00:00")


def test_the_gateways_wait_for_the_database_and_get_its_connection(
    cli: Callable[..., Result], docker: DockerEngine, tmp_path: Path
) -> None:
    case = stack_file("basic-redundant-database")
    created = cli("create", "plant", "-f", str(case), "--no-ci", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    compose = json.loads(
        docker.compose(project, "config", "--format", "json").stdout
    )["services"]  # fmt: skip
    build_standin(docker, compose["postgres"]["image"])
    secret = project / "secrets" / "database-password"
    # As a user's file: owned by them, mode 0600; root in the containers reads it only with
    # the capability the compose file keeps (DAC_READ_SEARCH, or the bootstrap's DAC_OVERRIDE).
    os.chown(secret, HOST_USER, HOST_USER)
    password = secret.read_text().strip()
    up_wait(docker, project, "basic-redundant-database")
    try:
        state = services(docker, project)
        assert (state["postgres"]["State"], state["postgres"]["Health"]) == ("running", "healthy")
        container = state["postgres"]["Name"]
        ready = docker.docker(
            "exec", container, "cat", "/var/lib/postgresql/data/ready"
        ).stdout.split()  # fmt: skip
        digest = hashlib.sha256(password.encode()).hexdigest()
        assert ready == ["999", "ignition", "ignition", digest]
        inspect = json.loads(docker.docker("inspect", container).stdout)[0]
        assert not inspect["NetworkSettings"]["Ports"], "the database publishes no port"
        # The stand-in is ready STARTUP seconds after it started (Docker keeps only the last
        # few health results, so the first healthy one may be gone by now).
        ready_at = _time(inspect["State"]["StartedAt"]) + timedelta(seconds=STARTUP)
        containers = gateways(docker, project)
        for name in ("gateway", "gateway-backup"):
            started = json.loads(docker.docker("inspect", containers[name]).stdout)[0]
            assert _time(started["State"]["StartedAt"]) >= ready_at, name
        master = containers["gateway"]
        config = json.loads(
            docker.docker("exec", master, "cat", f"{CONNECTION}/postgres/config.json").stdout
        )
        assert config["password"] == password
        assert config["connectURL"] == "jdbc:postgresql://postgres:5432/ignition"
        listing = docker.docker(
            "exec", containers["gateway-backup"], "ls", f"{CONNECTION}", check=False
        )  # fmt: skip
        assert listing.returncode != 0, "the backup receives the connection by sync only"
        # The gateways reach the database by name on its network.
        reach = docker.docker(
            "exec", master, "bash", "-c", "exec 3<>/dev/tcp/postgres/5432", check=False
        )  # fmt: skip
        assert "Name or service not known" not in reach.stderr, reach.stderr
    finally:
        down(docker, project)
