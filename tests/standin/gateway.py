"""A test double of the Inductive Automation Ignition gateway. It is NOT Ignition.

The real gateway image (``inductiveautomation/ignition``) is proprietary and no registry this
test suite reaches serves it, so the engine tests build this stand-in and tag it with the image
name a stack pins. It models only what a generated stack relies on, each behaviour taken from a
documented source (cited next to it; "facts §N" is the project's research notes,
/work/shared/research/ignition-facts.md, which give the primary sources):

- the image layout: user ``ignition`` 2003:2003, install dir ``/usr/local/bin/ignition`` with a
  pristine ``data/`` (facts §2.3), entrypoint ``/usr/local/bin/docker-entrypoint.sh`` taking
  ``-n/-m/-a/-h/-s/-r`` then ``--`` and wrapper/JVM arguments (facts §2.2);
- the environment variables a stack sets (facts §2.1, §3.1); a bad one stops the gateway;
- ``data/redundancy.xml`` (Java Properties XML) as the only source of the redundancy role
  (facts §1, §4);
- ``/StatusPing`` and ``/system/gwinfo`` on the HTTP port (facts §2.3, §9);
- the redundancy link from backup to master: plain on 8088 or TLS on 8060 with the 8.3
  keystore and trust folders (facts §2.4, §3.3), mutual TLS when two-way auth is required;
- the startup connection allowance (``redundancy.joinwaittime``) after which a backup that has
  no master makes itself Active, and automatic master recovery (IA docs "Setting Up Redundancy",
  https://docs.inductiveautomation.com/docs/8.3/platform/ignition-redundancy/setting-up-redundancy).

What it does not model: the Gateway Network's real wire protocol (a WebSocket protocol), config
sync, modules, licensing. Its link is one JSON request over HTTP or HTTPS that carries what the
real handshake decides on: reachability, TLS trust both ways, the connection policy, the peer's
role and version.

The real gateway takes a minute or more to start and waits 30 s (``joinwaittime``) for its peer.
``STANDIN_TIME_SCALE`` (default 1) multiplies every such delay so tests run in seconds;
``STANDIN_STARTUP_SECONDS`` (default 30, before scaling) is how long ContextStatus stays
STARTING; ``STANDIN_VERSION`` overrides the reported version (to test version skew).

``GET /standin/report`` is the stand-in's own endpoint (the real gateway has none): a JSON
account of what it found, for the tests to assert on.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

INSTALL = Path("/usr/local/bin/ignition")
DATA = INSTALL / "data"
# Ignition 8.3 Gateway Network paths (facts §2.4, from IA-chart commit 60a5783).
GAN = Path("config/local/ignition/gateway-network")
KEYSTORE = GAN / "keystore/metro-keystore.pfx"
TRUSTED = {side: GAN / side / "security/pki/trusted/certs" for side in ("server", "client")}
KEYSTORE_PASSWORD = "metro"  # facts §3.3 / IA-chart install script: password and alias
KEYSTORE_ALIAS = "metro-key"
# Files of the pristine data/ the image ships; their presence shows the volume was seeded.
PRISTINE = ("db", "gateway.xml_clean", "ignition.conf", "logback.xml")
LINK_PATH = "/system/gateway-network/standin-link"


class Refused(Exception):
    """A setting the real gateway would not start with; the message names the fix."""


def log(message: str) -> None:
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} ignition-standin: {message}"
    print(line, flush=True)
    try:
        with (DATA / "logs" / "wrapper.log").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


# --- command line (facts §2.2) ------------------------------------------------------------------


@dataclass
class Arguments:
    name: str = "Ignition-standin"
    heap_mb: int | None = None
    public_address: str | None = None
    public_http_port: int | None = None
    public_https_port: int | None = None
    restore: str | None = None
    extra: list[str] = field(default_factory=list)


def _port(flag: str, value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise Refused(f"{flag} expects a port number, got {value!r}")
    return int(value)


def parse_arguments(argv: list[str]) -> Arguments:
    """The official entrypoint's flags; anything else is refused so emitted arguments are checked."""
    parsed = Arguments()
    index = 0
    while index < len(argv):
        flag = argv[index]
        if flag == "--":
            parsed.extra = argv[index + 1 :]
            break
        if flag not in ("-n", "-m", "-a", "-h", "-s", "-r"):
            raise Refused(f"unknown argument {flag!r} (expected -n -m -a -h -s -r, then --)")
        if index + 1 >= len(argv):
            raise Refused(f"{flag} needs a value")
        value = argv[index + 1]
        if flag == "-n":
            parsed.name = value
        elif flag == "-m":
            if not value.isdigit() or int(value) < 256:
                raise Refused(f"-m expects the max heap in MB (at least 256), got {value!r}")
            parsed.heap_mb = int(value)
        elif flag == "-a":
            parsed.public_address = value
        elif flag == "-h":
            parsed.public_http_port = _port(flag, value)
        elif flag == "-s":
            parsed.public_https_port = _port(flag, value)
        else:
            parsed.restore = value
        index += 2
    for extra in parsed.extra:
        # After `--`: wrapper properties, gateway bootstrap properties, JVM arguments
        # (IA-chart `_helpers.tpl` ignition.gateway.supplementalArgs; facts §2.2).
        if not (extra.startswith(("wrapper.", "gateway.", "-D", "-X")) and len(extra) > 2):
            raise Refused(
                f"argument {extra!r} after -- is not a wrapper/gateway property or JVM option"
            )
    return parsed


