"""The restore of a gateway backup, run for real: the emitted seeding step against temporary
directories standing in for the image's data/ and the gateway's volume, then the emitted start
script with a stand-in for the image's entrypoint.

The stand-in copies what the official image is documented to do with `-r <file.gwbk>`: restore
that backup into data/ on that start (docs/research/gateway-contents.md §2, the Testcontainers
module's `applyGatewayRestore`); a gwbk is a zip that holds the gateway's redundancy.xml at its
root, which a restore brings back (§5, kindling's `GatewayBackup.kt`). It extracts the backup's
redundancy.xml into data/, the one file these tests look at.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec

from .test_scripts import PAIRING_KEYS, properties

FOREIGN = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">
<properties>
<entry key="redundancy.noderole">Independent</entry>
<entry key="redundancy.gan.host">old-plant-master</entry>
<entry key="redundancy.gan.port">8060</entry>
<entry key="redundancy.gan.enableSsl">true</entry>
<entry key="redundancy.backupFailoverTimeout">12345</entry>
</properties>
"""
# The restore stand-in: the entrypoint records its arguments and, given -r, restores the
# backup's redundancy.xml into data/ as the image's restore does.
ENTRYPOINT = """#!/bin/bash
printf '%s\\n' "$@" >> "$OUT/args"
echo --- >> "$OUT/args"
if [ "${1:-}" = -r ]; then
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("redundancy.xml"))' \
    "$2" "$IGNITION_STACK_DATA/redundancy.xml"
fi
"""


def gwbk(path: Path, redundancy: str | None = FOREIGN) -> str:
    """A gwbk-shaped zip (a gateway backup's root: redundancy.xml and the config database)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if redundancy is not None:
            archive.writestr("redundancy.xml", redundancy)
        archive.writestr("db_backup_sqlite.idb", b"config database" * 100)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def emitted(
    sha256: str, architecture: str = "basic", redundant: str | None = "gateway"
) -> dict[str, str]:
    spec = StackSpec(
        name="plant",
        architecture=architecture,  # type: ignore[arg-type]
        redundant=redundant,
        roles={"gateway": {"restore": {"path": "backups/plant.gwbk", "sha256": sha256}}},  # type: ignore[dict-item]
    )
    return render(prepare(spec), ("compose",))["compose"].files


class Node:
    """One gateway: the emitted scripts, a fake image data/, its volume and its bootstrap's
    environment as the emitted compose.yaml gives it (paths mapped to the temporary tree)."""

    def __init__(self, root: Path, files: dict[str, str], gateway: str, backup: Path) -> None:
        self.root = root
        scripts = root / "scripts"
        scripts.mkdir(parents=True)
        for name, text in files.items():
            if name.startswith("scripts/"):
                (root / name).write_text(text)
        self.image_data = root / "image" / "data"
        self.image_data.mkdir(parents=True)
        (self.image_data / "gateway.xml").write_text("<image/>\n")
        self.volume = root / "volume"
        self.volume.mkdir()
        compose = yaml.safe_load(files["compose.yaml"])
        self.environment = {
            name: str(value)
            for name, value in compose["services"][f"{gateway}-bootstrap"]["environment"].items()
            if not name.startswith("ADMIN_PASSWORD")
        }
        self.gateway_environment = compose["services"][gateway]["environment"]
        self.environment.update(
            SEED_SOURCE=str(self.image_data),
            SEED_VOLUME=str(self.volume),
            SEED_OWNER=f"{os.getuid()}:{os.getgid()}",
            PATH=os.environ["PATH"],
        )
        xml = files.get(f"gateways/{gateway}/redundancy.xml")
        if xml is not None:
            (root / "redundancy.xml").write_text(xml)
            self.environment["NODE_REDUNDANCY_XML"] = str(root / "redundancy.xml")
        if "RESTORE_SOURCE" in self.environment:
            self.environment["RESTORE_SOURCE"] = str(backup)

    def seed(self, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.root / "scripts" / "seed-data-volume.sh")],
            env={**self.environment, **extra},
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self) -> list[str]:
        """Run the start script once; the arguments the image's entrypoint got."""
        entrypoint = self.root / "entrypoint.sh"
        entrypoint.write_text(ENTRYPOINT)
        entrypoint.chmod(0o755)
        (self.root / "args").unlink(missing_ok=True)
        variables = {
            "PATH": os.environ["PATH"],
            "OUT": str(self.root),
            "IGNITION_ENTRYPOINT": str(entrypoint),
            "IGNITION_STACK_DATA": str(self.volume),
        }
        if "NODE_REDUNDANCY_XML" in self.environment:
            variables["NODE_REDUNDANCY_XML"] = self.environment["NODE_REDUNDANCY_XML"]
        subprocess.run(
            ["bash", str(self.root / "scripts" / "start-gateway.sh"), "-n", "plant-gateway"],
            env=variables,
            check=True,
            capture_output=True,
        )
        return (self.root / "args").read_text().splitlines()[:-1]

    @property
    def staged(self) -> Path:
        return self.volume / ".ignition-stack-restore.gwbk"


