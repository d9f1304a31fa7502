"""Restoring a gateway backup (``.gwbk``) once, on the first start of an empty data volume.

``roles.<role>.restore: {path | url, sha256, disabled}``. ``resolve.py`` gives the restore to
one gateway of the role: the master of a redundant role (the backup takes everything from the
master when it pairs), or the role's single gateway. A replicated tier is refused (IS148): one
backup restored into N gateways gives all of them the same gateway identity.

How it happens (README, "Restoring a gateway backup"): the seeding step, only when it has just
filled an empty volume, checks the backup's sha256 and stages it in the volume with this
node's pairing keys written into its redundancy.xml (restore-backup.sh); the gateway's start
script passes the staged file to the image's ``-r`` runtime argument once, and never again.

Sources (docs/research/gateway-contents.md §2, §5): ``-r <file.gwbk>`` with
``GATEWAY_RESTORE_DISABLED`` (true/false) is how the Testcontainers module for the official image
restores, on 8.1 and 8.3 alike (tc-ignition ``applyGatewayRestore``; the values from kindling's
model of the image, "since 8.1.7"). The ``data/__restore_<ms>.gwbk`` staging underneath rests on
a community image's entrypoint for 8.1 only, so ``-r`` is the better-sourced of the two.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field

from emitter import pinned_file
from emitter.diagnostics import Diagnostic, error, preview
from emitter.model import Model
from emitter.vocabulary import TransportName

if TYPE_CHECKING:
    from emitter.ir import Gateway, Stack
    from emitter.spec import StackSpec

KEY = "restore"
# Where a seeding step finds the backup (Compose: a read-only bind mount of the repository file).
MOUNT = "/run/ignition-stack-restore/backup.gwbk"
SCRIPT = "restore-backup.sh"
# The largest backup the seeding step stages; a larger file is refused before it is read whole.
# A gateway backup holds configuration and projects, not history: a few hundred MiB at most.
MAX_BYTES = 4 * 1024**3
# The image restores with its resources disabled when this is `true` (kindling: true/false).
DISABLED_VARIABLE = "GATEWAY_RESTORE_DISABLED"
# The codes of a restore's `path`, `url` and `sha256` (pinned_file.py checks them).
CODES = pinned_file.Codes(
    noun="restore",
    suffix=".gwbk",
    path=pinned_file.Check(
        "IS146",
        "put the backup in the repository next to stack.yaml, e.g. "
        "`backups/plant.gwbk`, and name it relative to stack.yaml",
    ),
    url=pinned_file.Check(
        "IS147",
        "use an https URL without user or password in it; a backup that needs "
        "credentials belongs in the repository's path or behind a pre-signed URL",
    ),
    sha256=pinned_file.Check(
        "IS145",
        "write the output of `sha256sum <file>.gwbk` (lowercase hex) as `sha256`",
        why=": a backup is restored only if it is the file you pinned",
    ),
    unusable="IS149",
    blocked="IS208",
)
EXAMPLE = "restore: {path: backups/plant.gwbk, sha256: <64 hex digits>}"


class RestoreSpec(Model):
    """A gateway backup restored once, on the first start of an empty data volume."""

    path: str | None = Field(
        default=None,
        description=(
            "The `.gwbk`, relative to the stack file's directory (inside it): Compose only, "
            "which bind-mounts it read-only into the seeding step."
        ),
    )
    url: str | None = Field(
        default=None,
        description=(
            "An https URL of the `.gwbk` (no credentials in it), downloaded by the seeding "
            "step: Kubernetes only."
        ),
    )
    sha256: str | None = Field(
        default=None,
        description="The backup's SHA-256 (64 hex digits): a mismatch stops the gateway's start.",
    )
    disabled: bool = Field(
        default=False,
        description=(
            "Restore with the backup's connections and devices disabled "
            "(`GATEWAY_RESTORE_DISABLED`)."
        ),
    )


def gateway_environment(gateway: Gateway) -> dict[str, str]:
    """What the gateway's container is told: restore in the disabled state (only with -r)."""
    if gateway.restore is None or not gateway.restore.disabled:
        return {}
    return {DISABLED_VARIABLE: "true"}


def seed_environment(gateway: Gateway, url: bool) -> dict[str, str]:
    """What the seeding step is told: where the backup is (with ``url``, the https URL it
    downloads; else the file the target mounts) and its checksum. On a Kubernetes pair both pods are told; the backup's step
    skips the restore by its own redundancy.xml (restore-backup.sh)."""
    restore = gateway.restore
    if restore is None:
        return {}
    where = {"RESTORE_URL": restore.url} if url and restore.url else {"RESTORE_SOURCE": MOUNT}
    return {**where, "RESTORE_SHA256": restore.sha256, "RESTORE_MAX_BYTES": str(MAX_BYTES)}


def _where(role: str) -> str:
    return f"roles.{preview(role)}.{KEY}"


def restore_rules(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    from emitter.architectures import ARCHITECTURES

    architecture = ARCHITECTURES[spec.architecture]
    for role, settings in (spec.roles or {}).items():
        restore = settings.restore
        if restore is None:
            continue
        path = _where(role)
        yield from _source(path, restore)
        yield from pinned_file.checksum_rules(path, "the restore", restore, CODES)
        shape = architecture.role(role)
        if shape is not None and shape.replicated:
            yield error(
                "IS148",
                path,
                f"role {preview(role)!r} is a replicated tier: one backup restored into each of "
                "its gateways gives them all the same gateway identity (system name, Gateway "
                "Network identity), and they would fight over it",
                "restore into the role a tier connects to (a single gateway or a pair's master), "
                "or configure the tier's gateways alike from a project export",
            )


def _source(path: str, restore: RestoreSpec) -> Iterator[Diagnostic]:
    if restore.path is None and restore.url is None:
        yield error(
            "IS144",
            path,
            "a restore names its backup by neither `path` (Compose) nor `url` (Kubernetes)",
            f"write e.g. `{EXAMPLE}`; a stack on both targets gives both, pinned by one sha256",
        )
        return
    yield from pinned_file.source_rules(path, restore, CODES)


def post_setup(stack: Stack) -> list[str]:
    """POST-SETUP.md's section for a stack that restores a backup: how to check it took."""
    restoring = [gateway for gateway in stack.gateways if gateway.restore is not None]
    if not restoring:
        return []
    out = ["", "## Restored gateway backup", ""]
    out += [
        f"- `{g.name}` restores the backup of `{g.restore.where}` (sha256 "
        f"`{g.restore.sha256[:12]}...`) on the first start of its empty data volume, once."
        for g in restoring
        if g.restore is not None
    ]
    out += [
        "- **Verify:** the seeding step logs `restore-backup: staged the backup (sha256 ...)` "
        "(Compose: `docker compose logs <gateway>-bootstrap`; Kubernetes: the pod's init "
        "container), the gateway's log starts with `start-gateway: restoring the staged backup "
        "on this first start (-r)`, and its web UI (Status > Overview) shows the restored "
        "projects. A checksum mismatch stops the start with `restore-backup: checksum mismatch`.",
        "- A volume that already held data is never restored into: to restore again, remove the "
        "master's data volume (this discards its data) and start it.",
    ]
    if stack.transport is TransportName.SSL:
        out.append(
            "- The restore replaced the Gateway Network trust with the backup's: recreate the "
            "master once so the seeding step re-installs the stack's certificates (Compose: "
            "`docker compose up -d --force-recreate <gateway>-bootstrap <gateway>`; Kubernetes: "
            "delete the master's pod)."
        )
    return out