# --- environment (facts §2.1, §3.1) -------------------------------------------------------------


def env(name: str, default: str = "") -> str:
    """A variable, or the content of the file its ``_FILE`` variant names (facts §2.1: every
    variable accepts the suffix)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise Refused(
                f"{name}_FILE={path} is not readable by uid {os.getuid()}: {exc.strerror}"
            ) from exc
    return os.environ.get(name, default)


def flag(name: str, default: bool) -> bool:
    value = env(name, "true" if default else "false").lower()
    if value not in ("true", "false"):
        raise Refused(f"{name} must be true or false, got {value!r}")
    return value == "true"


@dataclass
class Outgoing:
    index: int
    host: str
    port: int
    ssl: bool
    connected: bool = False
    detail: str = "not tried yet"


@dataclass
class Settings:
    http_port: int
    gan_port: int
    edition: str
    network_enabled: bool
    require_ssl: bool
    two_way_auth: bool
    allow_incoming: bool
    policy: str
    whitelist: list[str]
    outgoing: list[Outgoing]


def read_settings() -> Settings:
    # The EULA must be accepted or the container does not start (8.3 docker-image page).
    if env("ACCEPT_IGNITION_EULA") != "Y":
        raise Refused("ACCEPT_IGNITION_EULA must be Y (the gateway will not start otherwise)")
    # The admin password is read at first commissioning (8.3 platform environment variables).
    if not env("GATEWAY_ADMIN_PASSWORD"):
        raise Refused(
            "no admin password: set GATEWAY_ADMIN_PASSWORD or GATEWAY_ADMIN_PASSWORD_FILE"
        )
    edition = env("IGNITION_EDITION", "standard")
    if edition not in ("standard", "edge", "maker", "cloud"):
        raise Refused(f"IGNITION_EDITION {edition!r} is not standard, edge, maker or cloud")
    policy = env("GATEWAY_NETWORK_SECURITYPOLICY", "ApprovedOnly")
    if policy not in ("ApprovedOnly", "Unrestricted", "SpecifiedList"):
        raise Refused(
            f"GATEWAY_NETWORK_SECURITYPOLICY {policy!r} is not ApprovedOnly, Unrestricted or SpecifiedList"
        )
    outgoing = []
    index = 0
    while env(f"GATEWAY_NETWORK_{index}_HOST"):
        prefix = f"GATEWAY_NETWORK_{index}_"
        outgoing.append(
            Outgoing(
                index,
                env(prefix + "HOST"),
                _port(prefix + "PORT", env(prefix + "PORT", "8060")),  # default 8060 (§3.1)
                flag(prefix + "ENABLESSL", True),  # default true (§3.1)
            )
        )
        index += 1
    return Settings(
        http_port=_port("GATEWAY_HTTP_PORT", env("GATEWAY_HTTP_PORT", "8088")),
        gan_port=_port("GATEWAY_GAN_PORT", env("GATEWAY_GAN_PORT", "8060")),
        edition=edition,
        network_enabled=flag("GATEWAY_NETWORK_ENABLED", True),
        # 8.3 defaults: requireSSL and two-way auth on (facts §2.4, §3.2).
        require_ssl=flag("GATEWAY_NETWORK_REQUIRESSL", True),
        two_way_auth=flag("GATEWAY_NETWORK_REQUIRETWOWAYAUTH", True),
        allow_incoming=flag("GATEWAY_NETWORK_ALLOWINCOMING", True),
        policy=policy,
        whitelist=[n.strip() for n in env("GATEWAY_NETWORK_WHITELIST").split(",") if n.strip()],
        outgoing=outgoing,
    )


# --- data/ and redundancy.xml (facts §1, §2.3) --------------------------------------------------


def check_data() -> dict[str, Any]:
    """The data volume must hold the image's pristine data/ and be writable by the gateway."""
    missing = [name for name in PRISTINE if not (DATA / name).exists()]
    if missing:
        raise Refused(
            f"{DATA} lacks {', '.join(missing)} from the image's data/: an empty volume must be "
            "seeded from the image before the gateway starts (facts §2.3)"
        )
    try:
        (DATA / "logs").mkdir(exist_ok=True)
        (DATA / "logs" / "wrapper.log").touch()
    except OSError as exc:
        raise Refused(f"{DATA} is not writable by uid {os.getuid()}: {exc.strerror}") from exc
    foreign = [
        str(path.relative_to(DATA))
        for path in [DATA, *DATA.rglob("*")]
        if path.lstat().st_uid != 2003 or path.lstat().st_gid != 2003
    ]
    owner = DATA.stat()
    return {
        "owner": f"{owner.st_uid}:{owner.st_gid}",
        "not_owned_by_2003": sorted(foreign)[:20],
        "pristine": {name: (DATA / name).exists() for name in PRISTINE},
    }


