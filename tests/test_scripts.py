"""The shell scripts the targets ship, run for real.

The seeding script runs against temporary directories that stand in for the image's data/
and the gateway's volume; the health script runs against a local HTTP server that answers
like a gateway. Both scripts are taken from the emitted tree, not from the source assets.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec

PAIRING_KEYS = (
    "redundancy.noderole",
    "redundancy.gan.host",
    "redundancy.gan.port",
    "redundancy.gan.enableSsl",
)


def emitted(redundant: str | None = "backend") -> dict[str, str]:
    spec = StackSpec(name="plant", architecture="scale-out", redundant=redundant)  # type: ignore[arg-type]
    return render(prepare(spec), ("compose",))["compose"].files


def properties(path: Path) -> dict[str, str]:
    root = ElementTree.parse(path).getroot()
    assert root.tag == "properties"
    return {entry.attrib["key"]: entry.text or "" for entry in root.iter("entry")}


class Volume:
    """A fake image data/ directory and an empty gateway volume, plus the emitted script."""

    def __init__(self, root: Path, files: dict[str, str], gateway: str | None) -> None:
        self.image_data = root / "image" / "data"
        (self.image_data / "config" / "resources").mkdir(parents=True)
        (self.image_data / "config" / "resources" / "core.json").write_text("{}\n")
        (self.image_data / ".uuid-template").write_text("image\n")
        self.volume = root / "volume"
        self.volume.mkdir()
        self.script = root / "seed-data-volume.sh"
        self.script.write_text(files["scripts/seed-data-volume.sh"])
        # The seed script runs redundancy-keys.sh from beside itself, as both targets ship it.
        (root / "redundancy-keys.sh").write_text(files["scripts/redundancy-keys.sh"])
        self.seed_xml: Path | None = None
        if gateway is not None:
            self.seed_xml = root / "redundancy.xml"
            self.seed_xml.write_text(files[f"gateways/{gateway}/redundancy.xml"])

    def start(self) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": os.environ["PATH"],
            "SEED_SOURCE": str(self.image_data),
            "SEED_VOLUME": str(self.volume),
            "SEED_OWNER": f"{os.getuid()}:{os.getgid()}" if os.geteuid() != 0 else "2003:2003",
        }
        if self.seed_xml is not None:
            environment["NODE_REDUNDANCY_XML"] = str(self.seed_xml)
        result = subprocess.run(
            ["bash", str(self.script)], env=environment, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    @property
    def redundancy(self) -> Path:
        return self.volume / "redundancy.xml"


def test_first_start_seeds_the_volume_and_the_backup_role(tmp_path: Path) -> None:
    files = emitted()
    volume = Volume(tmp_path, files, "backend-backup")
    volume.start()
    assert (volume.volume / "config" / "resources" / "core.json").read_text() == "{}\n"
    assert (volume.volume / ".uuid-template").exists(), "dot files are copied too"
    assert volume.redundancy.read_text() == files["gateways/backend-backup/redundancy.xml"]
    keys = properties(volume.redundancy)
    assert [keys[key] for key in PAIRING_KEYS] == ["Backup", "backend", "8088", "false"]
    if os.geteuid() == 0:
        for path in [volume.volume, *volume.volume.rglob("*")]:
            assert (path.stat().st_uid, path.stat().st_gid) == (2003, 2003), path


def test_master_file_is_a_java_properties_document(tmp_path: Path) -> None:
    text = emitted()["gateways/backend/redundancy.xml"]
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">\n'
    )
    (tmp_path / "r.xml").write_text(text)
    keys = properties(tmp_path / "r.xml")
    assert [keys[key] for key in PAIRING_KEYS] == ["Master", "", "8088", "false"]
    assert keys["redundancy.useActiveUptimeToResolveConflict"] == "false"


def test_later_start_reasserts_pairing_and_keeps_what_the_gateway_wrote(tmp_path: Path) -> None:
    volume = Volume(tmp_path, emitted(), "backend-backup")
    volume.start()
    text = volume.redundancy.read_text()
    # The gateway rewrites the file: bookkeeping keys, a changed setting, and a lost role.
    text = text.replace(
        '<entry key="redundancy.noderole">Backup</entry>',
        '<entry key="redundancy.noderole">Independent</entry>',
    ).replace(
        '<entry key="redundancy.gan.host">backend</entry>', '<entry key="redundancy.gan.host"/>'
    )
    text = text.replace(
        '<entry key="redundancy.standbyactivitylevel">Cold</entry>',
        '<entry key="redundancy.standbyactivitylevel">Warm</entry>',
    ).replace(
        "</properties>", '<entry key="redundancy.systemstateuid">5a94a0e6</entry>\n</properties>'
    )
    volume.redundancy.write_text(text)
    (volume.volume / "config" / "resources" / "core.json").write_text('{"changed": true}\n')
    volume.start()
    keys = properties(volume.redundancy)
    assert [keys[key] for key in PAIRING_KEYS] == ["Backup", "backend", "8088", "false"]
    assert keys["redundancy.systemstateuid"] == "5a94a0e6"
    assert keys["redundancy.standbyactivitylevel"] == "Warm"
    assert (
        volume.volume / "config" / "resources" / "core.json"
    ).read_text() == '{"changed": true}\n', "a seeded volume is never re-copied"
    before = volume.redundancy.read_text()
    volume.start()
    assert volume.redundancy.read_text() == before, "a third start changes nothing"


def test_missing_pairing_key_is_added(tmp_path: Path) -> None:
    volume = Volume(tmp_path, emitted(), "backend-backup")
    volume.start()
    lines = [
        line
        for line in volume.redundancy.read_text().splitlines()
        if "redundancy.gan.port" not in line
    ]
    volume.redundancy.write_text("\n".join(lines) + "\n")
    volume.start()
    assert properties(volume.redundancy)["redundancy.gan.port"] == "8088"


def test_a_node_outside_any_pair_gets_no_pairing(tmp_path: Path) -> None:
    files = emitted(redundant=None)
    assert not any(path.endswith("redundancy.xml") for path in files)
    volume = Volume(tmp_path, files, None)
    volume.start()
    assert not volume.redundancy.exists()
    assert (volume.volume / "config" / "resources" / "core.json").exists()


def test_existing_data_without_marker_is_kept(tmp_path: Path) -> None:
    volume = Volume(tmp_path, emitted(), "backend")
    (volume.volume / "config").mkdir()
    (volume.volume / "config" / "mine.json").write_text("keep\n")
    result = volume.start()
    assert "already holds gateway data" in result.stdout
    assert (volume.volume / "config" / "mine.json").read_text() == "keep\n"
    assert not (volume.volume / "config" / "resources").exists()
    assert properties(volume.redundancy)["redundancy.noderole"] == "Master"


def test_an_interrupted_first_copy_is_redone(tmp_path: Path) -> None:
    volume = Volume(tmp_path, emitted(), "backend")
    (volume.volume / ".ignition-stack-seeding").touch()
    (volume.volume / "config").mkdir()
    volume.start()
    assert (volume.volume / "config" / "resources" / "core.json").exists()
    assert not (volume.volume / ".ignition-stack-seeding").exists()


def test_a_corrupt_redundancy_file_is_replaced_and_kept_aside(tmp_path: Path) -> None:
    volume = Volume(tmp_path, emitted(), "backend-backup")
    volume.start()
    volume.redundancy.write_text("garbage")
    volume.start()
    assert properties(volume.redundancy)["redundancy.noderole"] == "Backup"
    assert (volume.volume / "redundancy.xml.ignition-stack.bak").read_text() == "garbage"
