"""A database beside the gateways, with their connection to it already made.

``database: {engine, version, name, owner, connections: [{role, name}]}``. ``resolve.py`` turns
it into ``ir.Database`` and gives every gateway of a connected role the names of its
connections; both targets run the database (Compose: a service with a pinned image; Kubernetes:
a CloudNativePG ``Cluster``) and let only those gateways reach it.

How the connection is made (README, "A database with the connection made";
docs/research/around-gateways.md §1): on Ignition 8.3 the seeding step writes the connection as
a file-based configuration resource, ``config/resources/external/ignition/database-connection/
<name>/{config.json,resource.json}`` in the data volume (database-connection.sh), on a pair's
master only (the backup receives it by config sync, §1.1), once: a connection the user has since
edited is never overwritten. Its password is read at start from a mounted secret (Compose: a
Docker secret file; Kubernetes: the Secret CloudNativePG generates), never from a committed
file. Ignition 8.1 has no file-based configuration (§1.3): the connection is a POST-SETUP step.

An engine is one row of ``ENGINES``: adding mssql, mysql or mariadb is a row there plus its
Kubernetes operator object in ``targets/kubernetes/database.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field

from emitter.diagnostics import Diagnostic, error, preview, warning
from emitter.model import Model
from emitter.vocabulary import NodeRole

if TYPE_CHECKING:
    from emitter.ir import Database, Gateway, Stack
    from emitter.spec import StackSpec

KEY = "database"
SCRIPT = "database-connection.sh"
# The Compose service and the Kubernetes Cluster: the database's one name on both targets, and
# the host the gateways dial (Kubernetes: its read-write Service `<name>-rw`).
SERVICE = "postgres"
DEFAULT_DATABASE = "ignition"
DEFAULT_OWNER = "ignition"
DEFAULT_CONNECTION = "postgres"
# Where the seeding step reads the password (both targets mount the secret here).
PASSWORD_MOUNT = "/run/secrets/database-password"
PASSWORD_FILE = f"{PASSWORD_MOUNT}/password"
# The seeding step waits this long for the database to accept connections (Kubernetes).
WAIT_SECONDS = 600
# A database or user name PostgreSQL takes unquoted (lowercase: unquoted names fold to it).
SQL_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# A connection name: a folder name in the data volume, and what the gateway lists.
CONNECTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
VERSION = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")


@dataclass(frozen=True)
class Engine:
    """One database engine: its images, its JDBC connection on the gateway, its health check."""

    name: str
    default_version: str
    port: int
    # The gateway's JDBC driver and translator names (database-connection config.json).
    driver: str
    translator: str
    # connectURL, from non-secret parts only: {host}, {port}, {database}.
    url: str
    validation_query: str
    # On 8.3 the JDBC driver is a module, which a narrowed module list must keep (research §1.1).
    driver_module: str
    compose_image: str  # {version}
    kubernetes_image: str  # {version}
    data_directory: str
    # The Compose image's environment ({database}, {owner}, {password_file}) and its health
    # check ({database}, {owner}).
    compose_environment: tuple[tuple[str, str], ...]
    health_command: tuple[str, ...]
    # What the image's entrypoint needs of root before it drops to its own user: everything
    # else is dropped.
    compose_capabilities: tuple[str, ...]


ENGINES: dict[str, Engine] = {
    "postgres": Engine(
        name="postgres",
        # CloudNativePG v1.27.0's default operand (pkg/versions/versions.go, research §2): the
        # Compose image runs the same release, so both targets run one PostgreSQL.
        default_version="17.5",
        port=5432,
        # knorr's seeded PostgreSQL connection (research §1.1).
        driver="PostgreSQL",
        translator="POSTGRES",
        url="jdbc:postgresql://{host}:{port}/{database}",
        validation_query="SELECT 1",
        driver_module="com.inductiveautomation.jdbc.postgresql",
        compose_image="postgres:{version}",
        kubernetes_image="ghcr.io/cloudnative-pg/postgresql:{version}",
        # The official image up to 17 (research §3).
        data_directory="/var/lib/postgresql/data",
        # docker-library/postgres docker-entrypoint.sh: every POSTGRES_* variable may be read
        # from <VAR>_FILE (research §3); the password never is an environment value.
        compose_environment=(
            ("POSTGRES_DB", "{database}"),
            ("POSTGRES_USER", "{owner}"),
            ("POSTGRES_PASSWORD_FILE", "{password_file}"),
        ),
        health_command=("pg_isready", "-h", "localhost", "-U", "{owner}", "-d", "{database}"),
        # docker-entrypoint.sh as root: reads the password file (the host user's, mode 0600:
        # DAC_READ_SEARCH), chowns and chmods the data directory (CHOWN, FOWNER), then runs
        # PostgreSQL as its own user through gosu (SETUID, SETGID).
        compose_capabilities=("CHOWN", "DAC_READ_SEARCH", "FOWNER", "SETGID", "SETUID"),
    ),
}


def engine(database: Database) -> Engine:
    return ENGINES[database.engine]


def connect_url(database: Database, host: str) -> str:
    return engine(database).url.format(
        host=host, port=engine(database).port, database=database.name
    )


class ConnectionSpec(Model):
    """A database connection the gateways of one role get."""

    role: str = Field(description="The role whose gateways get the connection (e.g. `backend`).")
    name: str = Field(
        default=DEFAULT_CONNECTION,
        description="The connection's name in the gateway (Config > Databases > Connections).",
    )


class DatabaseSpec(Model):
    """A database beside the gateways, and the gateways connected to it."""

    engine: str = Field(
        default="postgres",
        description=f"The database engine: {', '.join(f'`{name}`' for name in ENGINES)}.",
    )
    version: str | None = Field(
        default=None,
        description=(
            "The engine's release, major.minor (`17.5`): the Compose image's tag and the "
            "CloudNativePG operand image's. Defaults to the engine's pinned release."
        ),
    )
    name: str = Field(default=DEFAULT_DATABASE, description="The database the gateways use.")
    owner: str = Field(
        default=DEFAULT_OWNER,
        description="The user that owns the database; the gateways connect as this user.",
    )
    connections: list[ConnectionSpec] = Field(
        default_factory=list,
        description=(
            "Which roles' gateways get a connection to the database, made before their first "
            "start (Ignition 8.3): `[{role: backend, name: postgres}]`."
        ),
    )


def writes_connections(gateway: Gateway) -> bool:
    """Whether a gateway's seeding step writes its connections: not a pair's backup, which
    receives them from its master by config sync (research §1.1)."""
    if not gateway.database_connections:
        return False
    return gateway.redundancy is None or gateway.redundancy.role is not NodeRole.BACKUP


def seed_environment(
    stack: Stack, gateway: Gateway, host: str, wait: bool, password_file: str
) -> dict[str, str]:
    """What the seeding step is told to write the gateway's connections (``gateway``: on
    Kubernetes a StatefulSet's template; a pair's backup skips the writing by its own
    redundancy.xml). ``wait``: first wait until the database accepts connections."""
    database = stack.database
    if database is None or not gateway.database_connections:
        return {}
    variables = {}
    if wait:
        variables["DATABASE_WAIT"] = f"{host}:{engine(database).port}"
        variables["DATABASE_WAIT_SECONDS"] = str(WAIT_SECONDS)
    layout = stack.release.layout.database_connections if stack.release else None
    if layout is None:
        return variables
    row = engine(database)
    return {
        **variables,
        "DATABASE_CONNECTIONS": " ".join(gateway.database_connections),
        "DATABASE_RESOURCES": layout,
        "DATABASE_URL": connect_url(database, host),
        "DATABASE_DRIVER": row.driver,
        "DATABASE_TRANSLATOR": row.translator,
        "DATABASE_VALIDATION_QUERY": row.validation_query,
        "DATABASE_USERNAME": database.owner,
        "DATABASE_PASSWORD_FILE": password_file,
    }


def writes_files(stack: Stack) -> bool:
    """Whether the release reads file-based connections (8.3), so the password is mounted."""
    return stack.release is not None and stack.release.layout.database_connections is not None


# --- rules -------------------------------------------------------------------------------------


def database_rules(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    database = spec.database
    if database is None:
        if getattr(getattr(spec, "kubernetes", None), KEY, None) is not None:
            yield error(
                "IS156",
                f"kubernetes.{KEY}",
                "`kubernetes.database` sizes the stack's database, but the stack has no "
                "`database:`",
                "add `database: {connections: [{role: ROLE}]}`, or delete `kubernetes.database`",
            )
        return
    if database.engine not in ENGINES:
        yield error(
            "IS150",
            f"{KEY}.engine",
            f"database engine {preview(database.engine)!r} is not supported",
            f"use one of {', '.join(ENGINES)}",
        )
    yield from _names(spec)
    yield from _connections(spec, stack)
    yield from _reserved(stack)
    yield from _driver_module(spec, stack)
    if database.connections and stack.release is not None and not writes_files(stack):
        yield warning(
            "IS209",
            f"{KEY}.connections",
            f"Ignition {stack.release.version} has no file-based configuration: the gateways "
            "start without their database connection, which is made once in the web UI "
            '(POST-SETUP.md, "Database")',
            "add the connection in Config > Databases > Connections of each connected gateway "
            "(a pair's master only), or run Ignition 8.3, which gets it before its first start",
        )
    if not database.connections:
        yield warning(
            "IS210",
            f"{KEY}.connections",
            "the database has no `connections`: it runs, but no gateway is given a connection "
            "to it, nor allowed to reach it",
            "list the roles that use it, e.g. `connections: [{role: backend}]`",
        )


def _names(spec: StackSpec) -> Iterator[Diagnostic]:
    database = spec.database
    assert database is not None
    for key, value in (("name", database.name), ("owner", database.owner)):
        if not SQL_NAME.fullmatch(value):
            yield error(
                "IS153",
                f"{KEY}.{key}",
                f"database {key} {preview(value)!r} is not a lowercase SQL name",
                "use lowercase letters, digits and `_`, starting with a letter or `_`, at "
                "most 63 characters (e.g. `ignition`)",
            )
    if database.version is not None and not VERSION.fullmatch(database.version):
        yield error(
            "IS153",
            f"{KEY}.version",
            f"database version {preview(database.version)!r} is not a release major.minor",
            "pin an exact release such as `17.5`: both targets' images take this tag",
        )
    for index, connection in enumerate(database.connections):
        if not CONNECTION_NAME.fullmatch(connection.name):
            yield error(
                "IS153",
                f"{KEY}.connections[{index}].name",
                f"connection name {preview(connection.name)!r} is not a plain name",
                "use letters, digits, `_` and `-`, starting with a letter, at most 64 "
                "characters (e.g. `postgres`)",
            )


def _connections(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    database = spec.database
    assert database is not None
    roles = [tier.role for tier in stack.tiers]
    seen: set[tuple[str, str]] = set()
    for index, connection in enumerate(database.connections):
        path = f"{KEY}.connections[{index}]"
        if connection.role not in roles:
            yield error(
                "IS151",
                f"{path}.role",
                f"connection {preview(connection.name)!r} names role "
                f"{preview(connection.role)!r}, which no gateway of the stack plays",
                f"name one of the stack's roles: {', '.join(roles) or '(none)'}",
            )
        key = (connection.role, connection.name)
        if key in seen:
            yield error(
                "IS152",
                f"{path}.name",
                f"role {preview(connection.role)!r} gets two connections named "
                f"{preview(connection.name)!r}",
                "give each connection of a role its own `name`, or list it once",
            )
        seen.add(key)


def reserved_names() -> dict[str, str]:
    """The names the database takes on the targets, with what takes them."""
    return {
        SERVICE: "the database's service (Compose) and Cluster (Kubernetes)",
        f"{SERVICE}-data": "the database's volume (Compose)",
        f"{SERVICE}-rw": "CloudNativePG's read-write Service",
        f"{SERVICE}-ro": "CloudNativePG's read-only Service",
        f"{SERVICE}-r": "CloudNativePG's read Service",
        f"{SERVICE}-app": "CloudNativePG's application Secret",
    }


def _reserved(stack: Stack) -> Iterator[Diagnostic]:
    taken = reserved_names()
    for gateway in stack.gateways:
        for what, name in (("name", gateway.name), ("volume", gateway.volume)):
            if name in taken:
                yield error(
                    "IS154",
                    f"{gateway.path}.{what}",
                    f"gateway {what} {name!r} is taken by {taken[name]}",
                    "rename the gateway (or its volume) in `gateways:`",
                )
        for index, network in enumerate(gateway.networks):
            if network == SERVICE:
                yield error(
                    "IS154",
                    f"{gateway.path}.networks[{index}]",
                    f"network {SERVICE!r} is the database's own network (Compose), which only "
                    "the connected gateways join",
                    "rename the network in `gateways:`; `database.connections` decides who "
                    "joins the database's",
                )


def _driver_module(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    database = spec.database
    assert database is not None
    row = ENGINES.get(database.engine)
    if row is None or not writes_files(stack):
        return
    connected = {connection.role for connection in database.connections}
    for role, settings in (spec.roles or {}).items():
        kept = settings.modules_enabled
        if role in connected and kept is not None and row.driver_module not in kept:
            yield error(
                "IS155",
                f"roles.{preview(role)}.modules_enabled",
                f"role {preview(role)!r} connects to the {row.name} database, but its "
                f"`modules_enabled` leaves out the JDBC driver module {row.driver_module}: "
                "the gateway quarantines it and the connection is faulted",
                f"add `{row.driver_module}` to `modules_enabled`",
            )


# --- documents ---------------------------------------------------------------------------------


def post_setup(stack: Stack) -> list[str]:
    """POST-SETUP.md's section: what runs, and how to see the connection is valid."""
    database = stack.database
    if database is None:
        return []
    connected = [g for g in stack.gateways if writes_connections(g)]
    out = ["", "## Database", ""]
    out.append(
        f"- A {database.engine} {database.version} database `{database.name}` owned by "
        f"`{database.owner}` runs as `{SERVICE}` (Compose: a service; Kubernetes: a "
        "CloudNativePG `Cluster`)."
    )
    for connection in database.connections:
        out.append(
            f"- The gateways of role `{connection.role}` get the connection `{connection.name}` "
            f"(`{connect_url(database, SERVICE)}` on Compose, "
            f"`{connect_url(database, SERVICE + '-rw')}` on Kubernetes)."
        )
    if writes_files(stack):
        out += [
            "- It is written into the data volume of "
            + ", ".join(f"`{g.name}`" for g in connected)
            + " before the first start, once (a pair's backup receives it from its master by "
            "config sync); a connection you edit later is never overwritten.",
            "- **Verify:** each gateway's Status > Connections > Databases lists the "
            "connection as Valid; the seeding step logs `database-connection: wrote the "
            "connection ...`.",
            "- **Unverified:** the connection's password is written in plain form (a JSON "
            "string), as the gateway's HTTP API takes it; that Ignition 8.3 reads a plain "
            "password from the file and encrypts it is not confirmed by a source "
            '(docs/security.md, "The database password"). If the connection shows Faulted '
            "with an authentication error, enter the password once in Config > Databases > "
            "Connections (Compose: `secrets/database-password`; Kubernetes: key `password` of "
            f"the Secret `{SERVICE}-app`).",
        ]
    else:
        out += [
            "- **Ignition 8.1 has no file-based configuration:** add the connection once in "
            "the master's Config > Databases > Connections > Create new connection: driver "
            f"{engine(database).driver}, the URL above, user `{database.owner}`, and the "
            "password of `secrets/database-password` (Compose) or key `password` of the "
            f"Secret `{SERVICE}-app` (Kubernetes). Then Status > Connections > Databases shows "
            "it Valid.",
        ]
    out.append(
        "- **Compose password:** `secrets/database-password`, written once by `ignition-stack "
        "create` (git-ignored). A project that adds `database:` later creates it before "
        "`docker compose up`: `(umask 077; openssl rand -base64 24 > secrets/database-password)`."
    )
    out += [
        f"- **Database health:** Compose: `docker compose exec {SERVICE} pg_isready -U "
        f"{database.owner} -d {database.name}` says `accepting connections`; Kubernetes: "
        f"`kubectl get cluster {SERVICE}` says `Cluster in healthy state`.",
        "- **Kubernetes prerequisite:** the CloudNativePG operator (1.27 or later) in the "
        "cluster, like cert-manager: `kubectl apply --server-side -f "
        "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-1.27/releases/"
        "cnpg-1.27.0.yaml`. Without it the `Cluster` is refused and the connected gateways' "
        "pods wait in their init container.",
    ]
    return out
