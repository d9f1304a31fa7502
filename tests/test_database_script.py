"""The gateway's database connection, written for real: the emitted seeding step (Compose
bootstrap environment, Kubernetes init container environment) against temporary directories
standing in for the image's data/ and the gateway's volume, with a password file standing in for
the mounted secret. The resource it writes is checked against the layout of a real exported 8.3
connection (docs/research/around-gateways.md §1.1)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import database
from emitter.pipeline import prepare, render
from emitter.spec import load_stack_file

from .support.cases import stack_file

RESOURCES = "config/resources/external/ignition/database-connection"
# The keys of a real exported 8.3 database connection (research §1.1: thedavidschultz/ignition,
# config/resources/core/ignition/database-connection/kanoaCore/config.json @ bcb21f3 and its
# resource.json @ 722ee59).
EXPORTED_CONFIG_KEYS = {
    "connectURL", "connectionProps", "connectionResetParams", "defaultTransactionLevel",
    "driver", "evictionRate", "evictionTests", "evictionTime", "failoverMode",
    "failoverProfile", "includeSchemaInTableName", "password", "poolInitSize", "poolMaxActive",
    "poolMaxIdle", "poolMaxWait", "poolMinIdle", "slowQueryLogThreshold", "testOnBorrow",
    "testOnReturn", "testWhileIdle", "translator", "username", "validationQuery",
    "validationSleepTime",
}  # fmt: skip
EXPORTED_RESOURCE = {
    "scope": "A",
    "description": "",
    "version": 1,
    "restricted": False,
    "overridable": True,
    "files": ["config.json"],
}
PASSWORD = "p4ss\"word\\with $pecial 'chars'"


def compose_files(case: str) -> dict[str, str]:
    return render(prepare(load_stack_file(stack_file(case))), ("compose",))["compose"].files


class Node:
    """One gateway's seeding step, run with the environment the emitted compose.yaml gives its
    bootstrap (paths mapped into a temporary tree)."""

    def __init__(self, root: Path, files: dict[str, str], gateway: str) -> None:
        self.root = root
        (root / "scripts").mkdir(parents=True)
        for name, text in files.items():
            if name.startswith("scripts/"):
                (root / name).write_text(text)
        image_data = root / "image" / "data"
        image_data.mkdir(parents=True)
        (image_data / "gateway.xml").write_text("<image/>\n")
        self.volume = root / "volume"
        self.volume.mkdir()
        self.password = root / "database-password"
        self.password.write_text(PASSWORD + "\n")
        compose = yaml.safe_load(files["compose.yaml"])
        service = compose["services"][f"{gateway}-bootstrap"]
        self.secrets = service["secrets"]
        self.environment = {
            name: str(value)
            for name, value in service["environment"].items()
            if not name.startswith("ADMIN_PASSWORD")
        }
        self.environment.update(
            SEED_SOURCE=str(image_data),
            SEED_VOLUME=str(self.volume),
            SEED_OWNER=f"{os.getuid()}:{os.getgid()}",
            PATH=os.environ["PATH"],
        )
        if "DATABASE_PASSWORD_FILE" in self.environment:
            self.environment["DATABASE_PASSWORD_FILE"] = str(self.password)
        xml = files.get(f"gateways/{gateway}/redundancy.xml")
        if xml is not None:
            (root / "redundancy.xml").write_text(xml)
            self.environment["NODE_REDUNDANCY_XML"] = str(root / "redundancy.xml")

    def seed(self, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.root / "scripts" / "seed-data-volume.sh")],
            env={**self.environment, **extra},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def connection(self, name: str) -> Path:
        return self.volume / RESOURCES / name


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Node, Node]:
    files = compose_files("basic-redundant-database")
    return Node(tmp_path / "master", files, "gateway"), Node(
        tmp_path / "backup", files, "gateway-backup"
    )


def test_the_master_writes_the_connection_in_the_exported_layout(pair: tuple[Node, Node]) -> None:
    master, _ = pair
    result = master.seed()
    assert result.returncode == 0, result.stdout + result.stderr
    folder = master.connection("postgres")
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", "resource.json"]
    config = read(folder / "config.json")
    assert set(config) == EXPORTED_CONFIG_KEYS
    assert config["connectURL"] == "jdbc:postgresql://postgres:5432/ignition"
    assert (config["driver"], config["translator"]) == ("PostgreSQL", "POSTGRES")
    assert config["username"] == "ignition"
    assert config["password"] == PASSWORD  # quotes, backslash and $ survive as JSON
    resource = read(folder / "resource.json")
    assert {key: resource[key] for key in EXPORTED_RESOURCE} == EXPORTED_RESOURCE
    assert set(resource["attributes"]) == {"uuid", "enabled"}
    assert resource["attributes"]["enabled"] is True
    assert len(resource["attributes"]["uuid"]) == 36
    # Only the gateway's user reads the file that holds the password.
    assert (folder / "config.json").stat().st_mode & 0o077 == 0
    assert "wrote the connection postgres" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


def test_the_backup_writes_nothing(pair: tuple[Node, Node]) -> None:
    _, backup = pair
    # Compose gives the backup's bootstrap neither the connection nor the password.
    assert "DATABASE_CONNECTIONS" not in backup.environment
    assert "database-password" not in backup.secrets
    result = backup.seed()
    assert result.returncode == 0, result.stderr
    assert not (backup.volume / RESOURCES).exists()


def test_a_backup_told_to_write_skips_by_its_redundancy_xml(pair: tuple[Node, Node]) -> None:
    """On Kubernetes both pods of a pair share one template: the backup's step tells itself
    apart by its own redundancy.xml."""
    master, backup = pair
    told = {k: v for k, v in master.environment.items() if k.startswith("DATABASE_")}
    result = backup.seed(**told)
    assert result.returncode == 0, result.stderr
    assert "receives the connections from its master" in result.stdout
    assert not (backup.volume / RESOURCES).exists()


def test_written_once_and_never_overwritten(pair: tuple[Node, Node]) -> None:
    master, _ = pair
    assert master.seed().returncode == 0
    config = master.connection("postgres") / "config.json"
    edited = {**read(config), "connectURL": "jdbc:postgresql://elsewhere:5432/other"}
    config.write_text(json.dumps(edited))
    again = master.seed()
    assert again.returncode == 0, again.stderr
    assert read(config) == edited
    assert "keeping it as it is now" in again.stdout
    # Deleted by the user: not brought back either.
    for path in config.parent.iterdir():
        path.unlink()
    config.parent.rmdir()
    assert master.seed().returncode == 0
    assert not config.parent.exists()


def test_an_existing_connection_of_that_name_is_kept(pair: tuple[Node, Node]) -> None:
    master, _ = pair
    folder = master.connection("postgres")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"mine": true}')
    result = master.seed()
    assert result.returncode == 0, result.stderr
    assert read(folder / "config.json") == {"mine": True}
    assert not (folder / "resource.json").exists()


@pytest.mark.parametrize("content", ["", "\n", "a\tb\n"])
def test_an_empty_or_unwritable_password_stops_the_start(
    pair: tuple[Node, Node], content: str
) -> None:
    master, _ = pair
    master.password.write_text(content)
    result = master.seed()
    assert result.returncode != 0
    assert "database-connection:" in result.stdout
    assert not master.connection("postgres").exists()


def test_a_missing_password_file_stops_the_start(pair: tuple[Node, Node]) -> None:
    master, _ = pair
    master.password.unlink()
    result = master.seed()
    assert result.returncode != 0
    assert "no database password file" in result.stdout


def test_every_connection_of_the_role_is_written(tmp_path: Path) -> None:
    files = compose_files("scale-out-redundant-ssl-database")
    frontend = Node(tmp_path / "frontend", files, "frontend-0")
    frontend.environment = {
        k: v for k, v in frontend.environment.items() if not k.startswith("GAN_")
    }
    assert frontend.seed().returncode == 0
    config = read(frontend.connection("plant") / "config.json")
    assert config["connectURL"] == "jdbc:postgresql://postgres:5432/plant"
    assert config["username"] == "scada"


def test_ignition_8_1_gets_no_connection_file(tmp_path: Path) -> None:
    files = compose_files("basic-database-ignition-8.1")
    node = Node(tmp_path / "gateway", files, "gateway")
    assert not any(name.startswith("DATABASE_") for name in node.environment)
    assert "database-password" not in node.secrets
    assert node.seed().returncode == 0
    assert not (node.volume / RESOURCES).exists()


def _listener() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    return server, server.getsockname()[1]


def test_the_wait_passes_once_the_database_listens(pair: tuple[Node, Node]) -> None:
    master, _ = pair
    server, port = _listener()
    with server:
        result = master.seed(DATABASE_WAIT=f"127.0.0.1:{port}", DATABASE_WAIT_SECONDS="5")
    assert result.returncode == 0, result.stderr
    assert f"the database at 127.0.0.1:{port} accepts connections" in result.stdout


def test_the_wait_gives_up_on_a_closed_port(pair: tuple[Node, Node]) -> None:
    master, _ = pair
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = master.seed(DATABASE_WAIT=f"127.0.0.1:{port}", DATABASE_WAIT_SECONDS="1")
    assert result.returncode != 0
    assert "did not accept connections within 1 s" in result.stdout
    assert not master.connection("postgres").exists()


def test_the_constants_match_the_script() -> None:
    script = (Path(database.__file__).parent / "assets" / database.SCRIPT).read_text()
    assert "DATABASE_WAIT_SECONDS:-600" in script
    assert database.WAIT_SECONDS == 600
