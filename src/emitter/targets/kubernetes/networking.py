"""Services and NetworkPolicies.

Per StatefulSet a headless Service (stable pod DNS); per gateway outside a replicated tier (a
pair's master and backup included) a ClusterIP Service named exactly like the gateway, because that name is what other gateways' Gateway Network
connections and a backup's redundancy.xml point at (``link.target``,
``redundancy.master_host``); per replicated tier a ClusterIP Service that spreads users over it.
"""

from __future__ import annotations

from kubernetes.client.models import (
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicyIngressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1Service,
    V1ServicePort,
    V1ServiceSpec,
)

from emitter import image
from emitter.ir import Stack
from emitter.targets.kubernetes.metadata import (
    NETWORK_MEMBER,
    Workload,
    gateways_selector,
    network_label,
    node_selector,
    object_meta,
    selector_labels,
    stack_labels,
    workload_labels,
)

WEB_POLICY = "gateway-web"
NETWORK_POLICY_PREFIX = "gateway-network-"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
WEB_PORTS = (("http", image.HTTP_PORT), ("https", image.HTTPS_PORT))
GATEWAY_PORTS = (*WEB_PORTS, ("gan", image.GAN_SSL_PORT))


def _ports(ports: tuple[tuple[str, int], ...]) -> list[V1ServicePort]:
    return [
        V1ServicePort(name=name, port=number, target_port=name, protocol="TCP")
        for name, number in ports
    ]


def services(stack: Stack, workloads: tuple[Workload, ...]) -> list[V1Service]:
    found: list[V1Service] = []
    for workload in workloads:
        labels = workload_labels(stack, workload)
        selector = selector_labels(workload)
        found.append(
            V1Service(
                api_version="v1",
                kind="Service",
                metadata=object_meta(workload.headless_service, labels),
                spec=V1ServiceSpec(
                    cluster_ip="None",
                    # Pod DNS must exist before readiness: a backup turns ready only after it
                    # has reached its master.
                    publish_not_ready_addresses=True,
                    ports=_ports(GATEWAY_PORTS),
                    selector=selector,
                ),
            )
        )
        if workload.replicated:
            # Users reach any ready member of the tier; not-ready ones get no traffic.
            found.append(
                V1Service(
                    api_version="v1",
                    kind="Service",
                    metadata=object_meta(workload.role, labels),
                    spec=V1ServiceSpec(
                        type="ClusterIP", ports=_ports(WEB_PORTS), selector=selector
                    ),
                )
            )
        else:
            # One Service per node, named like the gateway (and the Compose service): a pair's
            # `<master>` selects its ordinal-0 pod, `<backup>` its ordinal-1 pod.
            found.extend(
                V1Service(
                    api_version="v1",
                    kind="Service",
                    metadata=object_meta(gateway.name, labels),
                    spec=V1ServiceSpec(
                        type="ClusterIP",
                        # The backup's redundancy link must not wait for the master's readiness,
                        # and the backup's own readiness waits for that link.
                        publish_not_ready_addresses=True,
                        ports=_ports(GATEWAY_PORTS),
                        selector=node_selector(workload, ordinal),
                    ),
                )
                for ordinal, gateway in enumerate(workload.gateways)
            )
    return found


def _ingress_rule(peers: list[V1NetworkPolicyPeer], ports: list[int]) -> V1NetworkPolicyIngressRule:
    rule = V1NetworkPolicyIngressRule(
        ports=[V1NetworkPolicyPort(port=port, protocol="TCP") for port in ports]
    )
    # The model's constructor silently drops `var_from=` (it takes `from`/`_from`, which the
    # type checker does not know); assigning the field is validated and typed.
    rule.var_from = peers
    return rule


def network_policies(stack: Stack, web_access_namespaces: list[str]) -> list[V1NetworkPolicy]:
    """NetworkPolicies only ever add allowed traffic, and a pod selected by any Ingress policy
    accepts nothing else: so the gateways take Gateway Network traffic only from members of
    the same network, and web traffic from their own namespace and the namespaces listed
    (an ingress controller's). ``kubectl port-forward`` goes through the kubelet and is not
    affected. On the plain link the Gateway Network shares port 8088 with the web UI, which
    ``gateway-web`` opens to the namespace: the separation by network holds with SSL only."""
    found: list[V1NetworkPolicy] = []
    for network in stack.networks:
        members = V1LabelSelector(match_labels={network_label(network): NETWORK_MEMBER})
        found.append(
            V1NetworkPolicy(
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                metadata=object_meta(NETWORK_POLICY_PREFIX + network, stack_labels(stack)),
                spec=V1NetworkPolicySpec(
                    pod_selector=members,
                    policy_types=["Ingress"],
                    ingress=[
                        _ingress_rule(
                            [V1NetworkPolicyPeer(pod_selector=members)],
                            [stack.gateway_network.port],
                        )
                    ],
                ),
            )
        )
    # A pod selector without a namespace selector: every pod of the stack's own namespace.
    peers = [V1NetworkPolicyPeer(pod_selector=V1LabelSelector())]
    peers.extend(
        V1NetworkPolicyPeer(
            namespace_selector=V1LabelSelector(match_labels={NAMESPACE_NAME_LABEL: namespace})
        )
        for namespace in web_access_namespaces
    )
    found.append(
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=object_meta(WEB_POLICY, stack_labels(stack)),
            spec=V1NetworkPolicySpec(
                pod_selector=gateways_selector(stack),
                policy_types=["Ingress"],
                ingress=[_ingress_rule(peers, [number for _, number in WEB_PORTS])],
            ),
        )
    )
    return found