def read_properties(path: Path) -> dict[str, str]:
    """A Java Properties XML file (``Properties.loadFromXML``; facts §1.1)."""
    root = ET.parse(path).getroot()
    if root.tag != "properties":
        raise ValueError(f"root element is <{root.tag}>, not <properties>")
    return {entry.get("key", ""): (entry.text or "") for entry in root.iter("entry")}


@dataclass
class Redundancy:
    role: str = "Independent"  # the default without a file (facts §1.2)
    host: str = ""
    port: int = 8060
    enable_ssl: bool = True
    joinwait_ms: int = 30000
    ping_rate_ms: int = 1000
    ping_max_missed: int = 10
    failover_ms: int = 10000
    recovery: str = "Automatic"
    standby_level: str = "Cold"
    problem: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def read_redundancy() -> Redundancy:
    """Keys and defaults of facts §1.2; read once at start, like the real gateway."""
    path = DATA / "redundancy.xml"
    if os.environ.get("STANDIN_IGNORE_REDUNDANCY_XML") == "1":
        # A test knob, not gateway behaviour: a gateway that does not take the seeded file
        # (an image that reads it from elsewhere) runs Independent, which is what it reports.
        log("STANDIN_IGNORE_REDUNDANCY_XML=1: not reading data/redundancy.xml")
        return Redundancy(problem="ignored (STANDIN_IGNORE_REDUNDANCY_XML)")
    if not path.exists():
        return Redundancy(problem="no data/redundancy.xml")
    try:
        props = read_properties(path)
    except (ET.ParseError, ValueError) as exc:
        log(f"data/redundancy.xml is unreadable ({exc}); running Independent")
        return Redundancy(problem=f"unreadable: {exc}")

    def number(key: str, default: int) -> int:
        value = props.get(key, "") or str(default)
        return int(value) if value.isdigit() else default

    role = props.get("redundancy.noderole", "Independent") or "Independent"
    if role not in ("Independent", "Master", "Backup"):
        log(
            f"redundancy.noderole {role!r} is not Independent, Master or Backup; running Independent"
        )
        role = "Independent"
    return Redundancy(
        role=role,
        host=props.get("redundancy.gan.host", ""),
        port=number("redundancy.gan.port", 8060),
        enable_ssl=props.get("redundancy.gan.enableSsl", "true").lower() != "false",
        joinwait_ms=number("redundancy.joinwaittime", 30000),
        ping_rate_ms=number("redundancy.gan.pingRate", 1000),
        ping_max_missed=number("redundancy.gan.pingMaxMissed", 10),
        failover_ms=number("redundancy.backupfailovertimeout", 10000),
        recovery=props.get("redundancy.masterrecoverymode", "Automatic") or "Automatic",
        standby_level=props.get("redundancy.standbyactivitylevel", "Cold") or "Cold",
        properties=props,
    )


