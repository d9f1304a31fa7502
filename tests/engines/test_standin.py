"""The Ignition gateway test double itself (tests/standin/gateway.py), without Docker.

The engine tests trust what the stand-in reports, so its rules are pinned here: the arguments
and settings it refuses, the redundancy state it reports over time, the connection policy, and
a real mutual-TLS handshake that fails on an untrusted CA, a missing client certificate or a
wrong host name.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..standin import gateway as standin

BACKUP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">
<properties>
<comment>Redundancy Settings</comment>
<entry key="redundancy.noderole">{role}</entry>
<entry key="redundancy.gan.host">{host}</entry>
<entry key="redundancy.gan.port">{port}</entry>
<entry key="redundancy.gan.enableSsl">{ssl}</entry>
<entry key="redundancy.joinwaittime">30000</entry>
</properties>
"""


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(standin.os.environ):
        if name.startswith(("GATEWAY_", "ACCEPT_", "IGNITION_", "STANDIN_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ACCEPT_IGNITION_EULA", "Y")
    monkeypatch.setenv("GATEWAY_ADMIN_PASSWORD", "secret")
    monkeypatch.setenv("STANDIN_VERSION", "8.3.6")
    return monkeypatch


def test_the_entrypoint_takes_the_gateway_arguments_and_refuses_others() -> None:
    parsed = standin.parse_arguments(
        [
            "-n",
            "plant",
            "-m",
            "1536",
            "-a",
            "host",
            "-h",
            "9088",
            "-s",
            "9043",
            "--",
            "wrapper.java.initmemory=0",
            "-Dignition.config.mode=dev",
        ]
    )
    assert (parsed.name, parsed.heap_mb, parsed.public_http_port) == ("plant", 1536, 9088)
    assert parsed.extra == ["wrapper.java.initmemory=0", "-Dignition.config.mode=dev"]
    for bad, message in (
        (["-x", "1"], "unknown argument '-x'"),
        (["-m", "lots"], "-m expects"),
        (["-n"], "-n needs a value"),
        (["-h", "0"], "-h expects a port"),
        (["--", "plant"], "after -- is not"),
    ):
        with pytest.raises(standin.Refused, match=message):
            standin.parse_arguments(bad)


def test_settings_need_the_eula_and_a_readable_password(environment: pytest.MonkeyPatch) -> None:
    settings = standin.read_settings()
    assert (settings.http_port, settings.gan_port, settings.policy) == (8088, 8060, "ApprovedOnly")
    assert settings.require_ssl and settings.two_way_auth  # the 8.3 defaults
    environment.setenv("GATEWAY_NETWORK_0_HOST", "backend")
    environment.setenv("GATEWAY_NETWORK_0_ENABLESSL", "false")
    environment.setenv("GATEWAY_NETWORK_0_PORT", "8088")
    outgoing = standin.read_settings().outgoing
    assert [(c.host, c.port, c.ssl) for c in outgoing] == [("backend", 8088, False)]
    environment.setenv("GATEWAY_ADMIN_PASSWORD_FILE", "/nonexistent/password")
    with pytest.raises(standin.Refused, match="GATEWAY_ADMIN_PASSWORD_FILE=/nonexistent/password"):
        standin.read_settings()
    environment.setenv("ACCEPT_IGNITION_EULA", "yes")
    with pytest.raises(standin.Refused, match="ACCEPT_IGNITION_EULA must be Y"):
        standin.read_settings()


def test_an_unseeded_volume_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(standin, "DATA", tmp_path)
    with pytest.raises(standin.Refused, match="must be seeded"):
        standin.check_data()
    for name in standin.PRISTINE:
        (tmp_path / name).touch()
    assert all(standin.check_data()["pristine"].values())


def test_the_role_comes_from_redundancy_xml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(standin, "DATA", tmp_path)
    assert standin.read_redundancy().role == "Independent"  # no file
    (tmp_path / "redundancy.xml").write_text(
        BACKUP_XML.format(role="Backup", host="hub", port=8088, ssl="false")
    )
    found = standin.read_redundancy()
    assert (found.role, found.host, found.port, found.enable_ssl) == ("Backup", "hub", 8088, False)
    (tmp_path / "redundancy.xml").write_text("<properties><entry")
    assert standin.read_redundancy().role == "Independent"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_gateway(role: str, clock: Clock, **settings: object) -> standin.Gateway:
    values = standin.read_settings().__dict__ | {"policy": "Unrestricted", "require_ssl": False}
    gateway = standin.Gateway(
        standin.Arguments(name="plant"),
        standin.Settings(**(values | settings)),  # type: ignore[arg-type]
        standin.Redundancy(role=role, host="master", port=8088, enable_ssl=False),
    )
    gateway.clock = clock
    gateway.started = clock.now
    gateway.startup_seconds = 5
    return gateway


@pytest.mark.usefixtures("environment")
def test_a_backup_waits_goes_active_alone_and_stands_down_for_its_master() -> None:
    clock = Clock()
    backup = make_gateway("Backup", clock)
    assert "ContextStatus=STARTING" in backup.gwinfo()
    clock.now += 5
    view = backup.redundancy_view()
    assert (view["RedundantNodeActiveStatus"], view["RedundantState"]) == ("Undecided", "Unknown")
    clock.now += 25  # joinwaittime 30 s since start, no master: it makes itself Active
    assert backup.redundancy_view()["RedundantNodeActiveStatus"] == "Active"
    backup.master_seen, backup.master_version = clock.now, "8.3.6"  # the master appears
    view = backup.redundancy_view()
    assert (view["RedundantNodeActiveStatus"], view["RedundantState"]) == ("Cold", "Good")
    backup.master_version = "8.3.7"
    assert backup.redundancy_view()["RedundantState"] == "Incompatible"
    clock.now += 11  # pings missed, then backupfailovertimeout (10 s): failover
    assert backup.redundancy_view()["RedundantNodeActiveStatus"] == "Active"


@pytest.mark.usefixtures("environment")
def test_a_master_is_good_only_with_a_recent_backup_of_its_version() -> None:
    clock = Clock()
    master = make_gateway("Master", clock)
    clock.now += 5
    assert master.redundancy_view()["RedundantState"] == "Unknown"
    request = {"name": "plant", "role": "Backup", "version": "8.3.6", "purpose": "redundancy"}
    assert master.accept(request, "plain", "")[0] == 200
    assert master.redundancy_view() == {
        "RedundancyStatus": "Master", "RedundantState": "Good", "RedundantNodeActiveStatus": "Active"
    }  # fmt: skip
    clock.now += 11
    assert master.redundancy_view()["RedundantState"] == "Unknown"
    assert master.accept(request | {"version": "8.1.40"}, "plain", "")[0] == 200
    assert master.redundancy_view()["RedundantState"] == "Incompatible"


@pytest.mark.usefixtures("environment")
def test_incoming_links_follow_the_connection_policy() -> None:
    clock = Clock()
    clock.now += 10
    request = {"name": "plant", "role": "Backup", "version": "8.3.6", "purpose": "redundancy"}
    cases = [
        ({"policy": "ApprovedOnly"}, "plain", 403, "awaits approval"),
        ({"policy": "SpecifiedList", "whitelist": ["other"]}, "plain", 403, "WHITELIST"),
        ({"policy": "SpecifiedList", "whitelist": ["plant-backup"]}, "plain", 200, ""),
        ({"require_ssl": True}, "plain", 403, "requires SSL"),
        ({"require_ssl": True}, "ssl", 200, ""),
        ({"allow_incoming": False}, "ssl", 403, "not allowed"),
    ]
    for settings, transport, status, message in cases:
        gateway = make_gateway("Master", clock, **settings)
        gateway.started = 0
        code, answer = gateway.accept(request, transport, "")
        assert (code, message in answer.get("error", "")) == (status, True), settings
    independent = make_gateway("Independent", clock)
    independent.started = 0
    assert independent.accept(request, "plain", "")[0] == 409  # a backup needs a master


# --- a real mutual-TLS handshake -----------------------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def issue(ca: Path, name: str, san: str, directory: Path) -> Path:
    """metro-keystore.pfx (password metro, alias metro-key) for ``name``, signed by ``ca``."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    (directory / f"{name}.ext").write_text(
        f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=directory)  # fmt: skip
    openssl("pkcs12", "-export", "-inkey", f"{name}.key", "-in", f"{name}.crt", "-name",
            "metro-key", "-passout", "pass:metro", "-out", f"{name}.pfx", cwd=directory)  # fmt: skip
    return directory / f"{name}.pfx"


def make_ca(name: str, directory: Path) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-keyout",
            f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:true", cwd=directory)  # fmt: skip


def install(data: Path, keystore: Path | None, trusted: dict[str, Path]) -> None:
    """What the seeding step writes: the 8.3 keystore path and both trust folders."""
    if keystore is not None:
        (data / standin.KEYSTORE).parent.mkdir(parents=True)
        (data / standin.KEYSTORE).write_bytes(keystore.read_bytes())
    for side, ca in trusted.items():
        (data / standin.TRUSTED[side]).mkdir(parents=True)
        (data / standin.TRUSTED[side] / "ca.crt").write_bytes(ca.read_bytes())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, openssl_path: str) -> Path:
    del openssl_path  # only required to be installed
    directory = tmp_path_factory.mktemp("pki")
    for ca in ("stack-ca", "other-ca"):
        make_ca(ca, directory)
    issue(directory / "stack-ca", "master", "DNS:localhost", directory)
    issue(directory / "stack-ca", "backup", "DNS:backup", directory)
    issue(directory / "other-ca", "stranger", "DNS:backup", directory)
    return directory


@pytest.fixture
def master(
    pki: Path, environment: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[standin.Gateway, int]]:
    data = tmp_path / "master"
    install(data, pki / "master.pfx", {"server": pki / "stack-ca.crt"})
    environment.setattr(standin, "DATA", data)
    gateway = make_gateway("Master", Clock(), http_port=0, gan_port=0, require_ssl=True)
    gateway.started = 0
    gateway.tls = standin.load_tls(gateway.settings, tmp_path)
    servers = standin.start(gateway, "127.0.0.1")
    yield gateway, servers[1].server_address[1]
    for server in servers:
        server.shutdown()
        server.server_close()


def dial_as_backup(
    environment: pytest.MonkeyPatch,
    tmp_path: Path,
    keystore: Path | None,
    trusted: Path,
    port: int,
    host: str = "localhost",
) -> dict[str, object]:
    data = tmp_path / "backup"
    install(data, keystore, {"client": trusted})
    environment.setattr(standin, "DATA", data)
    backup = make_gateway("Backup", Clock())
    work = tmp_path / "backup-work"
    work.mkdir()
    backup.tls = standin.load_tls(backup.settings, work)
    return backup.dial(host, port, True, "redundancy")


def test_ssl_pairs_with_certificates_from_one_trusted_ca(
    pki: Path, master: tuple[standin.Gateway, int], environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gateway, port = master
    result = dial_as_backup(environment, tmp_path, pki / "backup.pfx", pki / "stack-ca.crt", port)
    assert result["connected"], result
    assert [p.certificate for p in gateway.incoming.values()] == ["commonName=backup"]
    assert gateway.redundancy_view()["RedundantState"] == "Good"


@pytest.mark.parametrize(
    ("keystore", "trusted", "host", "why"),
    [
        ("backup.pfx", "other-ca.crt", "localhost", "the backup does not trust the master's CA"),
        ("stranger.pfx", "stack-ca.crt", "localhost", "the master does not trust the client CA"),
        (None, "stack-ca.crt", "localhost", "the backup has only a self-signed certificate"),
        ("backup.pfx", "stack-ca.crt", "127.0.0.1", "the master's name is not gan.host"),
    ],
)
def test_ssl_does_not_pair_without_mutual_trust(
    pki: Path,
    master: tuple[standin.Gateway, int],
    environment: pytest.MonkeyPatch,
    tmp_path: Path,
    keystore: str | None,
    trusted: str,
    host: str,
    why: str,
) -> None:
    gateway, port = master
    result = dial_as_backup(
        environment, tmp_path, pki / keystore if keystore else None, pki / trusted, port, host
    )
    assert not result["connected"], why
    assert gateway.redundancy_view()["RedundantState"] == "Unknown", why


def test_ssl_requires_a_client_certificate(pki: Path, master: tuple[standin.Gateway, int]) -> None:
    """Two-way auth: a client that trusts the master but shows no certificate gets nowhere."""
    gateway, port = master
    context = standin.ssl.create_default_context(cafile=str(pki / "stack-ca.crt"))
    connection = standin.http.client.HTTPSConnection("localhost", port, timeout=5, context=context)
    with pytest.raises((OSError, standin.http.client.HTTPException)):
        connection.request("POST", standin.LINK_PATH, "{}")
        connection.getresponse()
    connection.close()
    assert gateway.incoming == {}
