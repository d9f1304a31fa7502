"""Web access with TLS on Kubernetes (``web:``, ``kubernetes.web``; emitter.web).

``route: ingress``: one Ingress with a rule per host, a cert-manager ``issuer`` or
``cluster-issuer`` annotation and ``spec.tls`` listing every host with one secretName; cert-manager's
ingress-shim then creates the Certificate (docs/research/around-gateways.md §4.2).
``route: httproute``: one Gateway API HTTPRoute per host, attached to a Gateway someone else owns;
TLS is that Gateway's listener's, not the route's (§4.3). The Gateway API CRDs (v1.3.0, standard
channel) and the Gateway are prerequisites the guide names.

A pair's role host reaches whichever node is active, through the Service ``<master>-active``
that selects the pod a marker beside each node labels active from the gateway's
``/system/gwinfo`` (``active.py``); a backup's own host (``web.hosts.<backup>``) reaches the
backup alone. A Service over both pods would send users to the standby too (the pair's readiness
counts a healthy standby backup as ready; §4.5).

A NetworkPolicy per routed StatefulSet admits its HTTP port from the ingress controller's
namespace (``controller_namespace``), matched by the ``kubernetes.io/metadata.name`` label
Kubernetes sets on every namespace.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.models import (
    V1HTTPIngressPath,
    V1HTTPIngressRuleValue,
    V1Ingress,
    V1IngressBackend,
    V1IngressRule,
    V1IngressServiceBackend,
    V1IngressSpec,
    V1IngressTLS,
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicySpec,
    V1ServiceBackendPort,
)

from emitter import image
from emitter.ir import Stack, WebRoute
from emitter.targets.kubernetes.active_rules import active_master
from emitter.targets.kubernetes.metadata import (
    Workload,
    object_meta,
    selector_labels,
    stack_labels,
    workload_labels,
)
from emitter.targets.kubernetes.names import ACTIVE_SUFFIX
from emitter.targets.kubernetes.networking import _ingress_rule, _namespace_peer
from emitter.targets.kubernetes.options import KubernetesSpec, KubernetesWebSpec

INGRESS = "web"
TLS_SECRET = "web-tls"
ROUTE_PREFIX = "web-"
POLICY_PREFIX = "gateway-web-proxy-"
COMPONENT = "web"
GATEWAY_API_VERSION = "v1.3.0"
HTTPROUTE_API = "gateway.networking.k8s.io/v1"
ISSUER_ANNOTATIONS = {
    "ClusterIssuer": "cert-manager.io/cluster-issuer",
    "Issuer": "cert-manager.io/issuer",
}


def options_of(settings: KubernetesSpec) -> KubernetesWebSpec:
    return settings.web or KubernetesWebSpec()


def backend_service(stack: Stack, route: WebRoute) -> str:
    """The Service a host reaches: a replicated tier's (named after its role), a pair's Service of
    its active node (``active.py``) for the role's host, else the gateway's own Service."""
    if route.replicated:
        return route.role
    master = active_master(stack, route)
    return route.gateways[0] if master is None else master + ACTIVE_SUFFIX


def objects(stack: Stack, workloads: tuple[Workload, ...], settings: KubernetesSpec) -> list[Any]:
    if not stack.web:
        return []
    web = options_of(settings)
    routes: list[Any] = (
        [_ingress(stack, web)]
        if web.route == "ingress"
        else [_http_route(stack, route, web) for route in stack.web]
    )
    return [*routes, *_policies(stack, workloads, web)]


def _ingress(stack: Stack, web: KubernetesWebSpec) -> V1Ingress:
    annotations = (
        {ISSUER_ANNOTATIONS[web.issuer.kind]: web.issuer.name} if web.issuer is not None else None
    )
    rules = [
        V1IngressRule(
            host=route.host,
            http=V1HTTPIngressRuleValue(
                paths=[
                    V1HTTPIngressPath(
                        path="/",
                        path_type="Prefix",
                        backend=V1IngressBackend(
                            service=V1IngressServiceBackend(
                                name=backend_service(stack, route),
                                port=V1ServiceBackendPort(number=image.HTTP_PORT),
                            )
                        ),
                    )
                ]
            ),
        )
        for route in stack.web
    ]
    return V1Ingress(
        api_version="networking.k8s.io/v1",
        kind="Ingress",
        metadata=object_meta(INGRESS, stack_labels(stack, COMPONENT), annotations),
        spec=V1IngressSpec(
            ingress_class_name=web.ingress_class,
            tls=[V1IngressTLS(hosts=[route.host for route in stack.web], secret_name=TLS_SECRET)],
            rules=rules,
        ),
    )


def _http_route(stack: Stack, route: WebRoute, web: KubernetesWebSpec) -> dict[str, Any]:
    parent = web.parent_gateway
    assert parent is not None, "rule IS163 requires parent_gateway"
    reference: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": parent.name,
    }
    if parent.namespace is not None:
        reference["namespace"] = parent.namespace
    if parent.section_name is not None:
        reference["sectionName"] = parent.section_name
    return {
        "apiVersion": HTTPROUTE_API,
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE_PREFIX + route.key, "labels": stack_labels(stack, COMPONENT)},
        "spec": {
            "parentRefs": [reference],
            "hostnames": [route.host],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [
                        {"name": backend_service(stack, route), "port": image.HTTP_PORT}
                    ],
                }
            ],
        },
    }


def _policies(
    stack: Stack, workloads: tuple[Workload, ...], web: KubernetesWebSpec
) -> list[V1NetworkPolicy]:
    """The routed StatefulSets' HTTP port, open to the ingress controller's namespace only."""
    if web.controller_namespace is None:
        return []  # warning IS212: only the stack's namespace reaches them (``gateway-web``)
    routed = {name for route in stack.web for name in route.gateways}
    return [
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=object_meta(POLICY_PREFIX + workload.name, workload_labels(stack, workload)),
            spec=V1NetworkPolicySpec(
                pod_selector=V1LabelSelector(match_labels=selector_labels(workload)),
                policy_types=["Ingress"],
                ingress=[
                    _ingress_rule(
                        [_namespace_peer(web.controller_namespace)],
                        [image.HTTP_PORT],
                    )
                ],
            ),
        )
        for workload in workloads
        if any(gateway.name in routed for gateway in workload.gateways)
    ]


def uses_http_routes(stack: Stack, settings: KubernetesSpec) -> bool:
    return bool(stack.web) and options_of(settings).route == "httproute"


HTTPROUTE_NOTE = (
    "# Needs the Gateway API CRDs (" + GATEWAY_API_VERSION + ", standard channel) and the parent\n"
    "# Gateway, with a TLS listener for this host that allows routes from this namespace;\n"
    "# see POST-SETUP.md.\n"
)
INGRESS_NOTE = (
    "# Needs an ingress controller and cert-manager (which issues the certificate of spec.tls\n"
    "# from the annotated issuer); see POST-SETUP.md.\n"
)


def note(document: dict[str, Any]) -> str:
    """Comment lines for the top of a web object's file ("" for any other object)."""
    if document.get("apiVersion") == HTTPROUTE_API and document.get("kind") == "HTTPRoute":
        return HTTPROUTE_NOTE
    if document.get("kind") == "Ingress":
        return INGRESS_NOTE
    return ""
