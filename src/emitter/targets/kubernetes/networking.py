"""Services and NetworkPolicies.

Per StatefulSet a headless Service (stable pod DNS); per gateway outside a replicated tier (a
pair's master and backup included) a ClusterIP Service named exactly like the gateway, because that name is what other gateways' Gateway Network
connections and a backup's redundancy.xml point at (``link.target``,
``redundancy.master_host``); per replicated tier a ClusterIP Service that spreads users over it.
"""

from __future__ import annotations

from kubernetes.client.models import (
    V1IPBlock,
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
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
from emitter.targets.kubernetes.options import KubernetesSpec

WEB_POLICY = "gateway-web"
NETWORK_POLICY_PREFIX = "gateway-network-"
EGRESS_POLICY = "gateway-egress"
# Per StatefulSet: `gateway-egress-<statefulset>` (never `<statefulset>-egress`: a gateway named
# `gateway` would collide with the stack-wide policy).
LINKS_POLICY_PREFIX = EGRESS_POLICY + "-"
DNS_LABELS = {"k8s-app": "kube-dns"}
DNS_PORT = 53
PLAIN_WEB_ANNOTATION = "ignition-stack.io/gateway-network"
PLAIN_WEB_NOTE = (
    "plain link: the Gateway Network shares port 8088 with the web UI, so every peer this policy"
    " admits can join it; only transport: ssl separates them (see docs/security.md)"
)
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


def network_policies(
    stack: Stack, workloads: tuple[Workload, ...], options: KubernetesSpec
) -> list[V1NetworkPolicy]:
    """Ingress (who may reach a gateway) and egress (what a gateway may reach) policies."""
    return [
        *ingress_policies(stack, options.web_access_namespaces),
        egress_policy(stack, options),
        *link_policies(stack, workloads),
    ]


def ingress_policies(stack: Stack, web_access_namespaces: list[str]) -> list[V1NetworkPolicy]:
    """NetworkPolicies only ever add allowed traffic, and a pod selected by any Ingress policy
    accepts nothing else: so the gateways take Gateway Network traffic only from members of
    the same network, and web traffic from their own namespace and the namespaces listed
    (an ingress controller's). ``kubectl port-forward`` goes through the kubelet and is not
    affected. On the plain link the Gateway Network shares port 8088 with the web UI, which
    ``gateway-web`` opens to the namespace: the separation by network holds with SSL only, and
    ``gateway-web`` says so in an annotation."""
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
    peers.extend(_namespace_peer(namespace) for namespace in web_access_namespaces)
    # Not narrowed to the gateways on the plain link: the web UI must stay reachable from the
    # namespace (a reverse proxy, an in-namespace ingress), and a port cannot tell a browser from
    # a Gateway Network peer. Plain is demo-only; `transport: ssl` is the separation.
    annotations = (
        {PLAIN_WEB_ANNOTATION: PLAIN_WEB_NOTE}
        if stack.gateway_network.port in {number for _, number in WEB_PORTS}
        else None
    )
    found.append(
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=object_meta(WEB_POLICY, stack_labels(stack), annotations),
            spec=V1NetworkPolicySpec(
                pod_selector=gateways_selector(stack),
                policy_types=["Ingress"],
                ingress=[_ingress_rule(peers, [number for _, number in WEB_PORTS])],
            ),
        )
    )
    return found


def _namespace_peer(namespace: str) -> V1NetworkPolicyPeer:
    return V1NetworkPolicyPeer(
        namespace_selector=V1LabelSelector(match_labels={NAMESPACE_NAME_LABEL: namespace})
    )


def _egress_rule(
    peers: list[V1NetworkPolicyPeer], ports: list[tuple[int, str]] | None = None
) -> V1NetworkPolicyEgressRule:
    """No ``ports``: every port of the peers."""
    return V1NetworkPolicyEgressRule(
        to=peers,
        ports=[V1NetworkPolicyPort(port=port, protocol=protocol) for port, protocol in ports]
        if ports
        else None,
    )


def egress_policy(stack: Stack, options: KubernetesSpec) -> V1NetworkPolicy:
    """Selecting every gateway for Egress makes everything they send denied unless some policy
    allows it: this one allows DNS and the destinations the stack file names
    (``kubernetes.egress_cidrs`` / ``egress_namespaces``, every port); ``link_policies`` the
    Gateway Network links. A compromised gateway reaches nothing else (docs/security.md)."""
    dns = V1NetworkPolicyPeer(
        # The cluster DNS pods carry k8s-app=kube-dns (CoreDNS keeps the label on kubeadm, EKS,
        # GKE, AKS and k3s) but do not live in the same namespace everywhere (kube-system mostly):
        # an empty namespace selector matches them in any namespace, and only them. A pod
        # selector alone would look in the stack's own namespace only.
        namespace_selector=V1LabelSelector(),
        pod_selector=V1LabelSelector(match_labels=dict(DNS_LABELS)),
    )
    rules = [_egress_rule([dns], [(DNS_PORT, "UDP"), (DNS_PORT, "TCP")])]
    extra = [V1NetworkPolicyPeer(ip_block=V1IPBlock(cidr=cidr)) for cidr in options.egress_cidrs]
    extra.extend(_namespace_peer(namespace) for namespace in options.egress_namespaces)
    if extra:
        rules.append(_egress_rule(extra))
    return V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=object_meta(EGRESS_POLICY, stack_labels(stack)),
        spec=V1NetworkPolicySpec(
            pod_selector=gateways_selector(stack), policy_types=["Egress"], egress=rules
        ),
    )


def link_policies(stack: Stack, workloads: tuple[Workload, ...]) -> list[V1NetworkPolicy]:
    """Per StatefulSet with outgoing links: egress to exactly the pods its gateways dial (each
    Gateway Network connection, and a backup's master), on the link's port. The pods of a
    StatefulSet share one template, so each may dial what any of them does."""
    pod_of = {
        gateway.name: node_selector(workload, ordinal)
        for workload in workloads
        for ordinal, gateway in enumerate(workload.gateways)
    }
    found: list[V1NetworkPolicy] = []
    for workload in workloads:
        targets: dict[int, list[str]] = {}
        for gateway in workload.gateways:
            links = [(link.target, link.port) for link in gateway.connections]
            if gateway.redundancy is not None and gateway.redundancy.master_host:
                links.append((gateway.redundancy.master_host, gateway.redundancy.port))
            for target, port in links:
                if target not in targets.setdefault(port, []):
                    targets[port].append(target)
        if not targets:
            continue
        rules = [
            _egress_rule(
                [
                    V1NetworkPolicyPeer(pod_selector=V1LabelSelector(match_labels=pod_of[name]))
                    for name in names
                ],
                [(port, "TCP")],
            )
            for port, names in sorted(targets.items())
        ]
        found.append(
            V1NetworkPolicy(
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                metadata=object_meta(
                    LINKS_POLICY_PREFIX + workload.name, workload_labels(stack, workload)
                ),
                spec=V1NetworkPolicySpec(
                    pod_selector=V1LabelSelector(match_labels=selector_labels(workload)),
                    policy_types=["Egress"],
                    egress=rules,
                ),
            )
        )
    return found
