"""Every diagnostic code, in one table: its severity and a one-line summary.

Rules ask ``diagnostics.error``/``warning`` for a diagnostic by code, and those refuse a code
that is not here or has the other severity; the README's table is tested against this one.
A code names one problem forever: a code that is removed moves to ``RETIRED`` and is never
given to another problem, so an old log line or CI output still means what it said.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    summary: str


# Numbers that must never be given to a problem again, with why they are out of use.
RETIRED: dict[str, str] = {
    "IS118": "skipped when the rules were numbered; never issued, kept free of any meaning",
}


def table(*codes: Code, retired: dict[str, str] = RETIRED) -> dict[str, Code]:
    """The codes by name; a duplicate or a retired code is a mistake in this file."""
    found: dict[str, Code] = {}
    for entry in codes:
        if entry.code in retired:
            raise ValueError(f"{entry.code} is retired ({retired[entry.code]}); take a new code")
        if entry.code in found:
            raise ValueError(f"{entry.code} is listed twice")
        found[entry.code] = entry
    return found


_E, _W = Severity.ERROR, Severity.WARNING

CODES: dict[str, Code] = table(
    Code("IS001", _E, "the stack file cannot be read: missing, a directory or device, over 4 MiB, not UTF-8, not YAML (or a value its tag cannot hold, e.g. `!!int abc`, `2001-13-45`), aliases, duplicate keys, not a mapping"),
    Code("IS002", _E, "a key has the wrong shape: unknown key (with the closest known key: *did you mean `redundant`?*), missing key, wrong type or value (`redundant: yes`: it names a role, and the roles are listed), a number beyond 64 bits (under any key)"),
    Code("IS101", _E, "redundancy on a replicated tier (`frontend`, `spoke`): names the role that can be redundant"),
    Code("IS102", _E, "the redundant role does not exist in this architecture (e.g. after `create -f ... --arch`)"),
    Code("IS103", _E, "a pair member's peer is missing, is itself, or is not in a pair"),
    Code("IS104", _E, "master and backup do not name each other"),
    Code("IS105", _E, "a pair is not exactly one master and one backup"),
    Code("IS106", _E, "a pair mixes editions (a standard master with an Edge backup)"),
    Code("IS107", _E, "`redundant` and the pair in `gateways` disagree"),
    Code("IS108", _E, "`edge_role` / `--edge-role` names no role of the architecture"),
    Code("IS109", _E, "a gateway's edition disagrees with `edge_role`"),
    Code("IS110", _E, "a name is not usable (DNS-1123 label; gateway names start with a letter and have at most 52 characters)"),
    Code("IS111", _E, "two gateways share a name"),
    Code("IS112", _E, "two gateways share a host port"),
    Code("IS113", _E, "a gateway (or volume) name is reserved: it would collide with a name a target derives"),
    Code("IS114", _E, "a Gateway Network connection names a missing gateway, or the gateway itself"),
    Code("IS115", _E, "a connection or a pair crosses no shared network, or a gateway joins none"),
    Code("IS116", _E, "the gateways of a replicated tier are not `role-0..N-1` or are not identical"),
    Code("IS117", _E, "a gateway's role does not exist in the architecture"),
    Code("IS119", _E, "`frontends` / `spokes` disagree with the gateways listed"),
    Code("IS120", _E, "two gateways share a data volume"),
    Code("IS121", _E, "`image` is not an image reference (`[registry[:port]/]path[:tag][@digest]`, as Docker reads it)"),
    Code("IS122", _E, "`image` is not pinned: no tag or digest, or the moving `latest` tag"),
    Code("IS123", _E, "the two nodes of a pair differ in more than name, port, volume, connections, redundancy and public address (memory, networks, role, time zone, environment, JVM arguments)"),
    Code("IS124", _E, "`tool` / `--tool-spec` is not one line of pip requirement, or names PyPI's `ignition-stack` (another tool) instead of `ignition-stack-emitter`"),
    Code("IS125", _E, "`accept_eula: false`: the Ignition image does not start until its EULA is accepted"),
    Code("IS126", _E, "`frontends` / `spokes` (or `--frontends` / `--spokes`) given for an architecture without that tier"),
    Code("IS127", _E, "`create`'s flags fit no single architecture (e.g. `--redundant backend --spokes 2`)"),
    Code("IS128", _E, "`image` names no supported Ignition release in its tag (8.1 from 8.1.32, or 8.3; `major.minor[.patch]`, a mirror's suffix allowed), or is pinned by a digest alone, which does not say the release"),
    Code("IS129", _E, "a leased license key or activation token is written in plain text in the stack file (`license: {key: ...}`, or a value that is not `{secret: NAME}`); the value is never echoed"),
    Code("IS130", _E, "a `license.secret` is not a DNS-1123 label, or is a secret the stack uses for a password (the value is not echoed: it may be a pasted key)"),
    Code("IS131", _E, "`roles:` names a role the architecture lacks"),
    Code("IS132", _E, "an `environment` variable ignition-stack sets itself (EULA, edition, admin, Gateway Network, `TZ`, license, ports; and their `_FILE` forms): the reason, and the key to use instead"),
    Code("IS133", _E, "an `environment` name is not a variable name, or its value cannot be passed to a process (a control character, over 128 KiB)"),
    Code("IS134", _E, "`timezone` is not a time zone of the tz database (`America/Chicago`, `UTC`)"),
    Code("IS135", _E, "a `jvm_args` entry is not a JVM option (it does not start with `-`), or cannot be passed to a process"),
    Code("IS136", _E, "a `jvm_args` entry sizes the Java heap (`-Xmx`, `-XX:MaxRAMPercentage`, ...), which follows `memory_mb`"),
    Code("IS137", _E, "`public_address.host` is neither a DNS name nor an IP address"),
    Code("IS138", _E, "a module's `name` is not lowercase letters, digits and `-`, its `sha256` is not 64 lowercase hex digits, or its `id` is not a module id"),
    Code("IS139", _E, "a module gives both or neither of `path` and `url`, or its `path` is absolute, leaves the repository (`..`, or a symlink out of it), or is not a `.modl` file"),
    Code("IS140", _E, "a module `url` is not https, or holds a user or password (not echoed)"),
    Code("IS141", _E, "two modules of a role share a `name` or an `id`"),
    Code("IS142", _E, "a `modules_enabled` entry does not have the release's format: 8.1 short names (`perspective`), 8.3 ids (`com.inductiveautomation.perspective`)"),
    Code("IS143", _E, "a module from the repository (`path`) on the Kubernetes target, which cannot mount it: give its `url`"),
    Code("IS144", _E, "a `restore` names its backup by neither `path` (Compose) nor `url` (Kubernetes)"),
    Code("IS145", _E, "a `restore` has no `sha256`, or one that is not 64 lowercase hex digits"),
    Code("IS146", _E, "a `restore.path` is absolute, leaves the stack file's directory (`..`), or is not a `.gwbk`"),
    Code("IS147", _E, "a `restore.url` is not https, holds credentials (never echoed), or is not a URL"),
    Code("IS148", _E, "a `restore` on a replicated tier (frontends, spokes): one backup would give every gateway of the tier the same identity"),
    Code("IS149", _E, "a `restore` lacks what the target needs: `path` on Compose (its seeding step has no network), `url` on Kubernetes (a repository file cannot reach a pod)"),
    Code("IS150", _E, "`database.engine` is not a supported engine (`postgres`)"),
    Code("IS151", _E, "a `database.connections` entry names a role no gateway of the stack plays"),
    Code("IS152", _E, "a role gets two database connections of the same `name`"),
    Code("IS153", _E, "`database.name` or `owner` is not a lowercase SQL name, `version` is not major.minor, or a connection `name` is not a plain name"),
    Code("IS154", _E, "a gateway, its volume or a network takes a name of the database (`postgres`, `postgres-data`, CloudNativePG's `postgres-rw`, ...)"),
    Code("IS155", _E, "Ignition 8.3: a connected role's `modules_enabled` leaves out the engine's JDBC driver module (`com.inductiveautomation.jdbc.postgresql`)"),
    Code("IS156", _E, "`kubernetes.database` without `database:`: nothing to size"),
    Code("IS160", _E, "a `web.hosts` name is given to two roles (or to a pair's role and its backup)"),
    Code("IS161", _E, "a `web.hosts` name is not a lower-case DNS name (an IP address or a wildcard is refused too)"),
    Code("IS162", _E, "a `web.hosts` key is neither a role of the stack nor a pair's backup gateway"),
    Code("IS163", _E, "`kubernetes.web.route: httproute` without `parent_gateway`, the Gateway that terminates TLS"),
    Code("IS164", _E, "`kubernetes.web.route: ingress` (the default) without `issuer`, the cert-manager issuer of its certificate"),
    Code("IS165", _E, "a `kubernetes.web` option the chosen `route` does not use (`issuer`/`ingress_class` with httproute, `parent_gateway` with ingress)"),
    Code("IS166", _E, "`compose.web.acme_email` is not an email address"),
    Code("IS167", _E, "a redundant role has a web host on Kubernetes but `kubernetes.web.api_server_cidrs` is empty: the marker that labels the pair's active pod cannot reach the API server"),
    Code("IS168", _E, "`kubernetes.web` or `compose.web` without `web:`: no host to route"),
    Code("IS170", _E, "`mqtt.roles` names a role the stack lacks"),
    Code("IS171", _E, "`mqtt.roles` is empty or names only roles without gateways: an MQTT broker no gateway can reach"),
    Code("IS172", _E, "`mqtt.username` is not 1 to 64 letters, digits, `.`, `_` or `-` starting with a letter or digit"),
    Code("IS173", _E, "`mqtt.image` is not pinned to an exact release tag (`eclipse-mosquitto:2.0.22`; not `latest`, `2`, `2.0`) or digest"),
    Code("IS174", _E, "with `mqtt:`, a gateway, volume or network takes a name of the broker's (`mqtt`, `mqtt-password-file`, `mqtt-data`, `mqtt-auth`)"),
    Code("IS175", _E, "a role listed twice in `mqtt.roles`"),
    Code("IS176", _E, "`compose.mqtt_port` without `mqtt:`: nothing to publish"),
    Code("IS177", _E, "`compose.mqtt_port` is also a gateway's host port"),
    Code("IS201", _W, "a Gateway Network link (a pair, frontends, spokes) on the plain, demo-only transport (an error with `--strict`); not shown when an error stops the command"),
    Code("IS202", _W, "a hub-and-spoke stack with `spokes: 0`: a hub with nothing to connect to it"),
    Code("IS203", _W, "a Compose stack of more gateways than one Docker host runs sensibly: the reason (memory, ports) and `--target k8s` instead"),
    Code("IS204", _W, "the stack file does not record the Ignition EULA acceptance (`accept_eula`) its gateways are started with"),
    Code("IS205", _W, "a pair member has no `license` while the stack licenses other gateways: it runs in the 2-hour trial (a stack that licenses none is not warned)"),
    Code("IS206", _W, "a role has third-party modules on Ignition 8.1, which has no image option to accept them: accept each once in the web UI, or run 8.3"),
    Code("IS207", _W, "Kubernetes: a role downloads modules (`url`) while `kubernetes.egress_cidrs` is empty, so the gateways' egress policy blocks the download"),
    Code("IS208", _W, "Kubernetes: a role restores a backup from a `url` while `kubernetes.egress_cidrs` and `egress_namespaces` are empty, so the gateways' egress policy blocks the download"),
    Code("IS209", _W, "Ignition 8.1 with `database.connections`: 8.1 has no file-based configuration, so the connection is a POST-SETUP step in the web UI"),
    Code("IS210", _W, "a `database` with no `connections`: no gateway gets a connection to it or may reach it"),
    Code("IS211", _W, "`compose.web.acme_email` with a web host that is not a public DNS name (`.local`, `.internal`, one label, ...): ACME cannot issue for it"),
    Code("IS212", _W, "Kubernetes web access with neither `kubernetes.web.controller_namespace` nor `web_access_namespaces`: only the stack's own namespace reaches the gateways"),
    Code("IS301", _E, "`validate --server`: kubectl is not on PATH"),
    Code("IS302", _E, "`validate --server`: the kubeconfig has no current context"),
    Code("IS303", _E, "`validate --server`: the cluster of the current context does not answer"),
)  # fmt: skip
