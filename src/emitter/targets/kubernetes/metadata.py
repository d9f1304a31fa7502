"""Names, labels and selectors of the Kubernetes objects.

Object names and selectors are a contract: overlays patch objects by name, and a StatefulSet's
selector can never change once applied. Changing anything here is a breaking change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubernetes.client.models import V1LabelSelector, V1ObjectMeta

from emitter.ir import Gateway, Stack
from emitter.names import HEADLESS_SUFFIX

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
VERSION_LABEL = "app.kubernetes.io/version"
REDUNDANCY_LABEL = "ignition-stack.io/redundancy"
PAIR_LABEL = "ignition-stack.io/pair"
NETWORK_LABEL_PREFIX = "network.ignition-stack.io/"
NETWORK_MEMBER = "member"
CHECKSUM_ANNOTATION = "ignition-stack.io/config-checksum"
GATEWAY_NETWORK_ANNOTATION = "ignition-stack.io/gateway-network"

APPLICATION = "ignition"
MANAGER = "ignition-stack"
PAIR_SUFFIX = "-pair"

# A label value: at most 63 characters, alphanumeric at both ends.
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Workload:
    """What one StatefulSet runs: a single gateway, or a replicated tier of identical gateways.

    A replicated tier's pods are ``<role>-0`` .. ``<role>-<N-1>``, exactly the IR's gateway
    names; ``rules.py`` guarantees those gateways differ only in name, port and volume, so the
    first one stands for all of them in the pod template.
    """

    name: str
    role: str
    gateways: tuple[Gateway, ...]
    replicated: bool

    @property
    def template(self) -> Gateway:
        return self.gateways[0]

    @property
    def headless_service(self) -> str:
        return self.name + HEADLESS_SUFFIX


def workloads_of(stack: Stack) -> tuple[Workload, ...]:
    """One workload per replicated tier, and one per gateway of every other tier."""
    by_name = {gateway.name: gateway for gateway in stack.gateways}
    found: list[Workload] = []
    for tier in stack.tiers:
        members = tuple(by_name[name] for name in tier.gateways)
        if tier.replicated:
            found.append(Workload(tier.role, tier.role, members, replicated=True))
        else:
            found.extend(
                Workload(gateway.name, tier.role, (gateway,), replicated=False)
                for gateway in members
            )
    return tuple(found)


def pair_of(stack: Stack, gateway: Gateway) -> tuple[Gateway, Gateway] | None:
    """The (master, backup) pair ``gateway`` belongs to, as the IR records it."""
    return next(
        (pair for pair in stack.pairs if gateway.name in (pair[0].name, pair[1].name)), None
    )


def image_version(reference: str) -> str | None:
    """The tag of an image reference, when it is usable as a label value.

    ``repo:8.3.6`` -> ``8.3.6``; ``registry:5000/repo@sha256:...`` (no tag) -> None.
    """
    name, separator, tag = reference.split("@", 1)[0].rpartition(":")
    if not (name and separator) or "/" in tag or len(tag) > 63 or not _LABEL_VALUE.match(tag):
        return None
    return tag or None


def stack_labels(stack: Stack, component: str | None = None) -> dict[str, str]:
    """Labels of objects that belong to the whole stack (or to a role, such as a pair's
    PodDisruptionBudget) rather than to one StatefulSet."""
    labels = {NAME_LABEL: APPLICATION}
    if component is not None:
        labels[COMPONENT_LABEL] = component
    labels[PART_OF_LABEL] = stack.name
    labels[MANAGED_BY_LABEL] = MANAGER
    version = image_version(stack.image)
    if version is not None:
        labels[VERSION_LABEL] = version
    return labels


def workload_labels(stack: Stack, workload: Workload) -> dict[str, str]:
    """Labels of a StatefulSet and of the objects that serve it (Services, ConfigMaps, PDBs)."""
    labels = {NAME_LABEL: APPLICATION, INSTANCE_LABEL: workload.name}
    labels.update(stack_labels(stack, component=workload.role))
    return labels


def selector_labels(workload: Workload) -> dict[str, str]:
    """name + instance only: a StatefulSet's selector is immutable, so it must never carry a
    label whose value can change (version, component, pair, networks)."""
    return {NAME_LABEL: APPLICATION, INSTANCE_LABEL: workload.name}


def pair_labels(stack: Stack, master: Gateway) -> dict[str, str]:
    """Selects both nodes of a pair (PodDisruptionBudget, anti-affinity)."""
    return {PAIR_LABEL: master.role, PART_OF_LABEL: stack.name}


def network_label(network: str) -> str:
    return NETWORK_LABEL_PREFIX + network


def pod_labels(stack: Stack, workload: Workload) -> dict[str, str]:
    gateway = workload.template
    labels = workload_labels(stack, workload)
    pair = pair_of(stack, gateway)
    if pair is not None and gateway.redundancy is not None:
        labels[REDUNDANCY_LABEL] = gateway.redundancy.role.value
        labels[PAIR_LABEL] = pair[0].role
    for network in gateway.networks:
        labels[network_label(network)] = NETWORK_MEMBER
    return labels


def gateways_selector(stack: Stack) -> V1LabelSelector:
    """Every gateway pod of this stack (and nothing an overlay adds beside them)."""
    return V1LabelSelector(match_labels={NAME_LABEL: APPLICATION, PART_OF_LABEL: stack.name})


def object_meta(
    name: str, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> V1ObjectMeta:
    return V1ObjectMeta(name=name, labels=labels, annotations=annotations or None)
