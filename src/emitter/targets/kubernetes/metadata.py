"""Names, labels and selectors of the Kubernetes objects.

Object names and selectors are a contract: overlays patch objects by name, and a StatefulSet's
selector can never change once applied. Changing anything here is a breaking change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubernetes.client.models import V1LabelSelector, V1ObjectMeta

from emitter.ir import Gateway, Stack
from emitter.targets.kubernetes.names import HEADLESS_SUFFIX

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
VERSION_LABEL = "app.kubernetes.io/version"
PAIR_LABEL = "ignition-stack.io/pair"
NETWORK_LABEL_PREFIX = "network.ignition-stack.io/"
NETWORK_MEMBER = "member"
# Set by the StatefulSet controller on every pod: a Service selects one pod of a pair by it, and
# the downward API hands the ordinal to the pod (apps.kubernetes.io/pod-index, Kubernetes 1.28+).
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
CHECKSUM_ANNOTATION = "ignition-stack.io/config-checksum"
GATEWAY_NETWORK_ANNOTATION = "ignition-stack.io/gateway-network"

APPLICATION = "ignition"
MANAGER = "ignition-stack"
PAIR_SUFFIX = "-pair"

# A label value: at most 63 characters, alphanumeric at both ends.
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Workload:
    """What one StatefulSet runs: a single gateway, a master/backup pair, or a replicated tier of
    identical gateways. ``gateways[i]`` runs as the pod of ordinal ``i``.

    A pair is one StatefulSet of two replicas, the master at ordinal 0 and the backup at
    ordinal 1: a rolling update replaces the highest ordinal first and waits for it to be ready
    before the next, so every change replaces the backup, waits until it is back and paired,
    then replaces the master (the upgrade order Inductive Automation documents for a pair; the
    official Helm chart gets it the same way). Two one-replica StatefulSets would be rolled
    together. The pods differ only in what ``configuration.py`` hands each ordinal.

    A replicated tier's pods are ``<role>-0`` .. ``<role>-<N-1>``, exactly the IR's gateway
    names; ``rules/topology.py`` guarantees those gateways differ only in what ``TIER_MEMBERS_MAY_DIFFER``
    lists (name, port, volume, ...), so the first one stands for all of them in the pod template (and likewise for a pair's nodes, apart
    from their redundancy and connections).
    """

    name: str
    role: str
    gateways: tuple[Gateway, ...]
    replicated: bool

    @property
    def template(self) -> Gateway:
        return self.gateways[0]

    @property
    def paired(self) -> bool:
        return not self.replicated and len(self.gateways) == 2

    def pod_name(self, ordinal: int) -> str:
        return f"{self.name}-{ordinal}"

    @property
    def headless_service(self) -> str:
        return self.name + HEADLESS_SUFFIX


def workloads_of(stack: Stack) -> tuple[Workload, ...]:
    """One workload per replicated tier, one per pair (named after its master), and one per
    other gateway."""
    by_name = {gateway.name: gateway for gateway in stack.gateways}
    backup_of = {master.name: backup for master, backup in stack.pairs}
    backups = {backup.name for backup in backup_of.values()}
    found: list[Workload] = []
    for tier in stack.tiers:
        members = tuple(by_name[name] for name in tier.gateways)
        if tier.replicated:
            found.append(Workload(tier.role, tier.role, members, replicated=True))
            continue
        for gateway in members:
            if gateway.name in backups:
                continue  # runs in its master's workload
            nodes = (gateway, backup_of[gateway.name]) if gateway.name in backup_of else (gateway,)
            found.append(Workload(gateway.name, tier.role, nodes, replicated=False))
    return tuple(found)


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


def node_selector(workload: Workload, ordinal: int) -> dict[str, str]:
    """Selects the one pod that runs ``workload.gateways[ordinal]`` (a node's own Service)."""
    selector = selector_labels(workload)
    if len(workload.gateways) > 1:
        selector[POD_NAME_LABEL] = workload.pod_name(ordinal)
    return selector


def pod_labels(stack: Stack, workload: Workload) -> dict[str, str]:
    gateway = workload.template
    labels = workload_labels(stack, workload)
    # Both pods of a pair share the template, so no label can tell master from backup: their
    # ordinals (pod names) do.
    if workload.paired:
        labels[PAIR_LABEL] = gateway.role
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
