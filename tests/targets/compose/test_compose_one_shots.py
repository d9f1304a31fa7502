"""The Compose one-shot services, played for real as `docker compose up` would run them.

Each one-shot service of an emitted compose file (the SSL PKI, each gateway's bootstrap) is run
with bash: its volumes become temporary directories, its bind mounts the emitted files, and its
environment and entrypoint are rewritten from container paths to those directories. What lands
in each gateway's volume is then checked: the pairing, and with `transport: ssl` the certificates.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import image
from emitter.pipeline import prepare, render
from emitter.spec import StackSpec

from ...test_gateway_network_pki import certificate, entries, sha256_of_pem

TRUSTED = (
    "config/local/ignition/gateway-network/{side}/security/pki/trusted/certs/ignition-stack-ca.crt"
)
KEYSTORE = "config/local/ignition/gateway-network/keystore/metro-keystore.pfx"


def confined(service: dict[str, Any], command: list[str]) -> list[str]:
    """``command`` with the capabilities Docker would leave the service (``cap_drop: [ALL]``
    plus its ``cap_add``) and ``no-new-privileges``, when this runs as root: a step that needs
    more than its service grants fails here as it would in the container."""
    if os.geteuid() != 0 or "ALL" not in service.get("cap_drop", []):
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to play the services' capabilities"
    kept = "".join(f",+{name.lower()}" for name in service.get("cap_add", []))
    options = ["--inh-caps=-all", f"--bounding-set=-all{kept}"]
    if "no-new-privileges:true" in service.get("security_opt", []):
        options.append("--no-new-privs")
    return [setpriv, *options, "--", *command]


class ComposeHost:
    """Stands in for a Docker host: named volumes are directories (a volume's ``subpath`` a
    directory in it); the image's own data/ is a small fake install."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        self.project = root / "project"
        for path, text in files.items():
            target = self.project / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.image_data = root / "image-data"
        (self.image_data / "config" / "resources" / "core").mkdir(parents=True)
        if os.geteuid() == 0:
            # Like the image's: owned by uid 2003, so that copying it with owners and modes
            # takes the capabilities the bootstrap keeps (CHOWN, DAC_OVERRIDE, FOWNER).
            for path in [self.image_data, *self.image_data.rglob("*")]:
                os.chown(path, image.USER_ID, image.USER_ID)
        self.document = yaml.safe_load(files["compose.yaml"])
        # service -> container path -> host directory, of every run
        self.mounts: dict[str, dict[str, Path]] = {}

    def secret(self, name: str) -> Path:
        """The host file of a file secret, as `create` writes it (0600)."""
        path = self.root / "secrets" / name
        if not path.exists():
            path.parent.mkdir(mode=0o700, exist_ok=True)
            path.write_text(f"{name} value\n")
            path.chmod(0o600)
        return path

    def volume(self, name: str) -> Path:
        path = self.root / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def run(self, service_name: str) -> subprocess.CompletedProcess[str]:
        service = self.document["services"][service_name]
        mounts = {image.DATA_DIR: self.image_data}
        for mount in service["volumes"]:
            if mount["type"] == "volume":
                source = self.volume(mount["source"])
                subpath = mount.get("volume", {}).get("subpath")
                if subpath is not None:
                    source = source / subpath
                    # Docker refuses to start a container whose subpath does not exist.
                    assert source.is_dir(), f"{service_name}: no {subpath} in {mount['source']}"
            else:
                source = self.project / mount["source"]
            mounts[mount["target"]] = source
        for secret in service.get("secrets", []):  # a file secret: a bind mount of the file
            mounts[f"/run/secrets/{secret}"] = self.secret(secret)
        self.mounts[service_name] = mounts
        # The container's file system as far as the mounts go, for paths that name a place
        # under several of them (PKI_GATEWAY_DIR's "{gateway}").
        rootfs = self.root / "rootfs" / service_name
        for target, source in mounts.items():
            link = rootfs / target.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(source)

        def host_path(value: str) -> str:
            if "{gateway}" in value:
                return f"{rootfs}{value}"
            for target in sorted(mounts, key=len, reverse=True):
                if value == target or value.startswith(target + "/"):
                    return str(mounts[target]) + value[len(target) :]
            return value

        environment = {key: host_path(str(value)) for key, value in service["environment"].items()}
        environment["PATH"] = os.environ["PATH"]
        command = confined(service, [host_path(part) for part in service["entrypoint"]])
        result = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=False, timeout=900
        )
        assert result.returncode == 0, f"{service_name}:\n{result.stdout}{result.stderr}"
        return result

    def up(self) -> None:
        """One-shots in dependency order: the PKI first, then each bootstrap."""
        services: dict[str, Any] = self.document["services"]
        ordered = sorted(services, key=lambda name: "depends_on" in services[name])
        for name in ordered:
            if services[name].get("restart") == "no":
                self.run(name)


