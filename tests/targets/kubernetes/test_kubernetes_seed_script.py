"""The init container, run for real: the scripts and redundancy.xml taken from the emitted
ConfigMaps, the environment taken from the emitted init container, and temporary directories
standing in for the image's data/, the data volume and the mounted configuration volume; with
``transport: ssl`` also for the mounted certificate and keystore-password Secrets, holding a
PKCS12 keystore made with the machine's keytool the way cert-manager makes one (alias
``certificate``, the key's chain up to the stack CA, the user's password).

As in the pod, the script runs as uid 2003, not root (with ``setpriv`` when the tests run as
root), over a volume that fsGroup has given to gid 2003 and read-only mounts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from emitter import image
from emitter.targets.kubernetes import certificates

from ...support.validators import missing_tool
from ...test_gateway_network_pki import entries, keytool
from .emitted import Emitted, build, container, environment

PAIRING_KEYS = (
    "redundancy.noderole",
    "redundancy.gan.host",
    "redundancy.gan.port",
    "redundancy.gan.enableSsl",
)
SETPRIV = shutil.which("setpriv")
GAN = Path("config/local/ignition/gateway-network")
METRO_KEYSTORE = GAN / "keystore" / "metro-keystore.pfx"
TRUSTED_CA = tuple(
    GAN / side / "security/pki/trusted/certs/ignition-stack-ca.crt" for side in ("server", "client")
)
# Not Ignition's "metro": the installer must read it from the mounted password file.
KEYSTORE_PASSWORD = "from-the-user-secret"


@dataclass(frozen=True)
class CertificateSecret:
    """What cert-manager's Secret and the user's password Secret hold, as files."""

    ca: Path  # ca.crt
    keystore: Path  # keystore.p12
    password: Path  # the password Secret's key `password`


def issue(directory: Path, common_name: str, dns_names: list[str]) -> CertificateSecret:
    """A stack CA and one CA-signed keystore, the way cert-manager issues them: a PKCS12 keystore
    whose only entry is the private key under alias ``certificate`` with its chain (leaf, CA),
    encrypted with the password of the user's Secret (a file ending in a newline)."""
    directory.mkdir(parents=True)
    ca_store, ca, request, signed, chain, keystore, password = (
        directory / name
        for name in ("ca.p12", "ca.crt", "leaf.csr", "leaf.crt", "chain.pem", "keystore.p12", "pw")
    )
    ca_password = "ca-store-password"
    keytool(
        "-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", "3650",
        "-dname", "CN=plant Gateway Network CA", "-ext", "bc:c",
        "-keystore", str(ca_store), "-storetype", "PKCS12", "-storepass", ca_password,
    )  # fmt: skip
    keytool(
        "-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca_store),
        "-storepass", ca_password, "-file", str(ca),
    )  # fmt: skip
    keytool(
        "-genkeypair", "-alias", "certificate", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", f"CN={common_name}", "-keystore", str(keystore), "-storetype", "PKCS12",
        "-storepass", KEYSTORE_PASSWORD,
    )  # fmt: skip
    keytool(
        "-certreq", "-alias", "certificate", "-keystore", str(keystore),
        "-storepass", KEYSTORE_PASSWORD, "-file", str(request),
    )  # fmt: skip
    keytool(
        "-gencert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), "-storepass", ca_password,
        "-infile", str(request), "-outfile", str(signed), "-validity", "90",
        "-ext", "san=" + ",".join(f"dns:{name}" for name in dns_names),
        "-ext", "eku=serverAuth,clientAuth", "-ext", "ku=digitalSignature,keyEncipherment",
    )  # fmt: skip
    chain.write_text(signed.read_text() + ca.read_text())
    keytool(
        "-importcert", "-noprompt", "-alias", "certificate", "-file", str(chain),
        "-keystore", str(keystore), "-storepass", KEYSTORE_PASSWORD,
    )  # fmt: skip
    password.write_text(KEYSTORE_PASSWORD + "\n")
    return CertificateSecret(ca, keystore, password)


def properties(path: Path) -> dict[str, str]:
    return {
        entry.attrib["key"]: entry.text or ""
        for entry in ElementTree.parse(path).getroot().iter("entry")
    }


