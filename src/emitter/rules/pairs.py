"""Master/backup pairs: peers that name each other, one master and one backup of one edition,
the pair on the redundant role, and two nodes that run the same gateway."""

from __future__ import annotations

from collections.abc import Iterator

from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import Diagnostic, error
from emitter.ir import Gateway, Stack
from emitter.rules.topology import redundant_role_problem
from emitter.spec import StackSpec
from emitter.vocabulary import NodeRole


def pair_peers(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    for gateway in stack.gateways:
        redundancy = gateway.redundancy
        if redundancy is None:
            continue
        path = f"{gateway.path}.redundancy"
        peer = stack.gateway(redundancy.peer)
        if redundancy.peer == gateway.name:
            yield error(
                "IS103",
                f"{path}.peer",
                f"gateway {gateway.name!r} names itself as its peer",
                "name the other gateway of the pair",
            )
            continue
        if peer is None:
            yield error(
                "IS103",
                f"{path}.peer",
                f"peer {redundancy.peer!r} of {gateway.name!r} does not exist",
                "add the peer gateway, or delete `gateways:` to re-derive the pair",
            )
            continue
        if peer.redundancy is None:
            yield error(
                "IS103",
                f"{path}.peer",
                f"peer {peer.name!r} of {gateway.name!r} is not part of a pair",
                f"give {peer.name!r} `redundancy: {{role: {_other(redundancy.role)}, peer: {gateway.name}}}`",
            )
            continue
        if peer.redundancy.peer != gateway.name:
            yield error(
                "IS104",
                f"{path}.peer",
                f"{gateway.name!r} pairs with {peer.name!r}, but {peer.name!r} pairs with "
                f"{peer.redundancy.peer!r}",
                "the master and the backup must name each other as peer",
            )
        elif peer.redundancy.role is redundancy.role:
            yield error(
                "IS105",
                f"{path}.role",
                f"{gateway.name!r} and {peer.name!r} are both {redundancy.role}s; a pair is exactly "
                "one master and one backup",
                f"make one of them `role: {_other(redundancy.role)}`",
            )
        elif redundancy.role is NodeRole.BACKUP and peer.edition is not gateway.edition:
            yield error(
                "IS106",
                f"{path}",
                f"a {peer.edition} master ({peer.name!r}) cannot pair with a {gateway.edition} backup "
                f"({gateway.name!r}): an Edge gateway fails over only to another Edge gateway",
                "give both gateways of the pair the same edition",
            )


def _other(role: NodeRole) -> str:
    return NodeRole.BACKUP.value if role is NodeRole.MASTER else NodeRole.MASTER.value


def pair_matches_redundant(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    paired = [gateway for gateway in stack.gateways if gateway.redundancy is not None]
    valid_role = (
        spec.redundant is not None and redundant_role_problem(architecture, spec.redundant) is None
    )
    if valid_role and not paired:
        yield error(
            "IS107",
            "redundant",
            f"redundant is {spec.redundant!r}, but no gateway of that role is in a master/backup pair",
            "add the backup gateway, or delete `gateways:` so the pair is derived",
        )
    for gateway in paired:
        if gateway.role != spec.redundant:
            yield error(
                "IS107",
                f"{gateway.path}.redundancy",
                f"gateway {gateway.name!r} (role {gateway.role!r}) is in a pair, but the stack's "
                f"redundant role is {spec.redundant!r}",
                f"set `redundant: {gateway.role}` if that role is the workhorse, or remove the redundancy",
            )


# What the two nodes of a pair may differ in; every other field must agree, so a field added
# to the IR is checked by default. (Kubernetes runs a pair as one StatefulSet whose two pods
# share a template; only a node's redundancy.xml, connections and public address are handed to it
# by ordinal.)
# The edition has its own rule (IS106); the heap follows memory_mb.
PAIR_NODES_MAY_DIFFER = frozenset(
    {
        "name",
        "http_port",
        "volume",
        "connections",
        "redundancy",
        "path",
        "replica",
        "edition",
        "heap_mb",
        # Each node has a license of its own (a backup may have a backup-only one, or none).
        "license",
        # Each node has its own external name (the official chart's primary/backupPublicAddress).
        "public_address",
        # A backup may have a web host of its own (emitter.web).
        "web_host",
        # The role's backup is restored by the master only; the backup takes it when it pairs.
        "restore",
    }
)


def pair_nodes_agree(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    for master, backup in stack.pairs:
        if backup.redundancy is None or backup.redundancy.peer != master.name:
            continue  # IS103/IS104 report it
        for field in Gateway.model_fields:
            if field in PAIR_NODES_MAY_DIFFER:
                continue
            if getattr(backup, field) != getattr(master, field):
                yield error(
                    "IS123",
                    f"{backup.path}.{field}",
                    f"{field} of backup {backup.name!r} differs from its master {master.name!r}; "
                    "both nodes of a pair run the same gateway",
                    f"give {backup.name!r} the same {field} as {master.name!r}",
                )
