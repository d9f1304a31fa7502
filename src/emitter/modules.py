"""Third-party modules (``.modl``) and the built-in modules a role keeps, per role.

``roles.<role>.modules`` lists third-party modules, each pinned by ``sha256``, from a ``path``
in the repository (Compose) or an https ``url`` (both targets). The seeding step places them,
checked, in a modules volume that both it and the gateway container mount
(``install-modules.sh seed``); the gateway's start copies them into ``user-lib/modules`` on
every start (``install-modules.sh start``), as the official Helm chart's
``scripts/docker-entrypoint-shim.sh`` does, because that folder is on the container's
filesystem, not the data volume (docs/research/gateway-contents.md section 3).

The module id is written in the stack file, not read from the ``.modl``: a ``url`` module is not
on the emitting machine at all, and a target never reads files. 8.3 needs the ids for
``ACCEPT_MODULE_LICENSES`` / ``ACCEPT_MODULE_CERTS`` (the official Helm chart's CHANGELOG 0.2.0,
``values.yaml`` ``commissioning.acceptModuleLicenses``), and appends them to
``GATEWAY_MODULES_ENABLED``, which on 8.3 quarantines every module it does not list.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from emitter import pinned_file
from emitter.diagnostics import Diagnostic, error, preview, warning
from emitter.model import Model

if TYPE_CHECKING:
    from emitter.ir import Gateway, Stack
    from emitter.spec import StackSpec

SCRIPT = "install-modules.sh"
# The modules volume (a named volume on Compose, an emptyDir on Kubernetes), where the seeding
# step places the checked files and the start script copies them from.
MODULES_DIR = "/run/ignition-modules"
# Where the Compose bootstrap finds a repository module, bind-mounted read-only.
SOURCE_DIR = "/run/ignition-modules-source"
# The official image loads third-party modules from here (IA chart docker-entrypoint-shim.sh:
# IGNITION_MODULES_LOCATION=${IGNITION_INSTALL_LOCATION}/user-lib/modules; 8.1 and 8.3).
USER_LIB_MODULES = "/usr/local/bin/ignition/user-lib/modules"
# A download or copy larger than this stops the start: a module is tens of MiB.
MAX_BYTES = 512 * 1024 * 1024
MAX_ID = 255
NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# A module id as module.xml writes it: dotted Java-package-like words.
MODULE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)+")
BUILT_IN_PREFIX = "com.inductiveautomation."
# 8.1's GATEWAY_MODULES_ENABLED short names (kcollins-img 8.1/docker-entrypoint.sh
# enable_disable_modules; tc-ignition Ignition81Profile): lowercase words joined by `-`.
SHORT_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# The codes of a module's `path`, `url` and `sha256` (pinned_file.py checks them).
CODES = pinned_file.Codes(
    noun="module",
    suffix=".modl",
    path=pinned_file.Check(
        "IS139",
        "give a path inside the repository, relative to the stack file's directory, "
        "e.g. `modules/MQTT-Engine.modl`",
    ),
    url=pinned_file.Check(
        "IS140",
        "give an https URL without user or password; a private store: download the "
        "file into the repository and give `path` (Compose)",
    ),
    sha256=pinned_file.Check(
        "IS138",
        "write the output of `sha256sum FILE.modl` (lowercase), which pins the exact file",
    ),
    unusable="IS143",
    blocked="IS207",
)
EXAMPLE = (
    "modules: [{name: mqtt-engine, url: https://example.com/MQTT-Engine.modl, "
    "sha256: <64 hex digits>, id: com.cirruslink.mqtt.engine.gateway}]"
)


class ModuleSpec(Model):
    """One third-party module, pinned by its checksum."""

    name: str = Field(
        description="A name for the module (lowercase letters, digits, `-`): its file name and "
        "how diagnostics and the seeding step's log name it."
    )
    path: str | None = Field(
        default=None,
        description="The `.modl` in the repository, relative to the stack file's directory "
        "(Compose only: the bootstrap bind-mounts it read-only). Give `path` or `url`.",
    )
    url: str | None = Field(
        default=None,
        description="An https URL the seeding step downloads the `.modl` from (both targets; "
        "no credentials in it; at most 512 MiB). Give `path` or `url`.",
    )
    sha256: str = Field(
        description="The `.modl`'s SHA-256, 64 hex digits (`sha256sum FILE`): a file that does "
        "not match stops the gateway's start, naming the module."
    )
    id: str = Field(
        description="The module id, the `<id>` of the `.modl`'s module.xml (e.g. "
        "`com.cirruslink.mqtt.engine.gateway`): 8.3 accepts its license and certificate by it."
    )


def file_name(name: str) -> str:
    return f"{name}.modl"


def seed_list(gateway: Gateway) -> str:
    """The seeding step's list: one `name sha256 source` line per module, where source is the
    bind-mounted file of a ``path`` module or the ``url``."""
    return "".join(
        f"{m.name} {m.sha256} {m.url or posixpath.join(SOURCE_DIR, file_name(m.name))}\n"
        for m in gateway.modules
    )


def environment(series: str, gateway: Gateway) -> dict[str, str]:
    """The gateway's module variables: which built-ins it keeps and, on 8.3, the acceptance of
    its third-party modules (IA chart templates/configmap.yaml sets these three)."""
    variables: dict[str, str] = {}
    ids = [module.id for module in gateway.modules]
    if gateway.modules_enabled is not None:
        kept = list(gateway.modules_enabled)
        # 8.3 quarantines a third-party module its list omits; 8.1's list names built-ins only.
        if series != "8.1":
            kept += [module_id for module_id in ids if module_id not in kept]
        variables["GATEWAY_MODULES_ENABLED"] = ",".join(kept)
    if ids and series != "8.1":
        variables["ACCEPT_MODULE_LICENSES"] = ",".join(ids)
        variables["ACCEPT_MODULE_CERTS"] = ",".join(ids)
    return variables


def _source(path: str, module: ModuleSpec) -> Iterator[Diagnostic]:
    if (module.path is None) == (module.url is None):
        yield error(
            "IS139",
            path,
            f"module {preview(module.name)!r} gives "
            + ("both `path` and `url`" if module.path else "neither `path` nor `url`"),
            "give one: `path` (a file in the repository) or `url` (https)",
        )
        return
    yield from pinned_file.source_rules(path, module, CODES)


def module_rules(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    release = stack.release.series if stack.release else None
    for role, settings in (spec.roles or {}).items():
        where = f"roles.{preview(role)}"
        names: set[str] = set()
        ids: set[str] = set()
        for index, module in enumerate(settings.modules or ()):
            path = f"{where}.modules[{index}]"
            yield from _module(path, module)
            for seen, value, key in ((names, module.name, "name"), (ids, module.id, "id")):
                if value in seen:
                    yield error(
                        "IS141",
                        f"{path}.{key}",
                        f"two modules of role {preview(role)!r} share the {key} {preview(value)!r}",
                        "list each module once, with a name of its own",
                    )
                seen.add(value)
        for index, enabled in enumerate(settings.modules_enabled or ()):
            yield from _enabled(f"{where}.modules_enabled[{index}]", enabled, release)
        if settings.modules and release == "8.1":
            yield warning(
                "IS206",
                f"{where}.modules",
                "Ignition 8.1 has no image option to accept a third-party module's license "
                "and certificate: the gateways of this role load the modules only after they "
                "are accepted once in each gateway's web UI (Config > Modules)",
                "accept each module once per gateway after the first start, or run Ignition "
                "8.3 (`image: inductiveautomation/ignition:8.3.6`), which accepts them itself",
            )


def _module(path: str, module: ModuleSpec) -> Iterator[Diagnostic]:
    if not NAME.fullmatch(module.name):
        yield error(
            "IS138",
            f"{path}.name",
            f"module name {preview(module.name)!r} is not lowercase letters, digits and `-`",
            "name it like `mqtt-engine` (at most 63 characters)",
        )
    yield from pinned_file.checksum_rules(path, f"module {preview(module.name)!r}", module, CODES)
    if len(module.id) > MAX_ID or not MODULE_ID.fullmatch(module.id):
        yield error(
            "IS138",
            f"{path}.id",
            f"module id {preview(module.id)!r} is not a module id (dotted words, at most "
            f"{MAX_ID} characters)",
            "copy the `<id>` of the module's module.xml (`unzip -p FILE.modl module.xml`)",
        )
    yield from _source(path, module)


def _enabled(path: str, name: str, release: str | None) -> Iterator[Diagnostic]:
    if release == "8.1" and not (len(name) <= MAX_ID and SHORT_NAME.fullmatch(name)):
        expected = "an 8.1 short name such as `perspective`, `vision`, `opc-ua`"
    elif release not in (None, "8.1") and not (
        name.startswith(BUILT_IN_PREFIX) and len(name) <= MAX_ID and MODULE_ID.fullmatch(name)
    ):
        expected = "an 8.3 module id such as `com.inductiveautomation.perspective`"
    else:
        return
    yield error(
        "IS142",
        path,
        f"modules_enabled entry {preview(name)!r} is not {expected}",
        f"the image's GATEWAY_MODULES_ENABLED takes {expected} on Ignition {release}; "
        "third-party modules belong in `modules`, not here",
    )


def repository_problems(stack: Stack, directory: Path) -> Iterator[Diagnostic]:
    """Each repository module (``path``) must be a file below the stack file's directory once
    symlinks are followed: Compose bind-mounts whatever the path resolves to. Read here, when
    ``emit`` knows that directory; never by a target."""
    root = directory.resolve()
    reported: set[tuple[str, str]] = set()
    for gateway in stack.gateways:
        for module in gateway.modules:
            if module.path is None or (gateway.role, module.name) in reported:
                continue
            reported.add((gateway.role, module.name))
            try:
                found = (root / module.path).resolve()
                problem = None
                if not found.is_relative_to(root):
                    problem = "leads out of the repository through a symlink"
                elif not found.is_file():
                    problem = "is not a file in the repository"
            except (OSError, RuntimeError, ValueError) as failure:
                problem = f"cannot be read ({failure.__class__.__name__})"
            if problem:
                yield error(
                    "IS139",
                    f"roles.{preview(gateway.role)}.modules",
                    f"module {module.name!r}: path {preview(module.path)!r} {problem}",
                    "commit the .modl below the stack file's directory (not a symlink out of "
                    "it), or give its `url`",
                )