# --- Gateway Network TLS (facts §2.4, §3.3) -----------------------------------------------------


def openssl(*args: str) -> str:
    run = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise Refused(f"openssl {args[0]} failed: {run.stderr.strip()}")
    return run.stdout


@dataclass
class Tls:
    cert: Path
    key: Path
    source: str
    subject: str
    san: str
    trusted: dict[str, list[str]]
    server: ssl.SSLContext | None = None
    client: ssl.SSLContext | None = None


def trusted_pem(side: str) -> tuple[str, list[str]]:
    folder = DATA / TRUSTED[side]
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    text = "".join(p.read_text(encoding="utf-8", errors="replace") + "\n" for p in files)
    return text, [p.name for p in files]


def load_tls(settings: Settings, work: Path) -> Tls:
    """The keystore is read once at start (facts §9). Without one the gateway makes its own
    self-signed certificate, which no peer trusts until someone approves it (facts §3.3)."""
    cert, key = work / "metro.crt", work / "metro.key"
    pfx = DATA / KEYSTORE
    if pfx.exists():
        password = f"pass:{KEYSTORE_PASSWORD}"
        info = openssl("pkcs12", "-in", str(pfx), "-passin", password, "-nokeys", "-info")
        if f"friendlyName: {KEYSTORE_ALIAS}" not in info:
            raise Refused(f"{KEYSTORE} has no entry {KEYSTORE_ALIAS!r}")
        cert.write_text(
            openssl("pkcs12", "-in", str(pfx), "-passin", password, "-nokeys", "-clcerts"),
            encoding="utf-8",
        )
        key.write_text(
            openssl("pkcs12", "-in", str(pfx), "-passin", password, "-nocerts", "-nodes"),
            encoding="utf-8",
        )
        source = str(KEYSTORE)
    else:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                str(key), "-out", str(cert), "-subj", f"/CN={socket.gethostname()}")  # fmt: skip
        source = "self-signed (no metro-keystore.pfx)"
    subject = openssl("x509", "-in", str(cert), "-noout", "-subject").strip()
    san = openssl("x509", "-in", str(cert), "-noout", "-ext", "subjectAltName").strip()
    # "X509v3 Subject Alternative Name: \n    DNS:a, DNS:b" -> "DNS:a, DNS:b"
    tls = Tls(cert, key, source, subject, " ".join(san.splitlines()[1:]).strip(), {})
    server_cas, tls.trusted["server"] = trusted_pem("server")
    client_cas, tls.trusted["client"] = trusted_pem("client")
    # Incoming: trusts the server/ folder; a client certificate is required with two-way auth.
    tls.server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.server.load_cert_chain(cert, key)
    if settings.two_way_auth:
        tls.server.verify_mode = ssl.CERT_REQUIRED
        if server_cas.strip():
            tls.server.load_verify_locations(cadata=server_cas)
    # Outgoing: verifies the peer against the client/ folder and its host name.
    tls.client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.client.check_hostname = True
    tls.client.verify_mode = ssl.CERT_REQUIRED
    if client_cas.strip():
        tls.client.load_verify_locations(cadata=client_cas)
    tls.client.load_cert_chain(cert, key)
    return tls


# --- the gateway --------------------------------------------------------------------------------


@dataclass
class Peer:
    name: str
    role: str
    version: str
    transport: str
    certificate: str
    seen: float