class Pod:
    """One gateway's init container, with its volumes as temporary directories."""

    def __init__(
        self,
        root: Path,
        emitted: Emitted,
        gateway: str,
        secret: CertificateSecret | None = None,
    ) -> None:
        stateful_set, _ = emitted.stateful_set_of(gateway)
        self.init = container(stateful_set, "seed-data-volume")
        # As the kubelet gives it: the pod index filled in, $(POD_INDEX) expanded.
        self.variables = emitted.pod_environment(gateway, "seed-data-volume")
        volumes = {v["name"]: v for v in stateful_set["spec"]["template"]["spec"]["volumes"]}
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
        # Every script the ConfigMap ships (the seed script runs the certificate installer
        # from beside itself).
        for name, text in scripts.items():
            (self.configuration / name).write_text(text)
            (self.configuration / name).chmod(0o555)
        # The Secret volumes, with exactly the keys the pod template projects into them.
        self.secret_mounts: dict[str, Path] = {}
        if "GAN_KEYSTORE" in self.variables:
            assert secret is not None, "a transport: ssl pod needs its certificate Secret"
            files = {
                certificates.CA_KEY: secret.ca,
                certificates.KEYSTORE_KEY: secret.keystore,
                certificates.PASSWORD_KEY: secret.password,
            }
            mounts = {m["name"]: m["mountPath"] for m in self.init["volumeMounts"]}
            for name in ("gateway-network-certificate", "gateway-network-keystore-password"):
                mounted = root / name
                mounted.mkdir()
                for item in volumes[name]["secret"]["items"]:
                    shutil.copyfile(files[item["key"]], mounted / item["path"])
                self.secret_mounts[mounts[name]] = mounted
        # A pair's per-node files, each pod's picked by its index.
        self.redundancy_source: str | None = None
        nodes = f"{stateful_set['metadata']['name']}-redundancy"
        if nodes in emitted.names("ConfigMap"):
            for name, text in emitted.named("ConfigMap", nodes)["data"].items():
                (self.configuration / name).write_text(text)
                (self.configuration / name).chmod(0o444)
            own = self.variables["NODE_REDUNDANCY_XML"].removeprefix(image.SCRIPTS_DIR + "/")
            self.redundancy_source = (self.configuration / own).read_text()
        self.as_gateway_user = os.geteuid() == 0
        if self.as_gateway_user:
            # fsGroup: the volume belongs to the gateway's group; the mount stays read-only.
            for path in (self.volume, root / "image"):
                shutil.chown(path, image.USER_ID, image.USER_ID)
            for path in (root / "image", *(root / "image").rglob("*")):
                shutil.chown(path, image.USER_ID, image.USER_ID)
            self.configuration.chmod(0o555)
            # Secret volumes: root-owned, readable by the fsGroup through defaultMode 0440.
            for mounted in self.secret_mounts.values():
                for path in mounted.iterdir():
                    shutil.chown(path, 0, image.USER_ID)
                    path.chmod(0o440)
                shutil.chown(mounted, 0, image.USER_ID)
                mounted.chmod(0o550)

    def environment(self) -> dict[str, str]:
        """The init container's environment, with its paths moved into the temporary tree."""
        variables = dict(self.variables)
        moved = {
            "SEED_SOURCE": (image.DATA_DIR, self.image_data),
            "SEED_VOLUME": (image.SEED_MOUNT, self.volume),
        }
        for name, (in_pod, here) in moved.items():
            if name in variables:
                assert variables[name] == in_pod
                variables[name] = str(here)
        if "NODE_REDUNDANCY_XML" in variables:
            variables["NODE_REDUNDANCY_XML"] = variables["NODE_REDUNDANCY_XML"].replace(
                image.SCRIPTS_DIR, str(self.configuration)
            )
        for name in ("GAN_CA_CERT", "GAN_KEYSTORE", "GAN_KEYSTORE_PASSWORD_FILE"):
            if name in variables:
                directory, _, file = variables[name].rpartition("/")
                variables[name] = str(self.secret_mounts[directory] / file)
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


@pytest.fixture(scope="module")
def secret(emitted: Emitted, tmp_path_factory: pytest.TempPathFactory) -> CertificateSecret | None:
    """With ``transport: ssl``, the mounted Secrets' files (one issue serves every pod here)."""
    if not certificates.enabled(emitted.stack):
        return None
    if shutil.which("keytool") is None:
        missing_tool("keytool (Java) is not installed; the ssl init container runs it")
    dns_names = ["backend", "backend-backup", "backend-headless", "*.backend-headless"]
    return issue(tmp_path_factory.mktemp("cert-manager") / "secret", "backend", dns_names)


def test_first_start_seeds_the_volume_and_places_redundancy_xml(
    root: Path, emitted: Emitted, secret: CertificateSecret | None
) -> None:
    pod = Pod(root, emitted, "backend-backup", secret)
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
    root: Path, emitted: Emitted, secret: CertificateSecret | None
) -> None:
    pod = Pod(root, emitted, "backend-backup", secret)
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
    seeded = properties(Path(pod.environment()["NODE_REDUNDANCY_XML"]))
    assert {key: keys[key] for key in PAIRING_KEYS} == {key: seeded[key] for key in PAIRING_KEYS}
    assert keys["redundancy.noderole"] == "Backup"
    assert keys["redundancy.gan.host"] == "backend"
    assert keys["redundancy.systemstateuid"] == "5a94a0e6"
    assert keys["redundancy.standbyactivitylevel"] == "Warm"
    assert (pod.volume / "config" / "resources" / "core" / "config.json").read_text() == "changed\n"
    settled = pod.redundancy.read_text()
    pod.start()
    assert pod.redundancy.read_text() == settled, "a third start changes nothing"


