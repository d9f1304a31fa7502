"""Every rule a stack must satisfy, in one place, one small function per rule.

Each rule reads the explicit stack file and the IR and yields diagnostics with a stable code,
the dotted path into the stack file, and a hint. ``check`` runs them all, so a user sees every
problem at once. The codes, their severity and summary are the table in ``codes.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

from emitter.advice import eula_rule, plain_transport_rule, spokes_rule
from emitter.architectures import ARCHITECTURES, Architecture
from emitter.diagnostics import Diagnostic, Severity, error, preview
from emitter.gateway_settings import settings_rules
from emitter.image import ReleaseTooOld, read_release, supported_releases
from emitter.ir import Gateway, Stack
from emitter.licensing import license_rules
from emitter.modules import module_rules
from emitter.names import DNS_LABEL, DNS_LABEL_LENGTH, GATEWAY_NAME
from emitter.reference import parse_image_reference
from emitter.resolve import NO_ROLE
from emitter.restore import restore_rules
from emitter.spec import DEFAULT_IMAGE, StackSpec
from emitter.targets import registry
from emitter.targets.kubernetes.active_rules import active_rules
from emitter.tool import check_tool
from emitter.vocabulary import Edition, NodeRole
from emitter.web import web_rules

Rule = Callable[[StackSpec, Stack], Iterator[Diagnostic]]

MAX_STACK_NAME = 40


def max_gateway_name() -> int:
    """The longest gateway name every target can use (its record's ``NameLimits``)."""
    limits = [t.limits.max_gateway_name for t in registry.targets() if t.limits.max_gateway_name]
    return min([DNS_LABEL_LENGTH, *limits])


def _reserved_suffixes() -> tuple[str, ...]:
    return tuple(suffix for t in registry.targets() for suffix in t.limits.suffixes)


def _reserved_names() -> frozenset[str]:
    return frozenset(name for t in registry.targets() for name in t.limits.names)


def name_problem(name: str, limit: int) -> str | None:
    """Why ``name`` is not a DNS-1123 label of at most ``limit`` characters, or None."""
    if len(name) > limit:
        return f"{name!r} is {len(name)} characters long; the limit is {limit}"
    if not DNS_LABEL.match(name):
        return f"{name!r} is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending alphanumeric)"
    return None


def gateway_name_problem(name: str) -> str | None:
    """Gateway names also name the targets' objects; some targets need a letter first."""
    problem = name_problem(name, max_gateway_name())
    reasons = [t.limits.letter_first for t in registry.targets() if t.limits.letter_first]
    if problem is None and reasons and not GATEWAY_NAME.match(name):
        return f"{name!r} starts with a digit; gateway names start with a letter ({'; '.join(reasons)})"
    return problem


def stack_name_problem(name: str) -> Diagnostic | None:
    problem = name_problem(name, MAX_STACK_NAME)
    if problem is None:
        return None
    return error("IS110", "name", f"stack name {problem}", "use something like `plant-a` or `demo`")


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


def _stack_name(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    problem = stack_name_problem(spec.name)
    if problem:
        yield problem


def image_problem(image: str) -> Diagnostic | None:
    """An image must be a reference Docker and Kubernetes accept, pinned to a tag or digest
    that does not move: every gateway of a pair must run the same release, always."""
    try:
        reference = parse_image_reference(image)
    except ValueError as reason:
        return error(
            "IS121",
            "image",
            f"image {preview(image)!r} is not an image reference: {reason}",
            f"write [registry[:port]/]repository:tag, optionally followed by @sha256:<digest>, "
            f"e.g. `{DEFAULT_IMAGE}`",
        )
    if reference.digest is not None:
        return None
    if reference.tag is None:
        why = "has no tag or digest, so it means the `latest` tag"
    elif reference.tag.lower() == "latest":
        why = "is tagged `latest`"
    else:
        return None
    return error(
        "IS122",
        "image",
        f"image {image!r} {why}, which moves to each new release: it is not pinned",
        f"pin a release tag (and, to be exact, its digest after it), e.g. `{DEFAULT_IMAGE}`",
    )


def release_problem(image: str) -> Diagnostic | None:
    """A pinned image must name an Ignition release this tool supports in its tag: 8.1 and 8.3
    keep the Gateway Network files in different places (``image.RELEASES``)."""
    try:
        read_release(image)
    except ValueError as reason:
        example = f"{DEFAULT_IMAGE}@sha256:<digest>" if "@" in image else DEFAULT_IMAGE
        hint = (
            f"use Ignition {reason.oldest} or a later patch, or 8.3 (e.g. `{DEFAULT_IMAGE}`)"
            if isinstance(reason, ReleaseTooOld)
            else f"tag the image with its Ignition release, e.g. `{example}` "
            "(a mirror's tag may add a suffix: `8.3.6-site1`)"
        )
        return error(
            "IS128",
            "image",
            f"image {preview(image)!r} names no Ignition release ignition-stack supports: "
            f"{reason}; supported: {supported_releases()}",
            hint,
        )
    return None


def _image(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    problem = image_problem(spec.image) or release_problem(spec.image)
    if problem:
        yield problem


def _gateway_names(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    counts = Counter(gateway.name for gateway in stack.gateways)
    replicated_roles = {tier.role for tier in stack.tiers if tier.replicated}
    suffixes, reserved_names = _reserved_suffixes(), _reserved_names()
    for gateway in stack.gateways:
        problem = gateway_name_problem(gateway.name)
        if problem:
            yield error(
                "IS110", f"{gateway.path}.name", f"gateway name {problem}", "rename the gateway"
            )
        reserved = next((suffix for suffix in suffixes if gateway.name.endswith(suffix)), None)
        if reserved or gateway.name in replicated_roles or gateway.name in reserved_names:
            if reserved:
                taken_by = (
                    f"the names ending in {reserved!r} that targets derive from gateway names"
                )
            elif gateway.name in reserved_names:
                taken_by = "a service of the stack's own (the SSL certificate authority)"
            else:
                taken_by = f"the objects of replicated tier {gateway.name!r}"
            yield error(
                "IS113",
                f"{gateway.path}.name",
                f"gateway name {gateway.name!r} collides with {taken_by}",
                "rename the gateway",
            )
        if counts[gateway.name] > 1:
            yield error(
                "IS111",
                f"{gateway.path}.name",
                f"gateway name {gateway.name!r} is used {counts[gateway.name]} times",
                "every gateway needs its own name",
            )


def _network_names(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    for gateway in stack.gateways:
        for index, network in enumerate(gateway.networks):
            problem = name_problem(network, max_gateway_name())
            if problem:
                yield error(
                    "IS110",
                    f"{gateway.path}.networks[{index}]",
                    f"network name {problem}",
                    "rename the network",
                )
        if not gateway.networks:
            yield error(
                "IS115",
                f"{gateway.path}.networks",
                f"gateway {gateway.name!r} joins no network",
                "list at least one network",
            )


def _roles_known(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    for gateway in stack.gateways:
        if architecture.role(gateway.role) is None:
            yield error(
                "IS117",
                f"{gateway.path}.role",
                f"architecture {architecture.name} has no role {gateway.role!r}",
                f"use one of {', '.join(architecture.role_names)}, or delete `gateways:` to re-derive them",
            )


def _redundant_role(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    if spec.redundant is not None:
        problem = redundant_role_problem(ARCHITECTURES[spec.architecture], spec.redundant)
        if problem:
            yield problem


def _edge_role(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _pairs(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _pair_matches_redundant(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _host_ports(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _volumes(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    owners: dict[str, str] = {}
    # With SSL a target may name a volume after every gateway (its Gateway Network certificates).
    certificates = {
        gateway.name + suffix: gateway.name
        for target in registry.targets()
        for suffix in target.limits.volume_suffixes
        for gateway in stack.gateways
    }
    reserved_names = _reserved_names()
    for gateway in stack.gateways:
        if gateway.volume in owners:
            yield error(
                "IS120",
                f"{gateway.path}.volume",
                f"volume {gateway.volume!r} of {gateway.name!r} is already used by {owners[gateway.volume]!r}",
                "every gateway needs its own data volume (the redundancy role lives in it)",
            )
        else:
            owners[gateway.volume] = gateway.name
        problem = name_problem(gateway.volume, 63)
        if problem:
            yield error(
                "IS110", f"{gateway.path}.volume", f"volume name {problem}", "rename the volume"
            )
        if gateway.volume in reserved_names:
            yield error(
                "IS113",
                f"{gateway.path}.volume",
                f"volume name {gateway.volume!r} is taken by the stack's certificate authority",
                "rename the volume",
            )
        elif gateway.volume in certificates:
            yield error(
                "IS113",
                f"{gateway.path}.volume",
                f"volume name {gateway.volume!r} is taken by the Gateway Network certificates "
                f"of {certificates[gateway.volume]!r}",
                "rename the volume",
            )


def _connections(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _replicated_tiers(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _pair_nodes_agree(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def _counts_apply(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    for option in ("frontends", "spokes"):
        if getattr(spec, option) is not None:
            problem = replica_option_problem(architecture, option, option)
            if problem:
                yield problem


def _counts_match(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


RULES: tuple[Rule, ...] = (
    _stack_name,
    _image,
    check_tool,
    _gateway_names,
    _network_names,
    _roles_known,
    _redundant_role,
    _edge_role,
    _pairs,
    _pair_matches_redundant,
    _pair_nodes_agree,
    _host_ports,
    _volumes,
    _connections,
    _replicated_tiers,
    _counts_apply,
    _counts_match,
    settings_rules,
    spokes_rule,
    plain_transport_rule,
    eula_rule,
    license_rules,
    module_rules,
    restore_rules,
    web_rules,
    active_rules,
)


def check(spec: StackSpec, stack: Stack, strict: bool = False) -> list[Diagnostic]:
    """Run every rule; with ``strict`` warnings become errors."""
    found = [diagnostic for rule in RULES for diagnostic in rule(spec, stack)]
    if strict:
        found = [d.promoted() if d.severity is Severity.WARNING else d for d in found]
    return found
