"""The stack's database on Compose (emitter.database): a service with the engine's pinned image,
a named volume, its password from a Docker secret file (never an environment value), a health
check the connected gateways wait for, and a network of its own that only they join."""

from __future__ import annotations

from typing import Any

from emitter import database as databases
from emitter.ir import Gateway, Stack
from emitter.targets.compose.names import (
    DATABASE_NETWORK,
    DATABASE_PASSWORD_FILE,
    DATABASE_SECRET,
    DATABASE_VOLUME,
)

# The password file Compose reads; relative to targets/compose/, the project's git-ignored
# secrets/ two levels up, like the admin password's.
SECRET_FILE = f"${{IGNITION_STACK_DATABASE_PASSWORD_FILE:-../../{DATABASE_PASSWORD_FILE}}}"
SECRET_MOUNT = f"/run/secrets/{DATABASE_SECRET}"
COMPONENT = "database"


def service(stack: Stack, security: list[str]) -> dict[str, Any]:
    """The database's service; ``security`` (``security_opt``) as the stack's other services
    have it."""
    database = stack.database
    assert database is not None
    engine = databases.engine(database)
    values = {"database": database.name, "owner": database.owner, "password_file": SECRET_MOUNT}
    return {
        "image": engine.compose_image.format(version=database.version),
        "environment": {name: value.format(**values) for name, value in engine.compose_environment},
        # The image's entrypoint reads the file as root (DAC_READ_SEARCH) before it drops to
        # its own user, so the host file's owner and mode (0600: the user who created the
        # project) need not change.
        "secrets": [DATABASE_SECRET],
        "volumes": [{"type": "volume", "source": DATABASE_VOLUME, "target": engine.data_directory}],
        "networks": [DATABASE_NETWORK],
        "healthcheck": {
            "test": ["CMD", *(part.format(**values) for part in engine.health_command)],
            "interval": "5s",
            "timeout": "5s",
            "retries": 12,
            "start_period": "30s",
        },
        "cap_drop": ["ALL"],
        "cap_add": list(engine.compose_capabilities),
        "security_opt": security,
        "restart": "unless-stopped",
        "labels": {"io.ignition-stack.component": COMPONENT},
    }


def document(stack: Stack) -> dict[str, dict[str, Any]]:
    """The volume, network and secret the database adds to the compose file (its service is
    ``service``)."""
    if stack.database is None:
        return {"volumes": {}, "networks": {}, "secrets": {}}
    return {
        "volumes": {DATABASE_VOLUME: {}},
        # Only the connected gateways join it, and the database publishes no port. Not
        # `internal`: that a gateway keeps its published port when it also joins an internal
        # network was not tested on a real engine.
        "networks": {DATABASE_NETWORK: {}},
        "secrets": {DATABASE_SECRET: {"file": SECRET_FILE}},
    }


def gateway_networks(gateway: Gateway) -> list[str]:
    """The database's network, for every gateway of a connected role (a pair's backup too: it
    uses the connection once it is the active node)."""
    return [DATABASE_NETWORK] if gateway.database_connections else []


def gateway_depends_on(stack: Stack, gateway: Gateway) -> dict[str, Any]:
    if stack.database is None or not gateway.database_connections:
        return {}
    return {databases.SERVICE: {"condition": "service_healthy"}}


def bootstrap(stack: Stack, gateway: Gateway) -> dict[str, Any]:
    """What the gateway's bootstrap needs to write its connections (8.3, not a pair's
    backup): the environment, and the secret file (read as root, before the chown)."""
    if not (databases.writes_connections(gateway) and databases.writes_files(stack)):
        return {"environment": {}, "secrets": []}
    return {
        "environment": databases.seed_environment(
            stack, gateway, databases.SERVICE, wait=False, password_file=SECRET_MOUNT
        ),
        "secrets": [DATABASE_SECRET],
    }


def password_files(stack: Stack) -> tuple[str, ...]:
    """The database's password file, which ``create`` writes once (git-ignored)."""
    return (DATABASE_PASSWORD_FILE,) if stack.database is not None else ()