def properties(path: Path) -> dict[str, str]:
    return {e.attrib["key"]: e.text or "" for e in ElementTree.parse(path).getroot().iter("entry")}


def emitted(transport: str, **fields: str) -> dict[str, str]:
    spec = StackSpec.model_validate(
        {
            "name": "plant",
            "architecture": "scale-out",
            "redundant": "backend",
            "transport": transport,
            **fields,
        }
    )
    return render(prepare(spec), ("compose",))["compose"].files


def test_plain_bootstraps_seed_every_gateway(tmp_path: Path) -> None:
    host = ComposeHost(tmp_path, emitted("plain"))
    host.up()
    backup = properties(host.volume("backend-backup-data") / "redundancy.xml")
    assert (
        backup["redundancy.noderole"],
        backup["redundancy.gan.host"],
        backup["redundancy.gan.port"],
    ) == (
        "Backup",
        "backend",
        "8088",
    )
    assert (
        properties(host.volume("backend-data") / "redundancy.xml")["redundancy.noderole"]
        == "Master"
    )
    assert not (host.volume("frontend-0-data") / "redundancy.xml").exists()
    assert not (host.volume("frontend-0-data") / KEYSTORE).exists()
    # The admin password, from the host file (0600, as `create` writes it) to a copy that the
    # gateways' uid alone can read: the volume every gateway mounts at /run/secrets.
    copy = host.volume("gateway-admin-password") / "gateway-admin-password"
    assert copy.read_text() == host.secret("gateway-admin-password").read_text()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o400
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o500
    if os.geteuid() == 0:
        assert {(p.stat().st_uid, p.stat().st_gid) for p in (copy, copy.parent)} == {(2003, 2003)}
    document = host.document["services"]
    for gateway in ("frontend-0", "backend", "backend-backup"):
        mounts = {m["source"]: m for m in document[gateway]["volumes"]}
        assert mounts["gateway-admin-password"]["read_only"] is True
        target = mounts["gateway-admin-password"]["target"]
        assert document[gateway]["environment"]["GATEWAY_ADMIN_PASSWORD_FILE"] == (
            f"{target}/gateway-admin-password"
        )
        # Only the bootstraps are handed the host file.
        assert "secrets" not in document[gateway]
        assert document[f"{gateway}-bootstrap"]["secrets"] == ["gateway-admin-password"]