class Gateway:
    def __init__(self, args: Arguments, settings: Settings, redundancy: Redundancy) -> None:
        self.args = args
        self.settings = settings
        self.redundancy = redundancy
        self.scale = float(os.environ.get("STANDIN_TIME_SCALE", "1") or "1")
        self.version = os.environ.get("STANDIN_VERSION") or os.environ.get(
            "IGNITION_VERSION", "8.3"
        )
        # Every time reading goes through clock, so unit tests can drive it.
        self.clock = time.monotonic
        self.started = self.clock()
        self.startup_seconds = float(os.environ.get("STANDIN_STARTUP_SECONDS", "30")) * self.scale
        self.lock = threading.Lock()
        self.tls: Tls | None = None
        self.data: dict[str, Any] = {}
        self.incoming: dict[str, Peer] = {}
        self.link: dict[str, Any] = {"connected": False, "detail": "not tried yet"}
        self.master_seen: float | None = None
        self.master_version = ""
        self.went_active = False

    # timing: every documented delay, scaled
    def seconds(self, milliseconds: int) -> float:
        return milliseconds / 1000 * self.scale

    @property
    def ping(self) -> float:
        return max(0.3, self.seconds(self.redundancy.ping_rate_ms))

    @property
    def lost_after(self) -> float:
        r = self.redundancy
        return max(3 * self.ping, self.seconds(r.ping_rate_ms * r.ping_max_missed))

    def running(self) -> bool:
        return self.clock() - self.started >= self.startup_seconds

    # --- what /system/gwinfo reports (facts §9) ---
    def redundancy_view(self) -> dict[str, str]:
        role = self.redundancy.role
        now = self.clock()
        if role == "Independent":
            # A gateway outside a pair reports Independent and Active (community gwinfo captures).
            return {"RedundancyStatus": role, "RedundantNodeActiveStatus": "Active"}
        if role == "Master":
            backups = [p for p in self.incoming.values() if p.role == "Backup"]
            recent = [p for p in backups if now - p.seen <= self.lost_after]
            # Without a connected backup the stand-in says Unknown (the real value in that case
            # is not documented); Good/Incompatible follow the backup's version (facts §9).
            state = "Unknown"
            if recent:
                state = "Good" if recent[-1].version == self.version else "Incompatible"
            return {
                "RedundancyStatus": role,
                "RedundantState": state,
                "RedundantNodeActiveStatus": "Active",
            }
        connected = self.master_seen is not None and now - self.master_seen <= self.lost_after
        if connected:
            # Master recovery "Automatic": the backup stands down once the master is back
            # (IA docs "Setting Up Redundancy", facts §1.2 masterrecoverymode).
            if self.went_active and self.redundancy.recovery == "Manual":
                # Manual recovery keeps the backup in charge. Not modelled: the master standing
                # by in that case (it always reports Active here); no stack sets Manual.
                activity = "Active"
            else:
                # A standby reports its standby activity level, Cold or Warm (facts §1.2
                # standbyactivitylevel; community gwinfo captures show Cold/Warm for a standby).
                activity = self.redundancy.standby_level
                self.went_active = False
            state = "Good" if self.master_version == self.version else "Incompatible"
        else:
            state = "Unknown"
            if self.master_seen is not None:
                # It was paired: failover after backupfailovertimeout (facts §1.2).
                waited, allowance = (
                    now - self.master_seen,
                    self.seconds(self.redundancy.failover_ms),
                )
            else:
                # Never paired: the startup connection allowance (joinwaittime), then Active
                # (IA docs "Setting Up Redundancy"; facts §9).
                waited, allowance = now - self.started, self.seconds(self.redundancy.joinwait_ms)
            if waited >= allowance or self.went_active:
                activity = "Active"
                self.went_active = True
            else:
                # Before it decides: "Undecided" (an activity level of the Ignition SDK; not
                # confirmed on /system/gwinfo), or still standing by while a lost master may
                # come back within the failover timeout.
                activity = (
                    "Undecided" if self.master_seen is None else self.redundancy.standby_level
                )
        return {
            "RedundancyStatus": role,
            "RedundantState": state,
            "RedundantNodeActiveStatus": activity,
        }

    def gwinfo(self) -> str:
        with self.lock:
            fields = {
                "PlatformName": self.args.name,
                "PlatformEdition": self.settings.edition,
                "Version": self.version,
                "ContextStatus": "RUNNING" if self.running() else "STARTING",
                **self.redundancy_view(),
            }
        return "".join(f"{key}={value};" for key, value in fields.items())

    # --- the link: receiving side ---
    def accept(
        self, request: dict[str, Any], transport: str, certificate: str
    ) -> tuple[int, dict[str, Any]]:
        s = self.settings
        if not self.running():
            return 503, {"error": "gateway is STARTING"}
        if not s.network_enabled or not s.allow_incoming:
            return 403, {"error": "incoming Gateway Network connections are not allowed"}
        if transport == "plain" and s.require_ssl:
            # "Require SSL" refuses non-SSL connections (facts §3.1, §3.3).
            return 403, {"error": "this gateway requires SSL (GATEWAY_NETWORK_REQUIRESSL)"}
        name = str(request.get("name", ""))
        peer_id = f"{name}-backup" if request.get("role") == "Backup" else name
        if s.policy == "ApprovedOnly":
            # New incoming connections wait for an Approve click (facts §3.3).
            return 403, {"error": f"connection from {peer_id} awaits approval (ApprovedOnly)"}
        if s.policy == "SpecifiedList" and peer_id not in s.whitelist:
            return 403, {"error": f"{peer_id} is not in GATEWAY_NETWORK_WHITELIST"}
        if request.get("purpose") == "redundancy" and self.redundancy.role != "Master":
            return 409, {
                "error": f"this gateway is {self.redundancy.role}, not a redundancy master"
            }
        with self.lock:
            self.incoming[f"{peer_id}/{transport}"] = Peer(
                name, str(request.get("role")), str(request.get("version")), transport,
                certificate, self.clock(),
            )  # fmt: skip
        return 200, {"name": self.args.name, "role": self.redundancy.role, "version": self.version}

    # --- the link: dialling side ---
    def dial(self, host: str, port: int, use_ssl: bool, purpose: str) -> dict[str, Any]:
        body = json.dumps({
            "name": self.args.name, "role": self.redundancy.role, "version": self.version,
            "purpose": purpose,
        })  # fmt: skip
        timeout = max(1.0, self.seconds(10000))  # gan.httpConnectTimeout (facts §1.2)
        connection: http.client.HTTPConnection
        if use_ssl:
            assert self.tls is not None and self.tls.client is not None
            connection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self.tls.client
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.request("POST", LINK_PATH, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read() or b"{}")
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return {"connected": False, "detail": f"{type(exc).__name__}: {exc}"}
        finally:
            connection.close()
        if response.status != 200:
            return {"connected": False, "detail": f"{response.status}: {answer.get('error')}"}
        return {"connected": True, "detail": "connected", "peer": answer}

    def redundancy_loop(self) -> None:
        r = self.redundancy
        transport = "ssl" if r.enable_ssl else "plain"
        while True:
            if self.running():
                if not r.host:
                    result = {"connected": False, "detail": "redundancy.gan.host is empty"}
                else:
                    result = self.dial(r.host, r.port, r.enable_ssl, "redundancy")
                with self.lock:
                    peer = result.get("peer") or {}
                    if result["connected"] and peer.get("role") == "Master":
                        self.master_seen = self.clock()
                        self.master_version = str(peer.get("version"))
                    self.link = {**result, "host": r.host, "port": r.port, "transport": transport}
            time.sleep(self.ping)

    def outgoing_loop(self) -> None:
        while True:
            if self.running():
                for connection in self.settings.outgoing:
                    result = self.dial(connection.host, connection.port, connection.ssl, "outgoing")
                    with self.lock:
                        connection.connected = bool(result["connected"])
                        connection.detail = str(result["detail"])
            time.sleep(max(1.0, self.ping))

    def report(self) -> dict[str, Any]:
        with self.lock:
            now = self.clock()
            return {
                "standin": True,
                "uid": os.getuid(),
                "gid": os.getgid(),
                "arguments": self.args.__dict__,
                "version": self.version,
                "data": self.data,
                "redundancy": {
                    "role": self.redundancy.role,
                    "problem": self.redundancy.problem,
                    "properties": self.redundancy.properties,
                    "link": self.link,
                },
                "gateway_network": {
                    "require_ssl": self.settings.require_ssl,
                    "two_way_auth": self.settings.two_way_auth,
                    "policy": self.settings.policy,
                    "keystore": self.tls.source if self.tls else None,
                    "subject": self.tls.subject if self.tls else None,
                    "san": self.tls.san if self.tls else None,
                    "trusted": self.tls.trusted if self.tls else {},
                    "outgoing": [c.__dict__ for c in self.settings.outgoing],
                    "incoming": [
                        {**p.__dict__, "age": round(now - p.seen, 1)}
                        for p in self.incoming.values()
                    ],
                },
                "gwinfo": self.redundancy_view(),
                "admin_password": admin_password_file(),
            }


