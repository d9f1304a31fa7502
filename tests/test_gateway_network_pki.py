"""The Gateway Network PKI scripts (``transport: ssl``), run for real with bash, openssl and keytool.

``gateway-network-pki.sh`` (the Compose one-shot) issues a stack CA and one keystore per
gateway into temporary directories standing in for its volumes (the CA's, and one per gateway),
once with each of the tools it can use (openssl, and keytool where the image has no openssl);
``install-gateway-network-certificates.sh`` (the per-gateway seeding step) installs them into a
temporary directory standing in for a gateway's data volume. keytool also reads every keystore
the way the gateway's JVM does. Each keytool call starts a JVM, so the first PKI run per tool
and the first install are shared at module scope; tests that change files work on copies.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from unittest.mock import ANY

import pytest

from emitter import image
from emitter.image import RELEASES
from emitter.ir import DataLayout

ASSETS = Path(str(resources.files("emitter").joinpath("assets")))
PKI_SCRIPT = ASSETS / "gateway-network-pki.sh"
INSTALL_SCRIPT = ASSETS / "install-gateway-network-certificates.sh"
LAYOUT_83 = RELEASES["8.3"].layout
LAYOUT_81 = RELEASES["8.1"].layout
# Ignition 8.3's paths, spelled out: the table must still say what the official Helm chart does.
GAN = Path("config/local/ignition/gateway-network")
KEYSTORE = GAN / "keystore" / "metro-keystore.pfx"
TRUSTED = (
    GAN / "server/security/pki/trusted/certs/ignition-stack-ca.crt",
    GAN / "client/security/pki/trusted/certs/ignition-stack-ca.crt",
)
# Ignition 8.1's (the Helm chart before its 8.3 port, commit 60a5783's removed lines).
KEYSTORE_81 = Path("local/metro-keystore")
TRUSTED_81 = (
    Path("gateway-network/server/security/pki/trusted/certs/ignition-stack-ca.crt"),
    Path("gateway-network/client/security/pki/trusted/certs/ignition-stack-ca.crt"),
)
# English output, and a JVM that starts faster (the scripts use the same options).
KEYTOOL_OPTIONS = (
    "-J-Duser.language=en",
    "-J-Duser.country=US",
    "-J-XX:+IgnoreUnrecognizedVMOptions",
    "-J-XX:TieredStopAtLevel=1",
    "-J-XX:+UseSerialGC",
)
# A redundant pair and a standalone gateway, as `PKI_GATEWAYS` entries.
GATEWAYS = {
    "backend": ["backend", "backend.plant.internal"],
    "backend-backup": ["backend-backup"],
    "frontend": ["frontend", "hmi.example.com"],
}


def gateways_variable(gateways: Mapping[str, list[str]]) -> str:
    return "\n".join(f"{name}={','.join(dns)}" for name, dns in gateways.items())


def keytool(*args: str) -> str:
    result = subprocess.run(
        ["keytool", *KEYTOOL_OPTIONS, *args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"keytool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Entry:
    alias: str
    kind: str
    sha256: str  # of the entry's (first) certificate


def entries(keystore: Path, password: str) -> list[Entry]:
    """The entries of a keystore, from `keytool -list -v`."""
    found: list[Entry] = []
    alias = kind = ""
    for line in keytool("-list", "-v", "-keystore", str(keystore), "-storepass", password).split(
        "\n"
    ):
        if line.startswith("Alias name: "):
            alias, kind = line.removeprefix("Alias name: "), ""
        elif line.startswith("Entry type: "):
            kind = line.removeprefix("Entry type: ")
        elif line.strip().startswith("SHA256: ") and alias:
            found.append(Entry(alias, kind, line.split()[1]))
            alias = ""
    return found


def certificate(keystore: Path, password: str, alias: str = "metro-key") -> str:
    return keytool(
        "-exportcert", "-rfc", "-alias", alias, "-keystore", str(keystore), "-storepass", password
    )


def sha256_of_pem(pem_file: Path) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as keytool prints it (AB:CD:...)."""
    body = pem_file.read_text().split("-----")[2]
    digest = hashlib.sha256(base64.b64decode("".join(body.split()))).hexdigest().upper()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