def test_master_is_seeded_as_master(
    root: Path, emitted: Emitted, secret: CertificateSecret | None
) -> None:
    pod = Pod(root, emitted, "backend", secret)
    pod.start()
    keys = properties(pod.redundancy)
    assert keys["redundancy.noderole"] == "Master"
    assert keys["redundancy.gan.host"] == ""


def test_a_tier_pod_is_seeded_without_pairing(
    root: Path, emitted: Emitted, secret: CertificateSecret | None
) -> None:
    pod = Pod(root, emitted, "frontend-0", secret)
    assert "NODE_REDUNDANCY_XML" not in environment(pod.init)
    pod.start()
    assert (pod.volume / "config" / "resources" / "core" / "config.json").exists()
    assert not pod.redundancy.exists()


@pytest.mark.parametrize("gateway", ["backend", "backend-backup", "frontend-0"])
def test_ssl_init_installs_the_stack_ca_and_the_keystore(
    root: Path, emitted: Emitted, secret: CertificateSecret | None, gateway: str
) -> None:
    """The CA lands in both trusted folders, and metro-keystore.pfx holds the keystore's key and
    certificate as ``metro-key``, opening with Ignition's ``metro``; a second start changes
    nothing."""
    pod = Pod(root, emitted, gateway, secret)
    if secret is None:
        assert not {"GAN_CA_CERT", "GAN_KEYSTORE"} & set(environment(pod.init))
        pod.start()
        assert not (pod.volume / GAN).exists()
        return
    result = pod.start()
    assert "entry 'certificate'" in result.stdout
    for trusted in TRUSTED_CA:
        assert (pod.volume / trusted).read_text() == secret.ca.read_text()
    keystore = pod.volume / METRO_KEYSTORE
    installed = entries(keystore, "metro")
    assert [(entry.alias, entry.kind) for entry in installed] == [("metro-key", "PrivateKeyEntry")]
    source = entries(secret.keystore, KEYSTORE_PASSWORD)
    assert [entry.sha256 for entry in installed] == [source[0].sha256]
    chain = keytool("-list", "-v", "-keystore", str(keystore), "-storepass", "metro")
    assert "Certificate chain length: 2" in chain
    assert "Issuer: CN=plant Gateway Network CA" in chain
    # Nothing else of the Secrets is copied into the volume.
    copied = {path.name for path in pod.volume.rglob("*") if path.is_file()}
    assert not {"keystore.p12", "password", "tls.key"} & copied
    if pod.as_gateway_user:
        assert keystore.stat().st_uid == image.USER_ID

    before = {path: path.read_bytes() for path in (keystore, *(pod.volume / t for t in TRUSTED_CA))}
    again = pod.start()
    assert "metro-keystore.pfx up to date" in again.stdout
    assert {path: path.read_bytes() for path in before} == before


def test_an_ignition_8_1_pod_gets_the_8_1_paths(root: Path, tmp_path: Path) -> None:
    """The init container of an 8.1 image, as emitted: the stack CA in data/gateway-network/ and
    the keystore as data/local/metro-keystore (the official chart's 8.1 paths), nothing at 8.3's."""
    if shutil.which("keytool") is None:
        missing_tool("keytool (Java) is not installed; the ssl init container runs it")
    emitted = build(
        "scale-out", "backend", transport="ssl", image="inductiveautomation/ignition:8.1.48"
    )
    dns_names = ["backend", "backend-backup", "backend-headless", "*.backend-headless"]
    secret = issue(tmp_path / "secret", "backend", dns_names)
    pod = Pod(root, emitted, "backend-backup", secret)
    assert environment(pod.init)["GAN_NETWORK_DIR"] == "gateway-network"
    assert environment(pod.init)["GAN_METRO_KEYSTORE"] == "local/metro-keystore"
    result = pod.start()
    assert "installed metro-keystore: entry 'certificate'" in result.stdout, result.stdout
    for side in ("server", "client"):
        trusted = pod.volume / "gateway-network" / side / "security/pki/trusted/certs"
        assert (trusted / "ignition-stack-ca.crt").read_text() == secret.ca.read_text()
    installed = entries(pod.volume / "local" / "metro-keystore", "metro")
    assert [(entry.alias, entry.kind) for entry in installed] == [("metro-key", "PrivateKeyEntry")]
    assert not (pod.volume / GAN).exists()
    assert properties(pod.redundancy)["redundancy.noderole"] == "Backup"
