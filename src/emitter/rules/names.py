"""Names: the stack's, its gateways', networks' and volumes' (DNS-1123 labels that every
target can use and that no target's own objects take)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from emitter.diagnostics import Diagnostic, error
from emitter.ir import Stack
from emitter.names import DNS_LABEL, DNS_LABEL_LENGTH, GATEWAY_NAME
from emitter.spec import StackSpec
from emitter.targets import registry

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


def stack_name(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    problem = stack_name_problem(spec.name)
    if problem:
        yield problem


def gateway_names(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def network_names(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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


def volumes(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
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