def run(
    script: Path, environment: Mapping[str, str], *, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(script)],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def snapshot(*roots: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Mode, mtime and content of every file and directory under ROOTS (the roots included)."""
    state: dict[str, tuple[int, int, bytes | None]] = {}
    for root in roots:
        for path in [root, *sorted(root.rglob("*"))]:
            status = path.lstat()
            content = path.read_bytes() if path.is_file() else None
            state[str(path)] = (status.st_mode, status.st_mtime_ns, content)
    return state


def changed(before: Mapping[str, object], after: Mapping[str, object]) -> set[str]:
    """Files (not directories) that are new or differ."""
    return {
        path
        for path, value in after.items()
        if before.get(path) != value and not Path(path).is_dir()
    }


@dataclass
class Pki:
    root: Path
    keytool: str
    tool: str = "openssl"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_certificate(self) -> Path:
        return self.ca_dir / "ca.crt"

    @property
    def issued(self) -> Path:
        """Stands in for the mount points of the gateways' certificates volumes."""
        return self.root / "issued"

    def gateway_dir(self, name: str) -> Path:
        return self.issued / name

    def keystore(self, name: str) -> Path:
        return self.gateway_dir(name) / "keystore.p12"

    def environment(self, gateways: Mapping[str, list[str]] = GATEWAYS) -> dict[str, str]:
        return {
            "PKI_CA_DIR": str(self.ca_dir),
            "PKI_GATEWAY_DIR": f"{self.issued}/{{gateway}}",
            "PKI_STACK": "plant",
            "PKI_GATEWAYS": gateways_variable(gateways),
            "PKI_TOOL": self.tool,
            "KEYTOOL": self.keytool,
        }

    def run(
        self, gateways: Mapping[str, list[str]] = GATEWAYS, **overrides: str
    ) -> subprocess.CompletedProcess[str]:
        return run(PKI_SCRIPT, {**self.environment(gateways), **overrides})

    def copy(self, destination: Path) -> Pki:
        shutil.copytree(self.root, destination, symlinks=True)
        return Pki(destination, self.keytool, self.tool)


@pytest.fixture(scope="module", params=["openssl", "keytool"])
def pki(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keytool_path: str
) -> Pki:
    """One PKI run for GATEWAYS per tool; treat it as read-only (``pki.copy`` to change things)."""
    if request.param == "openssl":
        request.getfixturevalue("openssl_path")
    issued = Pki(tmp_path_factory.mktemp(f"pki-{request.param}"), keytool_path, request.param)
    result = issued.run()
    assert f"issued with {request.param}" in result.stdout, result.stdout
    return issued


@dataclass
class Volume:
    root: Path
    keytool: str
    layout: DataLayout = LAYOUT_83

    def install(
        self, ca: Path, keystore: Path, password_file: Path | None = None, *, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            **self.locations(),
            "GAN_CA_CERT": str(ca),
            "GAN_KEYSTORE": str(keystore),
            "KEYTOOL": self.keytool,
        }
        if password_file is not None:
            environment["GAN_KEYSTORE_PASSWORD_FILE"] = str(password_file)
        return run(INSTALL_SCRIPT, environment, ok=ok)

    def locations(self) -> dict[str, str]:
        """GAN_DATA, and where the release keeps the files: what the seeding step is told."""
        return {"GAN_DATA": str(self.root), **image.gateway_network_locations(self.layout)}

    def copy(self, destination: Path) -> Volume:
        shutil.copytree(self.root, destination, symlinks=True)
        return Volume(destination, self.keytool, self.layout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Volume:
    """The backend gateway's volume after one install from the PKI; read-only like ``pki``."""
    volume = Volume(tmp_path_factory.mktemp("volume"), pki.keytool)
    volume.install(pki.ca_certificate, pki.keystore("backend"))
    return volume


# --- gateway-network-pki.sh -------------------------------------------------------------------


def test_pki_creates_the_ca_and_one_keystore_per_gateway(pki: Pki) -> None:
    ca = pki.ca_certificate.read_text()
    assert ca.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in ca
    # PKI_GATEWAY_DIR alone says where a gateway's files go: nothing else is written there.
    published = {path.relative_to(pki.issued).as_posix() for path in pki.issued.rglob("*")}
    assert published == {
        f"{name}{suffix}" for name in GATEWAYS for suffix in ("", "/keystore.p12", "/ca.crt")
    }
    # Each gateway's directory is all its bootstrap mounts: the CA certificate is in it too.
    for name in GATEWAYS:
        assert (pki.gateway_dir(name) / "ca.crt").read_text() == ca
    # The keystore for root (the bootstrap) only; the CA stays private.
    for path in pki.issued.rglob("*"):
        expected = {"keystore.p12": 0o600, "ca.crt": 0o644}.get(path.name, 0o755)
        assert path.stat().st_mode & 0o777 == expected, path
    assert pki.ca_dir.stat().st_mode & 0o777 == 0o700
    for name in ("ca.p12", "ca.password"):
        assert (pki.ca_dir / name).stat().st_mode & 0o777 == 0o600, name
    ca_entries = entries(pki.ca_dir / "ca.p12", (pki.ca_dir / "ca.password").read_text().strip())
    assert [(entry.alias, entry.kind) for entry in ca_entries] == [("ca", "PrivateKeyEntry")]


def test_each_keystore_is_what_ignition_reads_as_metro_keystore(pki: Pki) -> None:
    """PKCS12, password metro, one entry: the private key metro-key (ignition-facts.md, 5.4),
    so that the bootstrap installs it as it is."""
    for name in GATEWAYS:
        assert [(e.alias, e.kind) for e in entries(pki.keystore(name), "metro")] == [
            ("metro-key", "PrivateKeyEntry")
        ], name
        listing = keytool(
            "-list", "-v", "-keystore", str(pki.keystore(name)), "-storepass", "metro"
        )  # fmt: skip
        assert "Keystore type: PKCS12" in listing
        # The chain carries the CA after the gateway's own certificate.
        assert "Certificate chain length: 2" in listing, listing


def test_certificates_chain_to_the_ca_with_the_dns_names(
    pki: Pki, openssl_path: str, tmp_path: Path
) -> None:
    ca = pki.ca_certificate
    ca_text = subprocess.run(
        [openssl_path, "x509", "-in", str(ca), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Subject: CN = plant Gateway Network CA" in ca_text
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE", ca_text)
    assert "Certificate Sign" in ca_text
    for name, dns_names in GATEWAYS.items():
        leaf = tmp_path / f"{name}.pem"
        leaf.write_text(certificate(pki.keystore(name), "metro"))
        verify = subprocess.run(
            [openssl_path, "verify", "-CAfile", str(ca), str(leaf)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verify.returncode == 0 and verify.stdout.strip() == f"{leaf}: OK", (
            verify.stdout + verify.stderr
        )
        text = subprocess.run(
            [openssl_path, "x509", "-in", str(leaf), "-noout", "-text"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        sans = re.search(r"Subject Alternative Name:\s*\n\s*(.+)", text)
        assert sans is not None and sans.group(1).split(", ") == [f"DNS:{d}" for d in dns_names]
        assert f"Subject: CN = {dns_names[0]}" in text
        assert "Digital Signature, Key Encipherment" in text
        assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
        assert "Public-Key: (2048 bit)" in text


def test_no_ca_private_key_material_is_published(pki: Pki) -> None:
    ca_fingerprint = sha256_of_pem(pki.ca_certificate)
    ca_password = (pki.ca_dir / "ca.password").read_bytes().strip()
    assert len(ca_password) >= 32
    # The check below would see the CA key: in the private directory, it is there.
    assert Entry("ca", "PrivateKeyEntry", ca_fingerprint) in entries(
        pki.ca_dir / "ca.p12", ca_password.decode()
    )
    for path in pki.issued.rglob("*"):
        if not path.is_file():
            continue
        content = path.read_bytes()
        assert b"PRIVATE KEY" not in content, path
        assert ca_password not in content, path
        if path.suffix == ".p12":
            private = [e for e in entries(path, "metro") if e.kind == "PrivateKeyEntry"]
            assert [entry.alias for entry in private] == ["metro-key"], path
            assert private[0].sha256 != ca_fingerprint, path


def test_a_second_pki_run_changes_nothing(pki: Pki, tmp_path: Path) -> None:
    copy = pki.copy(tmp_path / "pki")
    before = snapshot(copy.root)
    result = copy.run()
    assert snapshot(copy.root) == before, "no byte, mtime or mode may change"
    assert result.stdout.count("keystore up to date") == len(GATEWAYS)
    assert ": issued" not in result.stdout


def test_a_gateway_directory_without_the_ca_certificate_gets_it_back(
    pki: Pki, tmp_path: Path
) -> None:
    copy = pki.copy(tmp_path / "pki")
    (copy.gateway_dir("backend") / "ca.crt").unlink()
    before = snapshot(copy.root)
    result = copy.run()
    assert changed(before, snapshot(copy.root)) == {str(copy.gateway_dir("backend") / "ca.crt")}
    assert (copy.gateway_dir("backend") / "ca.crt").read_text() == copy.ca_certificate.read_text()
    assert ": issued" not in result.stdout


def test_adding_a_gateway_issues_only_its_keystore(pki: Pki, tmp_path: Path) -> None:
    copy = pki.copy(tmp_path / "pki")
    before = snapshot(copy.root)
    copy.run({**GATEWAYS, "edge": ["edge"]})
    after = snapshot(copy.root)
    assert changed(before, after) == {
        str(copy.keystore("edge")),
        str(copy.gateway_dir("edge") / "ca.crt"),
        str(copy.ca_dir / "issued" / "edge"),
    }
    assert Entry("metro-key", "PrivateKeyEntry", ANY) in entries(copy.keystore("edge"), "metro")


def test_changed_dns_names_or_near_expiry_reissue_just_that_keystore(
    pki: Pki, tmp_path: Path
) -> None:
    copy = pki.copy(tmp_path / "pki")
    # frontend's certificate now expires in a day (its issue record says when).
    record = copy.ca_dir / "issued" / "frontend"
    soon = int(time.time()) + 86400
    record.write_text(re.sub(r"not_after=\d+", f"not_after={soon}", record.read_text()))
    before = snapshot(copy.root)
    gateways = {**GATEWAYS, "backend-backup": ["backend-backup", "backup.plant.internal"]}
    result = copy.run(gateways)
    assert changed(before, snapshot(copy.root)) == {
        str(copy.keystore("frontend")),
        str(copy.keystore("backend-backup")),
        str(copy.ca_dir / "issued" / "frontend"),
        str(copy.ca_dir / "issued" / "backend-backup"),
    }
    assert "frontend: issued" in result.stdout and "expires within 30 days" in result.stdout
    assert "backend-backup: issued" in result.stdout and "DNS names changed" in result.stdout
    listing = keytool(
        "-list", "-v", "-alias", "metro-key", "-keystore", str(copy.keystore("backend-backup")),
        "-storepass", "metro",
    )  # fmt: skip
    assert "DNSName: backup.plant.internal" in listing


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("Backend=backend", "gateway name 'Backend' in PKI_GATEWAYS is not a DNS-1123 label"),
        ("back_end", "gateway name 'back_end' in PKI_GATEWAYS is not a DNS-1123 label"),
        ("-edge=edge", "gateway name '-edge' in PKI_GATEWAYS is not a DNS-1123 label"),
        ("edge=edge,bad_name", "DNS name 'bad_name' of gateway 'edge' is not a valid"),
        ("edge=", "gateway 'edge' in PKI_GATEWAYS has an empty DNS name"),
        ("edge=a edge=b", "gateway 'edge' is listed twice in PKI_GATEWAYS"),
    ],
)
def test_invalid_gateways_fail_before_anything_is_written(
    tmp_path: Path, keytool_path: str, entry: str, message: str
) -> None:
    environment = {**Pki(tmp_path, keytool_path).environment(), "PKI_GATEWAYS": entry}
    result = run(PKI_SCRIPT, environment, ok=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_pki_missing_variable_or_ca_inside_issued_dir_fails(
    tmp_path: Path, keytool_path: str
) -> None:
    environment = Pki(tmp_path, keytool_path).environment()
    del environment["PKI_GATEWAYS"]
    result = run(PKI_SCRIPT, environment, ok=False)
    assert result.returncode != 0 and "PKI_GATEWAYS is not set" in result.stderr
    environment = {
        **Pki(tmp_path, keytool_path).environment(),
        "PKI_CA_DIR": str(tmp_path / "issued" / "ca"),
    }
    result = run(PKI_SCRIPT, environment, ok=False)
    assert result.returncode != 0 and "the CA key would be published" in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing is written"
    environment["PKI_GATEWAY_DIR"] = str(tmp_path / "issued")
    result = run(PKI_SCRIPT, environment, ok=False)
    assert "PKI_GATEWAY_DIR must be an absolute path with {gateway} in it" in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing is written"


# --- install-gateway-network-certificates.sh ---------------------------------------------------


def test_install_trusts_the_ca_and_places_metro_keystore(pki: Pki, installed: Volume) -> None:
    ca = (pki.ca_certificate).read_text()
    for trusted in TRUSTED:
        assert (installed.root / trusted).read_text() == ca
    keystore = installed.root / KEYSTORE
    assert [(entry.alias, entry.kind) for entry in entries(keystore, "metro")] == [
        ("metro-key", "PrivateKeyEntry")
    ]
    assert certificate(keystore, "metro") == certificate(pki.keystore("backend"), "metro")


def test_install_copies_no_ca_private_key_material(pki: Pki, installed: Volume) -> None:
    ca_fingerprint = sha256_of_pem(pki.ca_certificate)
    ca_password = (pki.ca_dir / "ca.password").read_bytes().strip()
    files = [path for path in installed.root.rglob("*") if path.is_file()]
    assert sorted(path.relative_to(installed.root) for path in files) == sorted(
        [KEYSTORE, *TRUSTED]
    )
    for path in files:
        content = path.read_bytes()
        assert b"PRIVATE KEY" not in content and ca_password not in content, path
    keys = entries(installed.root / KEYSTORE, "metro")
    assert all(entry.sha256 != ca_fingerprint for entry in keys)


def test_a_second_install_changes_nothing(pki: Pki, installed: Volume, tmp_path: Path) -> None:
    volume = installed.copy(tmp_path / "volume")
    before = snapshot(volume.root)
    result = volume.install(pki.ca_certificate, pki.keystore("backend"))
    assert snapshot(volume.root) == before, "no byte, mtime or mode may change"
    assert "metro-keystore.pfx up to date" in result.stdout


def test_install_from_a_cert_manager_style_keystore(
    pki: Pki, installed: Volume, tmp_path: Path
) -> None:
    """A cert-manager Secret's keystore.p12: alias `certificate`, the CA as a trusted entry,
    the user's password (a file ending in a newline)."""
    source = tmp_path / "keystore.p12"
    keytool(
        "-importkeystore", "-noprompt", "-srckeystore", str(pki.keystore("frontend")),
        "-srcstorepass", "metro", "-srcalias", "metro-key", "-destkeystore", str(source),
        "-deststoretype", "PKCS12", "-deststorepass", "from-a-secret", "-destalias", "certificate",
    )  # fmt: skip
    keytool(
        "-importcert", "-noprompt", "-alias", "ca", "-file", str(pki.ca_certificate),
        "-keystore", str(source), "-storepass", "from-a-secret",
    )  # fmt: skip
    password_file = tmp_path / "keystore-password"
    password_file.write_text("from-a-secret\n")
    # Over the backend's volume: the keystore is replaced, the (same) CA files are kept.
    volume = installed.copy(tmp_path / "volume")
    before = snapshot(volume.root)
    result = volume.install(pki.ca_certificate, source, password_file)
    assert "entry 'certificate'" in result.stdout
    assert changed(before, snapshot(volume.root)) == {str(volume.root / KEYSTORE)}
    keystore = volume.root / KEYSTORE
    assert [(entry.alias, entry.kind) for entry in entries(keystore, "metro")] == [
        ("metro-key", "PrivateKeyEntry")
    ]
    assert certificate(keystore, "metro") == certificate(source, "from-a-secret", "certificate")


@pytest.mark.parametrize("missing", ["GAN_CA_CERT", "GAN_KEYSTORE", "GAN_KEYSTORE_PASSWORD_FILE"])
def test_install_with_a_missing_input_file_fails_clearly(
    pki: Pki, tmp_path: Path, missing: str
) -> None:
    volume = Volume(tmp_path / "volume", pki.keytool)
    volume.root.mkdir()
    absent = tmp_path / "absent"
    password_file = tmp_path / "password"
    password_file.write_text("metro")
    inputs = {
        "GAN_CA_CERT": pki.ca_certificate,
        "GAN_KEYSTORE": pki.keystore("backend"),
        "GAN_KEYSTORE_PASSWORD_FILE": password_file,
    }
    inputs[missing] = absent
    result = volume.install(
        inputs["GAN_CA_CERT"],
        inputs["GAN_KEYSTORE"],
        inputs["GAN_KEYSTORE_PASSWORD_FILE"],
        ok=False,
    )
    assert result.returncode != 0
    assert f"{missing}:" in result.stderr and f"{absent} not found" in result.stderr
    assert list(volume.root.iterdir()) == [], "nothing is written"


def test_install_with_the_wrong_password_fails_clearly(pki: Pki, tmp_path: Path) -> None:
    volume = Volume(tmp_path / "volume", pki.keytool)
    volume.root.mkdir()
    password_file = tmp_path / "password"
    password_file.write_text("not-the-password")
    result = volume.install(pki.ca_certificate, pki.keystore("backend"), password_file, ok=False)
    assert result.returncode != 0
    assert f"cannot open {pki.keystore('backend')} with the password in {password_file}" in (
        result.stderr
    )
    assert "password was incorrect" in result.stderr
    assert list(volume.root.iterdir()) == [], "nothing is written"


def test_pki_issues_nothing_outside_the_metro_form(pki: Pki, tmp_path: Path) -> None:
    """A keystore whose issue record predates the metro form (or has none) is issued again."""
    copy = pki.copy(tmp_path / "pki")
    record = copy.ca_dir / "issued" / "backend"
    record.write_text(re.sub(r"format=.*\n", "", record.read_text()))
    result = copy.run()
    assert "backend: issued" in result.stdout and "issued in an older form" in result.stdout
    assert result.stdout.count(": issued") == 1


def test_either_tool_continues_what_the_other_started(pki: Pki, tmp_path: Path) -> None:
    """The image decides the tool (openssl when it has it): the same CA volume must serve
    both, and without openssl the script falls back to keytool by itself."""
    copy = pki.copy(tmp_path / "pki")
    other = "keytool" if pki.tool == "openssl" else "openssl"
    environment = {**copy.environment({**GATEWAYS, "edge": ["edge"]}), "PKI_TOOL": other}
    if other == "keytool":  # no PKI_TOOL, no openssl: keytool
        del environment["PKI_TOOL"]
        environment["OPENSSL"] = str(tmp_path / "no-openssl")
    result = run(PKI_SCRIPT, environment)
    assert f"1 keystore(s) issued with {other}" in result.stdout, result.stdout
    assert [(e.alias, e.kind) for e in entries(copy.keystore("edge"), "metro")] == [
        ("metro-key", "PrivateKeyEntry")
    ]
    leaf = tmp_path / "edge.pem"
    leaf.write_text(certificate(copy.keystore("edge"), "metro"))
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(copy.ca_certificate), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_ready_keystore_is_installed_as_it_is_without_keytool(
    pki: Pki, installed: Volume, tmp_path: Path
) -> None:
    """GAN_KEYSTORE_FORMAT=metro (the Compose bootstrap): no JVM starts, and the result is the
    one keytool's import gives."""
    volume = Volume(tmp_path / "volume", str(tmp_path / "no-keytool"))
    volume.root.mkdir()
    environment = {
        **volume.locations(),
        "GAN_CA_CERT": str(pki.gateway_dir("backend") / "ca.crt"),
        "GAN_KEYSTORE": str(pki.keystore("backend")),
        "GAN_KEYSTORE_FORMAT": "metro",
        "KEYTOOL": volume.keytool,
    }
    run(INSTALL_SCRIPT, environment)
    assert (volume.root / KEYSTORE).read_bytes() == pki.keystore("backend").read_bytes()
    assert stat_mode(volume.root / KEYSTORE) == 0o640
    files = sorted(path.relative_to(volume.root) for path in volume.root.rglob("*.*"))
    assert files == sorted([KEYSTORE, *TRUSTED])
    for trusted in TRUSTED:
        assert (volume.root / trusted).read_text() == (installed.root / trusted).read_text()
    assert certificate(volume.root / KEYSTORE, "metro") == certificate(
        installed.root / KEYSTORE, "metro"
    )
    before = snapshot(volume.root)
    result = run(INSTALL_SCRIPT, environment)
    assert snapshot(volume.root) == before, "no byte, mtime or mode may change"
    assert "metro-keystore.pfx up to date" in result.stdout
    result = run(INSTALL_SCRIPT, {**environment, "GAN_KEYSTORE_FORMAT": "pem"}, ok=False)
    assert "GAN_KEYSTORE_FORMAT must be metro or unset" in result.stderr


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# --- the release's layout: every path comes from the environment ---------------------------------


def test_the_table_holds_the_paths_the_tests_spell_out() -> None:
    assert (LAYOUT_83.gateway_network, LAYOUT_83.metro_keystore) == (str(GAN), str(KEYSTORE))
    assert (LAYOUT_81.gateway_network, LAYOUT_81.metro_keystore) == (
        "gateway-network",
        str(KEYSTORE_81),
    )


def test_install_with_the_8_1_layout_writes_the_8_1_paths(pki: Pki, tmp_path: Path) -> None:
    """keytool's import (a cert-manager keystore on Kubernetes) into an Ignition 8.1 volume: the
    CA in data/gateway-network/, the keystore as data/local/metro-keystore, nothing else."""
    volume = Volume(tmp_path / "volume", pki.keytool, LAYOUT_81)
    volume.root.mkdir()
    result = volume.install(pki.ca_certificate, pki.keystore("backend"))
    assert "installed metro-keystore: entry" in result.stdout, result.stdout
    files = sorted(
        path.relative_to(volume.root) for path in volume.root.rglob("*") if path.is_file()
    )
    assert files == sorted([KEYSTORE_81, *TRUSTED_81])
    for trusted in TRUSTED_81:
        assert (volume.root / trusted).read_text() == pki.ca_certificate.read_text()
    keystore = volume.root / KEYSTORE_81
    assert [(entry.alias, entry.kind) for entry in entries(keystore, "metro")] == [
        ("metro-key", "PrivateKeyEntry")
    ]
    assert certificate(keystore, "metro") == certificate(pki.keystore("backend"), "metro")
    assert stat_mode(keystore) == 0o640
    before = snapshot(volume.root)
    again = volume.install(pki.ca_certificate, pki.keystore("backend"))
    assert snapshot(volume.root) == before, "no byte, mtime or mode may change"
    assert "metro-keystore up to date" in again.stdout


def test_a_ready_keystore_lands_at_the_8_1_path(pki: Pki, tmp_path: Path) -> None:
    """The Compose bootstrap's form (GAN_KEYSTORE_FORMAT=metro) into an Ignition 8.1 volume."""
    volume = Volume(tmp_path / "volume", str(tmp_path / "no-keytool"), LAYOUT_81)
    volume.root.mkdir()
    environment = {
        **volume.locations(),
        "GAN_CA_CERT": str(pki.gateway_dir("backend") / "ca.crt"),
        "GAN_KEYSTORE": str(pki.keystore("backend")),
        "GAN_KEYSTORE_FORMAT": "metro",
    }
    run(INSTALL_SCRIPT, environment)
    assert (volume.root / KEYSTORE_81).read_bytes() == pki.keystore("backend").read_bytes()
    files = sorted(
        path.relative_to(volume.root) for path in volume.root.rglob("*") if path.is_file()
    )
    assert files == sorted([KEYSTORE_81, *TRUSTED_81])
    assert not (volume.root / "config").exists()


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("GAN_NETWORK_DIR", None, "GAN_NETWORK_DIR is not set"),
        ("GAN_METRO_KEYSTORE", None, "GAN_METRO_KEYSTORE is not set"),
        (
            "GAN_NETWORK_DIR",
            "/etc/ssl",
            "GAN_NETWORK_DIR must be a plain path relative to GAN_DATA",
        ),
        ("GAN_METRO_KEYSTORE", "../outside", "GAN_METRO_KEYSTORE must be a plain path relative"),
        ("GAN_NETWORK_DIR", "gateway-network/./x", "GAN_NETWORK_DIR must be a plain path"),
    ],
)
def test_release_paths_that_are_missing_or_leave_the_volume_fail_first(
    pki: Pki, tmp_path: Path, variable: str, value: str | None, words: str
) -> None:
    volume = Volume(tmp_path / "volume", pki.keytool, LAYOUT_81)
    volume.root.mkdir()
    environment = {
        **volume.locations(),
        "GAN_CA_CERT": str(pki.ca_certificate),
        "GAN_KEYSTORE": str(pki.keystore("backend")),
        "KEYTOOL": pki.keytool,
    }
    if value is None:
        del environment[variable]
    else:
        environment[variable] = value
    result = run(INSTALL_SCRIPT, environment, ok=False)
    assert result.returncode != 0
    assert words in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == [volume.root] and list(volume.root.iterdir()) == []