@pytest.mark.usefixtures("keytool_path")
def test_ssl_one_shots_give_every_gateway_a_ca_signed_keystore(
    tmp_path: Path, openssl_path: str
) -> None:
    files = emitted("ssl")
    host = ComposeHost(tmp_path, files)
    host.up()
    ca_certificate = host.volume("gateway-network-ca") / "ca.crt"
    # What the CA volume holds (its key store and password) appears nowhere else.
    ca_files = {
        path.name for path in host.volume("gateway-network-ca").iterdir() if path.is_file()
    } - {"ca.crt"}
    assert ca_files, "the CA volume holds the CA's key material"
    for gateway in ("frontend-0", "backend", "backend-backup"):
        issued = host.volume(f"{gateway}-certificates")
        assert {p.name for p in issued.rglob("*")}.isdisjoint(ca_files)
    for gateway in ("frontend-0", "backend", "backend-backup"):
        volume = host.volume(f"{gateway}-data")
        for side in ("server", "client"):
            assert (volume / TRUSTED.format(side=side)).read_text() == ca_certificate.read_text()
        keystore = volume / KEYSTORE
        assert [
            entry.alias for entry in entries(keystore, "metro") if entry.kind == "PrivateKeyEntry"
        ] == ["metro-key"]
        leaf = tmp_path / f"{gateway}.pem"
        leaf.write_text(certificate(keystore, "metro"))
        verified = subprocess.run(
            [openssl_path, "verify", "-CAfile", str(ca_certificate), str(leaf)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
        san = subprocess.run(
            [openssl_path, "x509", "-in", str(leaf), "-noout", "-ext", "subjectAltName"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"DNS:{gateway}" in san, "peers dial the Compose service name"
        # The only private key in a gateway's volume is its own, never the CA's.
        keys = [e for e in entries(keystore, "metro") if e.kind == "PrivateKeyEntry"]
        assert [e.sha256 for e in keys] != [sha256_of_pem(ca_certificate)]
        assert {path.name for path in volume.rglob("*")}.isdisjoint(ca_files)
        if os.geteuid() == 0:
            assert {(p.stat().st_uid, p.stat().st_gid) for p in [volume, *volume.rglob("*")]} == {
                (2003, 2003)
            }
    # Each bootstrap mounts its own gateway's certificates volume, and no other: it holds that
    # gateway's keystore and the CA certificate, installed as issued (no keytool run there).
    document = yaml.safe_load(files["compose.yaml"])
    gateways = ("frontend-0", "backend", "backend-backup")
    for gateway in gateways:
        bootstrap = document["services"][f"{gateway}-bootstrap"]
        mounted = {m["source"] for m in bootstrap["volumes"] if m["type"] == "volume"}
        assert {f"{other}-certificates" for other in gateways} & mounted == {
            f"{gateway}-certificates"
        }
        issued = host.volume(f"{gateway}-certificates")
        assert sorted(path.name for path in issued.iterdir()) == ["ca.crt", "keystore.p12"]
        assert bootstrap["environment"]["GAN_KEYSTORE_FORMAT"] == "metro"
        installed = host.volume(f"{gateway}-data") / KEYSTORE
        assert installed.read_bytes() == (issued / "keystore.p12").read_bytes()
    backup = properties(host.volume("backend-backup-data") / "redundancy.xml")
    assert (backup["redundancy.gan.port"], backup["redundancy.gan.enableSsl"]) == ("8060", "true")
    environment = yaml.safe_load(files["compose.yaml"])["services"]["backend-backup"]["environment"]
    assert (
        environment["GATEWAY_NETWORK_REQUIRESSL"]
        == environment["GATEWAY_NETWORK_REQUIRETWOWAYAUTH"]
        == "true"
    )
    assert (environment["GATEWAY_NETWORK_0_PORT"], environment["GATEWAY_NETWORK_0_ENABLESSL"]) == (
        "8060",
        "true",
    )
    # A second `up` changes no byte in any gateway volume.
    before = {p: p.read_bytes() for p in (tmp_path / "volumes").rglob("*") if p.is_file()}
    host.up()
    after = {p: p.read_bytes() for p in (tmp_path / "volumes").rglob("*") if p.is_file()}
    assert before == after


@pytest.mark.usefixtures("keytool_path", "openssl_path")
def test_an_ignition_8_1_stack_gets_the_8_1_paths(tmp_path: Path) -> None:
    """The same one-shots for an 8.1 image: the certificates land where 8.1 reads them (the
    official Helm chart's 8.1 paths), and nothing where 8.3 would."""
    files = emitted("ssl", image="inductiveautomation/ignition:8.1.48")
    host = ComposeHost(tmp_path, files)
    host.up()
    ca_certificate = host.volume("gateway-network-ca") / "ca.crt"
    for gateway in ("frontend-0", "backend", "backend-backup"):
        volume = host.volume(f"{gateway}-data")
        for side in ("server", "client"):
            trusted = volume / f"gateway-network/{side}/security/pki/trusted/certs"
            assert (trusted / "ignition-stack-ca.crt").read_text() == ca_certificate.read_text()
        issued = host.volume(f"{gateway}-certificates") / "keystore.p12"
        assert (volume / "local" / "metro-keystore").read_bytes() == issued.read_bytes()
        assert not (volume / KEYSTORE).exists()
        assert not (volume / "config" / "local").exists()
