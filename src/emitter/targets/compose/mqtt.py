"""The MQTT broker on Compose (``mqtt:``; emitter.mqtt).

Two services: ``mqtt-password-file``, a one-shot step (the broker's image, as root, without a
network) that reads the git-ignored password file through a Docker secret and writes the
broker's hashed password file into the ``mqtt-auth`` volume, owned by the broker's user; then
``mqtt`` itself, as that user, with a read-only root file system, every capability dropped, and
its data in the ``mqtt-data`` volume. Like the admin password: Compose hands a file secret over
with the host file's owner and mode, so only a root step can read it and pass it on.

The broker is alone on the network ``mqtt``, which only the gateways of ``mqtt.roles`` join;
that network is internal (no way out of the host) unless ``compose.mqtt_port`` publishes the
broker, on ``compose.publish_address`` or else loopback only.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from emitter import image, mqtt
from emitter.ir import Gateway, Stack
from emitter.targets.compose.names import MQTT_PASSWORD_FILE
from emitter.targets.compose.options import ComposeSpec

SECRET = "mqtt-password"
# Relative to targets/compose/: the project's git-ignored secrets/ two levels up.
SECRET_FILE = f"${{IGNITION_STACK_MQTT_PASSWORD_FILE:-../../{MQTT_PASSWORD_FILE}}}"
SECRET_MOUNT = f"/run/secrets/{SECRET}"
CONFIG_FILE = "mqtt/mosquitto.conf"
COMPONENT_LABEL = "io.ignition-stack.component"
LOOPBACK = "127.0.0.1"
# The copy of the password the broker's health check logs in with (mqtt-password-file.sh).
CLIENT_PASSWORD = "client-password"
# Root reads the host's 0600 secret file (DAC_OVERRIDE) and hands the files to the broker's
# user (CHOWN); nothing else.
STEP_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE"]
# Mosquitto with a few hundred clients stays well under this; a runaway is stopped.
MEMORY_LIMIT = "256m"


def files(stack: Stack) -> dict[str, str]:
    if stack.mqtt is None:
        return {}
    return {
        CONFIG_FILE: mqtt.config_text(stack.mqtt),
        f"scripts/{mqtt.SCRIPT}": image.script(mqtt.SCRIPT),
    }


def services(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    if stack.mqtt is None:
        return {}
    return {
        mqtt.PASSWORD_STEP: password_step(stack),
        stack.mqtt.host: broker_service(stack, options),
    }


def volumes(stack: Stack) -> dict[str, Any]:
    return {} if stack.mqtt is None else {mqtt.AUTH_VOLUME: {}, mqtt.DATA_VOLUME: {}}


def networks(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    """The broker's own network: internal (no route off the host) unless it is published."""
    if stack.mqtt is None:
        return {}
    return {stack.mqtt.host: {} if options.mqtt_port else {"internal": True}}


def secrets(stack: Stack) -> dict[str, Any]:
    return {} if stack.mqtt is None else {SECRET: {"file": SECRET_FILE}}


def gateway_networks(stack: Stack, gateway: Gateway) -> list[str]:
    """A gateway's networks: its own, and the broker's when its role may reach it."""
    own = list(gateway.networks)
    if stack.mqtt is not None and gateway.name in stack.mqtt.clients:
        own.append(stack.mqtt.host)
    return own


def password_files(stack: Stack) -> tuple[str, ...]:
    """What ``create`` writes for this stack beside the admin password."""
    return () if stack.mqtt is None else (MQTT_PASSWORD_FILE,)


def _kind(stack: Stack) -> mqtt.Broker:
    kind = mqtt.broker_of(stack)
    assert kind is not None
    return kind


def _auth_mount(stack: Stack, read_only: bool) -> dict[str, Any]:
    return {
        "type": "volume",
        "source": mqtt.AUTH_VOLUME,
        "target": _kind(stack).auth_dir,
        **({"read_only": True} if read_only else {}),
    }


def password_step(stack: Stack) -> dict[str, Any]:
    assert stack.mqtt is not None
    kind = _kind(stack)
    return {
        "image": stack.mqtt.image,
        "user": "root",
        "entrypoint": ["/bin/sh", f"{image.SCRIPTS_DIR}/{mqtt.SCRIPT}"],
        "environment": dict(
            sorted(
                {
                    **mqtt.script_environment(stack.mqtt, SECRET_MOUNT),
                    "MQTT_PASSWORD_OWNER": f"{kind.user_id}:{kind.user_id}",
                    "MQTT_CLIENT_PASSWORD": f"{kind.auth_dir}/{CLIENT_PASSWORD}",
                }.items()
            )
        ),
        "volumes": [
            _auth_mount(stack, read_only=False),
            {
                "type": "bind",
                "source": f"./scripts/{mqtt.SCRIPT}",
                "target": f"{image.SCRIPTS_DIR}/{mqtt.SCRIPT}",
                "read_only": True,
            },
        ],
        "secrets": [SECRET],
        "cap_drop": ["ALL"],
        "cap_add": STEP_CAPABILITIES,
        "security_opt": ["no-new-privileges:true"],
        "network_mode": "none",
        "restart": "no",
        "labels": {COMPONENT_LABEL: mqtt.PASSWORD_STEP},
    }


def _published(options: ComposeSpec, port: int) -> list[str]:
    if options.mqtt_port is None:
        return []
    address = options.publish_address or LOOPBACK
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return [f"{host}:{options.mqtt_port}:{port}"]


def health_command(stack: Stack) -> list[str]:
    """Logs in as the gateways do (``mqtt.health_shell``) with the step's copy of the password."""
    assert stack.mqtt is not None
    password = f"{_kind(stack).auth_dir}/{CLIENT_PASSWORD}"
    # `$$`: Compose's escape for a `$` the shell is to see.
    return ["CMD-SHELL", mqtt.health_shell(stack.mqtt, password).replace("$", "$$")]


def broker_service(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    broker = stack.mqtt
    assert broker is not None
    kind = _kind(stack)
    ports = _published(options, broker.port)
    return {
        "image": broker.image,
        "user": f"{kind.user_id}:{kind.user_id}",
        "hostname": broker.host,
        # The broker itself, not the image's entrypoint (which chowns as root).
        "entrypoint": list(kind.command),
        "volumes": [
            {
                "type": "bind",
                "source": f"./{CONFIG_FILE}",
                "target": kind.config_file,
                "read_only": True,
            },
            {"type": "volume", "source": mqtt.DATA_VOLUME, "target": kind.data_dir},
            _auth_mount(stack, read_only=True),
        ],
        "networks": [broker.host],
        **({"ports": ports} if ports else {}),
        "depends_on": {
            mqtt.PASSWORD_STEP: {"condition": "service_completed_successfully"},
        },
        "healthcheck": {
            "test": health_command(stack),
            "interval": "10s",
            "timeout": "5s",
            "retries": 3,
            "start_period": "10s",
        },
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "mem_limit": MEMORY_LIMIT,
        "restart": "unless-stopped",
        "labels": {COMPONENT_LABEL: "mqtt"},
    }