@pytest.fixture
def backup(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "repo" / "backups" / "plant.gwbk"
    return path, gwbk(path)


def pairing(path: Path) -> list[str]:
    keys = properties(path)
    return [keys[key] for key in PAIRING_KEYS]


@pytest.mark.parametrize("tool", ["zip", "python3"])
def test_the_master_restores_once_with_its_own_pairing_keys(
    tmp_path: Path, backup: tuple[Path, str], tool: str
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not on PATH")
    path, sha256 = backup
    files = emitted(sha256)
    master = Node(tmp_path / "master", files, "gateway", path)
    seeded = master.seed(RESTORE_TOOL=tool)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "restore-backup: staged the backup" in seeded.stdout
    assert master.staged.is_file()
    # The staged backup's redundancy.xml already holds this node's keys; the rest is the backup's.
    with zipfile.ZipFile(master.staged) as archive:
        assert archive.read("db_backup_sqlite.idb") == b"config database" * 100
        (tmp_path / "inside.xml").write_bytes(archive.read("redundancy.xml"))
    assert pairing(tmp_path / "inside.xml") == ["Master", "", "8088", "false"]
    assert properties(tmp_path / "inside.xml")["redundancy.backupFailoverTimeout"] == "12345"

    # First start: -r with the staged file; the stand-in restores the backup's redundancy.xml.
    arguments = master.start()
    assert arguments[:2] == ["-r", str(master.volume / ".ignition-stack-restore-given.gwbk")]
    assert arguments[2:] == ["-n", "plant-gateway"]
    assert pairing(master.volume / "redundancy.xml") == ["Master", "", "8088", "false"]

    # Later starts of the seeding step and of the gateway never restore again.
    again = master.seed(RESTORE_TOOL=tool)
    assert again.returncode == 0 and "restore-backup" not in again.stdout
    assert master.start() == ["-n", "plant-gateway"]
    assert not list(master.volume.glob(".ignition-stack-restore*"))
    assert master.start() == ["-n", "plant-gateway"]


def test_without_a_zip_tool_the_start_script_reasserts_the_keys_next_start(
    tmp_path: Path, backup: tuple[Path, str]
) -> None:
    path, sha256 = backup
    master = Node(tmp_path / "master", emitted(sha256), "gateway", path)
    seeded = master.seed(RESTORE_TOOL="none")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "WARNING" in seeded.stdout and "next start" in seeded.stdout
    master.start()
    assert pairing(master.volume / "redundancy.xml")[0] == "Independent", "the backup's, restored"
    master.start()
    assert pairing(master.volume / "redundancy.xml") == ["Master", "", "8088", "false"]


def test_the_backup_never_restores(tmp_path: Path, backup: tuple[Path, str]) -> None:
    path, sha256 = backup
    files = emitted(sha256)
    node = Node(tmp_path / "backup", files, "gateway-backup", path)
    assert not any(name.startswith("RESTORE_") for name in node.environment), "Compose: not told"
    assert node.seed().returncode == 0
    assert not node.staged.exists()
    assert node.start() == ["-n", "plant-gateway"]
    # Told anyway (a Kubernetes pair's pods share one template): its own role stops it.
    other = Node(tmp_path / "told", files, "gateway-backup", path)
    told = other.seed(RESTORE_SOURCE=str(path), RESTORE_SHA256=sha256)
    assert told.returncode == 0, told.stdout + told.stderr
    assert "pair's backup" in told.stdout and not other.staged.exists()


def test_a_volume_holding_data_is_never_restored_into(
    tmp_path: Path, backup: tuple[Path, str]
) -> None:
    path, sha256 = backup
    master = Node(tmp_path / "master", emitted(sha256), "gateway", path)
    (master.volume / "gateway.xml").write_text("<the plant's own/>\n")
    seeded = master.seed()
    assert seeded.returncode == 0
    assert "already holds gateway data; keeping it (no restore)" in seeded.stdout
    assert not master.staged.exists()
    assert master.start() == ["-n", "plant-gateway"]


def test_a_checksum_mismatch_stops_the_start_until_fixed(
    tmp_path: Path, backup: tuple[Path, str]
) -> None:
    path, sha256 = backup
    master = Node(tmp_path / "master", emitted(sha256), "gateway", path)
    path.write_bytes(path.read_bytes() + b"tampered")
    failed = master.seed()
    assert failed.returncode != 0
    assert "checksum mismatch" in failed.stdout and sha256 in failed.stdout
    assert not master.staged.exists()
    assert not list(master.volume.glob(".ignition-stack-restore.*")), "no partial copy left"
    assert not (master.volume / ".ignition-stack-seeded").exists()
    # The right file on the next start: the interrupted first start is redone, with the restore.
    gwbk(path)
    master.environment["RESTORE_SHA256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    fixed = master.seed()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert master.staged.is_file()


def test_a_missing_or_huge_backup_stops_the_start(tmp_path: Path, backup: tuple[Path, str]) -> None:
    path, sha256 = backup
    master = Node(tmp_path / "master", emitted(sha256), "gateway", path)
    huge = master.seed(RESTORE_MAX_BYTES="100")
    assert huge.returncode != 0 and "more than the 100" in huge.stdout
    path.unlink()
    missing = master.seed()
    assert missing.returncode != 0 and "no backup at" in missing.stdout
    assert not master.staged.exists()


def test_a_file_that_is_no_backup_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "repo" / "backups" / "plant.gwbk"
    path.parent.mkdir(parents=True)
    path.write_text("<html>a login page, not a backup</html>\n")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    master = Node(tmp_path / "master", emitted(sha256), "gateway", path)
    failed = master.seed()
    assert failed.returncode != 0 and "not a gateway backup" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    assert not master.staged.exists()


def test_a_single_gateway_restores_without_pairing(
    tmp_path: Path, backup: tuple[Path, str]
) -> None:
    path, sha256 = backup
    node = Node(tmp_path / "single", emitted(sha256, redundant=None), "gateway", path)
    seeded = node.seed()
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert node.staged.read_bytes() == path.read_bytes(), "staged as pinned, untouched"
    assert node.start()[0] == "-r"
    assert node.start() == ["-n", "plant-gateway"]


def test_disabled_reaches_the_master_only(backup: tuple[Path, str]) -> None:
    _, sha256 = backup
    spec = StackSpec(
        name="plant",
        architecture="basic",
        redundant="gateway",
        roles={"gateway": {"restore": {"path": "b.gwbk", "sha256": sha256, "disabled": True}}},  # type: ignore[dict-item]
    )
    compose = yaml.safe_load(render(prepare(spec), ("compose",))["compose"].files["compose.yaml"])
    services = compose["services"]
    assert services["gateway"]["environment"]["GATEWAY_RESTORE_DISABLED"] == "true"
    assert "GATEWAY_RESTORE_DISABLED" not in services["gateway-backup"]["environment"]
    mounts = [v for v in services["gateway-bootstrap"]["volumes"] if v["type"] == "bind"]
    assert {"type": "bind", "source": "../../b.gwbk", "target": "/run/ignition-stack-restore/backup.gwbk",
            "read_only": True, "bind": {"create_host_path": False}} in mounts  # fmt: skip
