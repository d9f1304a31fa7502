"""The init container, run for real: the seed script and redundancy.xml taken from the emitted
ConfigMaps, the environment taken from the emitted init container, and temporary directories
standing in for the image's data/, the data volume and the mounted configuration volume.

As in the pod, the script runs as uid 2003, not root (with ``setpriv`` when the tests run as
root), over a volume that fsGroup has given to gid 2003 and a read-only configuration mount.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest

from emitter import image

from .emitted import Emitted, build, container, environment

PAIRING_KEYS = (
    "redundancy.noderole",
    "redundancy.gan.host",
    "redundancy.gan.port",
    "redundancy.gan.enableSsl",
)
SETPRIV = shutil.which("setpriv")


def properties(path: Path) -> dict[str, str]:
    return {
        entry.attrib["key"]: entry.text or ""
        for entry in ElementTree.parse(path).getroot().iter("entry")
    }


class Pod:
    """One gateway's init container, with its volumes as temporary directories."""

    def __init__(self, root: Path, emitted: Emitted, gateway: str) -> None:
        stateful_set, _ = emitted.stateful_set_of(gateway)
        self.init = container(stateful_set, "seed-data-volume")
        scripts = emitted.named("ConfigMap", f"{emitted.stack.name}-scripts")["data"]
        self.image_data = root / "image" / "data"
        (self.image_data / "config" / "resources" / "core").mkdir(parents=True)
        (self.image_data / "config" / "resources" / "core" / "config.json").write_text("{}\n")
        (self.image_data / ".uuid-template").write_text("image\n")
        self.volume = root / "volume"
        self.volume.mkdir()
        # The projected configuration volume, as the pod sees it at image.SCRIPTS_DIR.
        self.configuration = root / "configuration"
        self.configuration.mkdir()
        (self.configuration / image.SEED_SCRIPT).write_text(scripts[image.SEED_SCRIPT])
        (self.configuration / image.SEED_SCRIPT).chmod(0o555)
        self.redundancy_source: str | None = None
        if f"{gateway}-redundancy" in emitted.names("ConfigMap"):
            self.redundancy_source = emitted.named("ConfigMap", f"{gateway}-redundancy")["data"][
                image.REDUNDANCY_FILE
            ]
            (self.configuration / image.REDUNDANCY_FILE).write_text(self.redundancy_source)
            (self.configuration / image.REDUNDANCY_FILE).chmod(0o444)
        self.as_gateway_user = os.geteuid() == 0
        if self.as_gateway_user:
            # fsGroup: the volume belongs to the gateway's group; the mount stays read-only.
            for path in (self.volume, root / "image"):
                shutil.chown(path, image.USER_ID, image.USER_ID)
            for path in (root / "image", *(root / "image").rglob("*")):
                shutil.chown(path, image.USER_ID, image.USER_ID)
            self.configuration.chmod(0o555)

    def environment(self) -> dict[str, str]:
        """The init container's environment, with its paths moved into the temporary tree."""
        variables = environment(self.init)
        moved = {
            "SEED_SOURCE": (image.DATA_DIR, self.image_data),
            "SEED_VOLUME": (image.SEED_MOUNT, self.volume),
            "SEED_REDUNDANCY_XML": (
                f"{image.SCRIPTS_DIR}/{image.REDUNDANCY_FILE}",
                self.configuration / image.REDUNDANCY_FILE,
            ),
        }
        for name, (in_pod, here) in moved.items():
            if name in variables:
                assert variables[name] == in_pod
                variables[name] = str(here)
        return {"PATH": os.environ["PATH"], **variables}

    def start(self) -> subprocess.CompletedProcess[str]:
        command = self.init["command"]
        assert command == ["/bin/bash", f"{image.SCRIPTS_DIR}/{image.SEED_SCRIPT}"]
        argv = ["bash", str(self.configuration / image.SEED_SCRIPT)]
        if self.as_gateway_user:
            if SETPRIV is None:
                pytest.skip("setpriv is needed to run the init container's script as uid 2003")
            argv = [
                SETPRIV,
                f"--reuid={image.USER_ID}",
                f"--regid={image.USER_ID}",
                "--clear-groups",
                *argv,
            ]
        result = subprocess.run(
            argv, env=self.environment(), capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    @property
    def redundancy(self) -> Path:
        return self.volume / image.REDUNDANCY_FILE


@pytest.fixture
def root() -> Iterator[Path]:
    """A scratch directory the gateway's uid can reach (pytest's own is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="ignition-stack-pod-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


@pytest.fixture(scope="module", params=["plain", "ssl"])
def emitted(request: pytest.FixtureRequest) -> Emitted:
    return build("scale-out", "backend", transport=request.param)


def test_first_start_seeds_the_volume_and_places_redundancy_xml(
    root: Path, emitted: Emitted
) -> None:
    pod = Pod(root, emitted, "backend-backup")
    result = pod.start()
    assert (pod.volume / "config" / "resources" / "core" / "config.json").read_text() == "{}\n"
    assert (pod.volume / ".uuid-template").exists()
    assert (pod.volume / ".ignition-stack-seeded").exists()
    assert pod.redundancy.read_text() == pod.redundancy_source
    keys = properties(pod.redundancy)
    port = str(emitted.stack.gateway_network.port)
    ssl = "true" if emitted.stack.gateway_network.require_ssl else "false"
    assert [keys[key] for key in PAIRING_KEYS] == ["Backup", "backend", port, ssl]
    assert "placed redundancy.xml (Backup)" in result.stdout
    if pod.as_gateway_user:
        # No chown as a non-root user: what fsGroup gave the volume stays.
        assert pod.volume.stat().st_uid == image.USER_ID


def test_later_start_reasserts_the_pairing_keys_and_keeps_the_gateways_own(
    root: Path, emitted: Emitted
) -> None:
    pod = Pod(root, emitted, "backend-backup")
    pod.start()
    text = pod.redundancy.read_text()
    # The gateway rewrote the file: the pairing lost, a setting changed, a key of its own added.
    text = text.replace(">Backup<", ">Independent<")
    text = text.replace('"redundancy.gan.host">backend<', '"redundancy.gan.host"><')
    text = text.replace('"redundancy.gan.port">', '"redundancy.gan.port">1')
    text = text.replace(
        '"redundancy.standbyactivitylevel">Cold<', '"redundancy.standbyactivitylevel">Warm<'
    )
    text = text.replace(
        "</properties>", '<entry key="redundancy.systemstateuid">5a94a0e6</entry>\n</properties>'
    )
    pod.redundancy.write_text(text)
    (pod.volume / "config" / "resources" / "core" / "config.json").write_text("changed\n")
    before = properties(pod.redundancy)
    assert before["redundancy.noderole"] == "Independent"

    pod.start()
    keys = properties(pod.redundancy)
    seeded = properties(pod.configuration / image.REDUNDANCY_FILE)
    assert {key: keys[key] for key in PAIRING_KEYS} == {key: seeded[key] for key in PAIRING_KEYS}
    assert keys["redundancy.noderole"] == "Backup"
    assert keys["redundancy.gan.host"] == "backend"
    assert keys["redundancy.systemstateuid"] == "5a94a0e6"
    assert keys["redundancy.standbyactivitylevel"] == "Warm"
    assert (pod.volume / "config" / "resources" / "core" / "config.json").read_text() == "changed\n"
    settled = pod.redundancy.read_text()
    pod.start()
    assert pod.redundancy.read_text() == settled, "a third start changes nothing"


def test_master_is_seeded_as_master(root: Path, emitted: Emitted) -> None:
    pod = Pod(root, emitted, "backend")
    pod.start()
    keys = properties(pod.redundancy)
    assert keys["redundancy.noderole"] == "Master"
    assert keys["redundancy.gan.host"] == ""


def test_a_tier_pod_is_seeded_without_pairing(root: Path, emitted: Emitted) -> None:
    pod = Pod(root, emitted, "frontend-0")
    assert "SEED_REDUNDANCY_XML" not in environment(pod.init)
    pod.start()
    assert (pod.volume / "config" / "resources" / "core" / "config.json").exists()
    assert not pod.redundancy.exists()
