"""What an operator sets on a gateway: extra environment, JVM arguments, time zone, public address.

Each is set per role (``roles:``) and may be overridden per gateway (``gateways[i]``);
``resolve.py`` merges them once into the IR. Here: their stack-file models, and the rules that
check them where they are written (a role's setting once, not once per gateway of the role).

Sources of the image options (docs/research/gateway-contents.md): ``TZ``, IA docs 8.3 "Platform
Environment Variables"; public address ``-a host -h port -s port``, IA docs 8.3 "Docker Image
Examples"; JVM arguments after ``--``, the official Helm chart's ``supplementalArgs``.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from pydantic import Field

from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import Diagnostic, error, preview
from emitter.model import Model
from emitter.modules import ModuleSpec
from emitter.restore import RestoreSpec
from emitter.targets import registry

if TYPE_CHECKING:
    from emitter.ir import Stack
    from emitter.spec import GatewaySpec, StackSpec

# A POSIX variable name: also what the start script can load from a pair node's settings file.
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Linux refuses to start a process with one environment string or argument longer than this
# (MAX_ARG_STRLEN, 32 pages, with its terminating NUL).
MAX_STRING_BYTES = 131072 - 1
# Tab and newline pass through every target; other control characters (NUL above all) do not.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Options of the JVM that size its heap: the heap follows memory_mb (``-m`` on Compose,
# ``-XX:MaxRAMPercentage`` of the memory limit on Kubernetes).
HEAP_OPTIONS = frozenset(
    {
        "MaxHeapSize",
        "InitialHeapSize",
        "MinHeapSize",
        "MaxRAM",
        "MaxRAMPercentage",
        "InitialRAMPercentage",
        "MinRAMPercentage",
        "MaxRAMFraction",
        "InitialRAMFraction",
        "MinRAMFraction",
        "UseContainerSupport",
    }
)
HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")


class PublicAddressSpec(Model):
    """The address users reach the gateway at, through a proxy or load balancer."""

    host: str = Field(description="DNS name or IP address users reach the gateway at (`-a`).")
    http_port: int = Field(
        default=80, ge=1, le=65535, description="HTTP port of that address (`-h`)."
    )
    https_port: int = Field(
        default=443, ge=1, le=65535, description="HTTPS port of that address (`-s`)."
    )


class RoleSettings(Model):
    """What an operator sets on every gateway of a role (``roles:``)."""

    timezone: str | None = Field(
        default=None,
        description="Time zone, a tz database name such as `America/Chicago` (sets `TZ`).",
    )
    environment: dict[str, str] | None = Field(
        default=None,
        description=(
            "Extra environment variables (name: text). The variables ignition-stack sets "
            "(EULA, edition, admin, Gateway Network, TZ, license, ports) cannot be set here."
        ),
    )
    jvm_args: list[str] | None = Field(
        default=None,
        description=(
            "Extra JVM arguments, passed after `--` (e.g. `-Duser.language=en`); not the heap, "
            "which follows memory_mb."
        ),
    )
    public_address: PublicAddressSpec | None = Field(
        default=None,
        description=(
            "The address users reach the gateway at behind a proxy: host and ports "
            "(runtime arguments -a/-h/-s, which turn the gateway's auto-detection off)."
        ),
    )
    # Role-level only: both nodes of a pair, and every gateway of a tier, run the same modules.
    modules: list[ModuleSpec] | None = Field(
        default=None,
        description=(
            "Third-party modules (`.modl`) installed into every gateway of the role before it "
            "starts: `{name, path | url, sha256, id}`, each pinned by its SHA-256."
        ),
    )
    modules_enabled: list[str] | None = Field(
        default=None,
        description=(
            "The built-in modules the role's gateways keep (GATEWAY_MODULES_ENABLED); the "
            "others are quarantined. 8.1: short names (`perspective`); 8.3: module ids "
            "(`com.inductiveautomation.perspective`), and the role's third-party modules are "
            "added for you. Absent: every built-in module."
        ),
    )
    restore: RestoreSpec | None = Field(
        default=None,
        description=(
            "A gateway backup (`.gwbk`) restored once, on the first start of an empty data "
            "volume, into the role's master (or its single gateway): `{path, sha256}`."
        ),
    )


@dataclass(frozen=True)
class Owned:
    """Why ignition-stack sets a variable itself, and what to set instead."""

    reason: str
    instead: str


_REMOVE = "remove it"
_LICENSE = Owned(
    "a license comes from a Docker secret or Kubernetes Secret, never from the stack file "
    "(committed to Git)",
    "remove it, and give the gateway `license: {secret: NAME}` (the README's Licensing)",
)
_PORTS = Owned(
    "the health checks, Services and published ports are built on the image's ports "
    "8088, 8043 and 8060",
    "set `http_port` for the host port, or `public_address` for the address users reach",
)
_START = Owned("the gateway's start script reads it", _REMOVE)
_MODULES = Owned(
    "it follows the role's modules, the same on both nodes of a pair",
    "use `modules_enabled` and `modules` of the role (`roles:`)",
)
OWNED_VARIABLES: dict[str, Owned] = {
    "ACCEPT_IGNITION_EULA": Owned(
        "the stack accepts the Ignition EULA for every gateway", "set `accept_eula: true`"
    ),
    "DISABLE_QUICKSTART": Owned(
        "every gateway is commissioned without the quick start's questions", _REMOVE
    ),
    "IGNITION_EDITION": Owned(
        "it is the gateway's `edition` (both nodes of a pair run one edition)",
        "set `edition` of the gateway, or `edge_role`",
    ),
    "TZ": Owned("it is the gateway's time zone", "use `timezone`"),
    "IGNITION_LICENSE_KEY": _LICENSE,
    "IGNITION_ACTIVATION_TOKEN": _LICENSE,
    "GATEWAY_MODULES_ENABLED": _MODULES,
    "ACCEPT_MODULE_LICENSES": _MODULES,
    "ACCEPT_MODULE_CERTS": _MODULES,
    "GATEWAY_HTTP_PORT": _PORTS,
    "GATEWAY_HTTPS_PORT": _PORTS,
    "GATEWAY_GAN_PORT": _PORTS,
    "IGNITION_UID": Owned("the data volume is seeded for uid 2003", _REMOVE),
    "IGNITION_GID": Owned("the data volume is seeded for gid 2003", _REMOVE),
    "NODE_ENVIRONMENT": _START,
    "NODE_REDUNDANCY_XML": _START,
    "NODE_PUBLIC_ADDRESS": _START,
    "NODE_PUBLIC_HTTP_PORT": _START,
    "NODE_PUBLIC_HTTPS_PORT": _START,
    "IGNITION_ENTRYPOINT": _START,
    "NODE_MODULES_DIR": _START,
    "IGNITION_STACK_DATA": _START,
    "GATEWAY_RESTORE_DISABLED": Owned(
        "it follows `restore.disabled` of the role", "set `restore.disabled`"
    ),
}
OWNED_PREFIXES: dict[str, Owned] = {
    "GATEWAY_ADMIN_": Owned(
        "the admin account is commissioned from the password secret the stack mounts",
        "set the password in that secret (POST-SETUP.md)",
    ),
    "GATEWAY_NETWORK_": Owned(
        "the Gateway Network policy and links form the pairs and connections",
        "set `transport`, or `connections` of the gateway",
    ),
}
FILE_SUFFIX = "_FILE"  # every image variable also reads its value from the file X_FILE names


def owned(name: str) -> Owned | None:
    """Why ``name`` is ignition-stack's to set (None: the operator's)."""
    base = name.removesuffix(FILE_SUFFIX)
    for candidate in dict.fromkeys((name, base)):
        if candidate in OWNED_VARIABLES:
            return OWNED_VARIABLES[candidate]
        prefix = next((p for p in OWNED_PREFIXES if candidate.startswith(p)), None)
        if prefix is not None:
            return OWNED_PREFIXES[prefix]
        for target in registry.targets():
            if candidate in target.limits.variables:
                return Owned(
                    f"the {target.title} target sets it in every gateway container", _REMOVE
                )
    return None


@cache
def time_zones() -> frozenset[str]:
    """The tz database names of the bundled ``tzdata`` package: the same answer on every
    machine, whatever zone files the operating system has."""
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(text.split())


def _settings(spec: StackSpec) -> Iterator[tuple[str, RoleSettings | GatewaySpec]]:
    """Every place settings are written: each role of ``roles:``, then each gateway."""
    for role, settings in (spec.roles or {}).items():
        yield f"roles.{preview(role)}", settings
    for index, gateway in enumerate(spec.gateways or ()):
        yield f"gateways[{index}]", gateway


def settings_rules(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    for role in spec.roles or {}:
        if architecture.role(role) is None:
            yield error(
                "IS131",
                f"roles.{preview(role)}",
                f"architecture {architecture.name} has no role {preview(role)!r}",
                f"use one of {', '.join(architecture.role_names)}",
            )
    for path, settings in _settings(spec):
        yield from _environment(f"{path}.environment", settings.environment or {})
        if settings.timezone is not None:
            yield from _timezone(f"{path}.timezone", settings.timezone)
        for index, argument in enumerate(settings.jvm_args or ()):
            yield from _jvm_argument(f"{path}.jvm_args[{index}]", argument)
        if settings.public_address is not None:
            yield from _host(f"{path}.public_address.host", settings.public_address.host)


def _passable(text: str) -> str | None:
    """Why ``text`` cannot be handed to a process as it is (None: it can)."""
    if CONTROL.search(text):
        return "holds a control character (only tab and newline pass through)"
    if len(text.encode("utf-8")) > MAX_STRING_BYTES:
        return f"is longer than {MAX_STRING_BYTES} bytes, the most Linux passes to a process"
    return None


def _environment(path: str, variables: dict[str, str]) -> Iterator[Diagnostic]:
    for name, value in variables.items():
        where = f"{path}.{preview(name)}"
        if not VARIABLE_NAME.fullmatch(name):
            yield error(
                "IS133",
                where,
                f"{preview(name)!r} is not a variable name",
                "use letters, digits and `_`, not starting with a digit (e.g. `JAVA_TOOL_OPTIONS`)",
            )
            continue
        why = owned(name)
        if why is not None:
            yield error(
                "IS132", where, f"{name} is set by ignition-stack: {why.reason}", why.instead
            )
            continue
        problem = _passable(f"{name}={value}")
        if problem:
            yield error(
                "IS133", where, f"the value of {name} {problem}", "shorten or clean the value"
            )


def _timezone(path: str, zone: str) -> Iterator[Diagnostic]:
    zones = time_zones()
    if zone in zones:
        return
    by_case = {known.lower(): known for known in zones}
    close = [by_case[zone.lower()]] if zone.lower() in by_case else []
    close = close or difflib.get_close_matches(zone[:100], sorted(zones), n=1)
    suggestion = f"did you mean `{close[0]}`? " if close else ""
    yield error(
        "IS134",
        path,
        f"{preview(zone)!r} is not a time zone of the tz database",
        f"{suggestion}use a tz database name such as `America/Chicago` or `UTC`",
    )


def heap_option(argument: str) -> bool:
    if argument.startswith(("-Xmx", "-Xms")):
        return True
    match = re.match(r"-XX:[+-]?([A-Za-z]+)", argument)
    return bool(match and match.group(1) in HEAP_OPTIONS)


def _jvm_argument(path: str, argument: str) -> Iterator[Diagnostic]:
    problem = _passable(argument)
    if not argument.startswith("-"):
        problem = "does not start with `-`: JVM options do"
    if problem:
        yield error(
            "IS135",
            path,
            f"JVM argument {preview(argument)!r} {problem}",
            "write JVM options such as `-Dname=value` or `-XX:+Option` "
            "(wrapper.* and gateway.* properties are not JVM options)",
        )
    elif heap_option(argument):
        yield error(
            "IS136",
            path,
            f"JVM argument {preview(argument)!r} sizes the Java heap, which ignition-stack "
            "sizes from memory_mb (75% of it)",
            "remove it, and set `memory_mb` of the gateway",
        )


def host_problem(host: str) -> str | None:
    """Why ``host`` is neither a DNS name nor an IP address (None: it is one)."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    if len(host) > 253 or not all(
        len(label) <= 63 and HOST_LABEL.fullmatch(label) for label in labels
    ):
        return "is neither a DNS name (labels of letters, digits and `-`, at most 253 characters) nor an IP address"
    return None


def _host(path: str, host: str) -> Iterator[Diagnostic]:
    problem = host_problem(host)
    if problem:
        yield error(
            "IS137",
            path,
            f"public address {preview(host)!r} {problem}",
            "write the name or address users reach the gateway at, e.g. `scada.example.com`",
        )