def admin_password_file() -> dict[str, Any] | None:
    """Who may read the file GATEWAY_ADMIN_PASSWORD_FILE names (the image reads the password
    from it at first commissioning: 8.3 platform environment variables); never its content."""
    path = os.environ.get("GATEWAY_ADMIN_PASSWORD_FILE")
    if not path:
        return None
    status = Path(path).stat()
    directory = Path(path).parent.stat()
    return {
        "path": path,
        "owner": f"{status.st_uid}:{status.st_gid}",
        "mode": f"{status.st_mode & 0o7777:04o}",
        "directory_owner": f"{directory.st_uid}:{directory.st_gid}",
        "directory_mode": f"{directory.st_mode & 0o7777:04o}",
        "readable": os.access(path, os.R_OK),
    }


def handler_for(gateway: Gateway, transport: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # health checks poll every few seconds; keep the log readable

        def send(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if transport == "plain" and self.path == "/StatusPing":
                # {"state":"RUNNING"} once up (facts §2.3; kcollins-img HEALTHCHECK greps it).
                state = "RUNNING" if gateway.running() else "STARTING"
                self.send(
                    200, json.dumps({"state": state}, separators=(",", ":")), "application/json"
                )
            elif transport == "plain" and self.path == "/system/gwinfo":
                self.send(200, gateway.gwinfo())
            elif transport == "plain" and self.path == "/standin/report":
                self.send(200, json.dumps(gateway.report(), indent=1), "application/json")
            else:
                self.send(404, "not found")

        def do_POST(self) -> None:
            if self.path != LINK_PATH:
                self.send(404, "not found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self.send(400, json.dumps({"error": "bad request"}), "application/json")
                return
            certificate = ""
            if isinstance(self.connection, ssl.SSLSocket):
                peer = self.connection.getpeercert() or {}
                certificate = ", ".join("=".join(x[0]) for x in peer.get("subject", ()))
            status, answer = gateway.accept(request, transport, certificate)
            self.send(status, json.dumps(answer), "application/json")

    return Handler


def start(gateway: Gateway, address: str = "") -> list[ThreadingHTTPServer]:
    """Serve HTTP (status pages, plain link) and the TLS Gateway Network port; start the
    outgoing and redundancy links. Returns the servers (tests bind them to 127.0.0.1:0)."""
    assert gateway.tls is not None and gateway.tls.server is not None
    ThreadingHTTPServer.daemon_threads = True
    http = ThreadingHTTPServer((address, gateway.settings.http_port), handler_for(gateway, "plain"))
    gan = ThreadingHTTPServer((address, gateway.settings.gan_port), handler_for(gateway, "ssl"))
    gan.socket = gateway.tls.server.wrap_socket(gan.socket, server_side=True)
    for server in (http, gan):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    if gateway.settings.network_enabled and gateway.settings.outgoing:
        threading.Thread(target=gateway.outgoing_loop, daemon=True).start()
    if gateway.redundancy.role == "Backup" and gateway.settings.network_enabled:
        threading.Thread(target=gateway.redundancy_loop, daemon=True).start()
    return [http, gan]


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1 ignores SIGTERM without one
    try:
        args = parse_arguments(argv)
        settings = read_settings()
        data = check_data()
        redundancy = read_redundancy()
        gateway = Gateway(args, settings, redundancy)
        gateway.data = data
        work = Path(tempfile.mkdtemp(prefix="ignition-standin-"))
        gateway.tls = load_tls(settings, work)
    except Refused as exc:
        print(f"ignition-standin: error: {exc}", file=sys.stderr, flush=True)
        return 1
    log(
        f"test double of the Ignition gateway {gateway.version}: name {args.name}, role "
        f"{redundancy.role}, keystore {gateway.tls.source}, time scale {gateway.scale}"
    )
    start(gateway)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
