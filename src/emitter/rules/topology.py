"""The topology: roles of the architecture, the redundant and edge roles, host ports, the
Gateway Network connections, replicated tiers and their counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from emitter.architectures import ARCHITECTURES, Architecture
from emitter.diagnostics import Diagnostic, error
from emitter.ir import Gateway, Stack
from emitter.resolve import NO_ROLE
from emitter.spec import StackSpec
from emitter.vocabulary import Edition, NodeRole


def redundant_role_problem(
    architecture: Architecture, role: str, path: str = "redundant"
) -> Diagnostic | None:
    """Is ``role`` a role of ``architecture`` that can be made redundant? Used for both the
    stack file and the ``--redundant`` flag, so both say the same thing."""
    shape = architecture.role(role)
    valid = architecture.workhorse
    if shape is None:
        return error(
            "IS102",
            path,
            f"architecture {architecture.name} has no role {role!r} to make redundant "
            f"(its roles: {', '.join(architecture.role_names)})",
            f"the redundant role for {architecture.name} is {valid!r}: use `--redundant {valid}`, "
            "or `--redundant none` for no pair",
        )
    if shape.replicated:
        return error(
            "IS101",
            path,
            f"{role!r} is a replicated tier of {architecture.name}: it scales out horizontally "
            "and never fails over (Ignition redundancy is one master and one backup)",
            f"the redundant role for {architecture.name} is {valid!r}: use `--redundant {valid}`",
        )
    return None


def edge_role_problem(
    architecture: Architecture, role: str, path: str = "edge_role"
) -> Diagnostic | None:
    if role == NO_ROLE or architecture.role(role) is not None:
        return None
    return error(
        "IS108",
        path,
        f"architecture {architecture.name} has no role {role!r} to run the Edge edition",
        f"use one of {', '.join(architecture.role_names)}, or `none`",
    )


def roles_known(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    for gateway in stack.gateways:
        if architecture.role(gateway.role) is None:
            yield error(
                "IS117",
                f"{gateway.path}.role",
                f"architecture {architecture.name} has no role {gateway.role!r}",
                f"use one of {', '.join(architecture.role_names)}, or delete `gateways:` to re-derive them",
            )


def redundant_role(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    if spec.redundant is not None:
        problem = redundant_role_problem(ARCHITECTURES[spec.architecture], spec.redundant)
        if problem:
            yield problem


def edge_role(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    edge_role = spec.edge_role or NO_ROLE
    problem = edge_role_problem(architecture, edge_role)
    if problem:
        yield problem
        return
    for gateway in stack.gateways:
        expected = Edition.EDGE if gateway.role == edge_role else Edition.STANDARD
        if architecture.role(gateway.role) is not None and gateway.edition is not expected:
            yield error(
                "IS109",
                f"{gateway.path}.edition",
                f"gateway {gateway.name!r} is {gateway.edition}, but edge_role is {edge_role!r}",
                f"set edition: {expected}, or change edge_role (every gateway of a role has its edition)",
            )


def host_ports(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    owners: dict[int, list[Gateway]] = defaultdict(list)
    for gateway in stack.gateways:
        owners[gateway.http_port].append(gateway)
    for port, gateways in owners.items():
        for gateway in gateways[1:]:
            yield error(
                "IS112",
                f"{gateway.path}.http_port",
                f"host port {port} of {gateway.name!r} is already used by {gateways[0].name!r}",
                "give every gateway its own http_port",
            )


def connections(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    for gateway in stack.gateways:
        for index, link in enumerate(gateway.connections):
            path = f"{gateway.path}.connections[{index}]"
            target = stack.gateway(link.target)
            if link.target == gateway.name:
                yield error(
                    "IS114",
                    path,
                    f"gateway {gateway.name!r} connects to itself",
                    "remove the connection",
                )
            elif target is None:
                yield error(
                    "IS114",
                    path,
                    f"gateway {gateway.name!r} connects to {link.target!r}, which does not exist",
                    f"use one of {', '.join(g.name for g in stack.gateways if g.name != gateway.name)}",
                )
            elif not set(gateway.networks) & set(target.networks):
                yield error(
                    "IS115",
                    path,
                    f"{gateway.name!r} connects to {link.target!r} but they share no network",
                    f"add a network of {link.target!r} ({', '.join(target.networks)}) to {gateway.name!r}",
                )
        redundancy = gateway.redundancy
        peer = stack.gateway(redundancy.peer) if redundancy else None
        if (
            peer is not None
            and redundancy is not None
            and redundancy.role is NodeRole.BACKUP
            and not (set(gateway.networks) & set(peer.networks))
        ):
            yield error(
                "IS115",
                f"{gateway.path}.networks",
                f"backup {gateway.name!r} shares no network with its master {peer.name!r}",
                "put both gateways of the pair on the same network",
            )


# What the gateways of a replicated tier may differ in; every other field must agree, so a
# field added to the IR is checked by default. (Kubernetes renders a whole tier as one pod
# template from its first gateway: a pod learns only its own name, and from it its system
# name, which the target derives per pod.) The tier's order and redundancy have their own
# rules (IS116 names, IS101); the heap follows memory_mb.
TIER_MEMBERS_MAY_DIFFER = frozenset(
    {"name", "system_name", "http_port", "volume", "path", "replica", "redundancy", "heap_mb"}
)


def replicated_tiers(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    """A replicated tier is N identical gateways (one StatefulSet on Kubernetes): they may differ
    only in ``TIER_MEMBERS_MAY_DIFFER``, and are named ``<role>-0`` .. ``<role>-<N-1>``."""
    for tier in stack.tiers:
        if not tier.replicated:
            continue
        members = [gateway for gateway in stack.gateways if gateway.role == tier.role]
        first = members[0]
        for position, gateway in enumerate(members):
            if gateway.replica != position:
                yield error(
                    "IS116",
                    f"{gateway.path}.name",
                    f"gateway {gateway.name!r} of replicated tier {tier.role!r} must be named "
                    f"{tier.role}-{position}",
                    f"replicated gateways are named {tier.role}-0 .. {tier.role}-{len(members) - 1}, in order",
                )
            if gateway.redundancy is not None:
                yield error(
                    "IS101",
                    f"{gateway.path}.redundancy",
                    f"gateway {gateway.name!r} belongs to replicated tier {tier.role!r}, which never fails over",
                    f"remove its redundancy; the redundant role is {ARCHITECTURES[spec.architecture].workhorse!r}",
                )
            for field in type(gateway).model_fields:
                if field in TIER_MEMBERS_MAY_DIFFER:
                    continue
                if getattr(gateway, field) != getattr(first, field):
                    yield error(
                        "IS116",
                        f"{gateway.path}.{field}",
                        f"{field} of {gateway.name!r} differs from {first.name!r}; the gateways of "
                        f"replicated tier {tier.role!r} are identical",
                        f"give every {tier.role} the same {field}",
                    )


def replica_option_problem(architecture: Architecture, option: str, path: str) -> Diagnostic | None:
    """Is ``option`` (``frontends`` / ``spokes``) the count of a tier ``architecture`` has? For
    the stack file and the flag alike, so a count that would be ignored is never taken."""
    if architecture.replica_option == option:
        return None
    owner = next(a for a in ARCHITECTURES.values() if a.replica_option == option)
    fix = f"use `{architecture.replica_option}`" if architecture.replica_option else "remove it"
    return error(
        "IS126",
        path,
        f"{path} applies to the {owner.name} architecture, not {architecture.name}",
        f"{fix}, or set `architecture: {owner.name}` (`--arch {owner.name}`)",
    )


def counts_apply(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    for option in ("frontends", "spokes"):
        if getattr(spec, option) is not None:
            problem = replica_option_problem(architecture, option, option)
            if problem:
                yield problem


def counts_match(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    option = architecture.replica_option
    tier = architecture.replicated_role
    if option is None or tier is None:
        return
    wanted = getattr(spec, option)
    listed = sum(gateway.role == tier.name for gateway in stack.gateways)
    if wanted is not None and wanted != listed:
        yield error(
            "IS119",
            option,
            f"{option} is {wanted}, but gateways lists {listed} {tier.name} gateway(s)",
            f"delete `gateways:` to re-derive them from {option}, or set {option}: {listed}",
        )
