"""The ``kubernetes:`` key of ``stack.yaml``: options of the Kubernetes target."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from emitter.model import Model

# The number of a Kubernetes quantity (storage size, CPU): Kubernetes caps any quantity at
# 2^63-1 instead of refusing it, so more digits than that would silently mean something else.
QUANTITY_NUMBER = r"[0-9]{1,18}(\.[0-9]{1,9})?"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
QUANTITY_PATTERN = rf"^{QUANTITY_NUMBER}(Ki|Mi|Gi|Ti)$"


def _cidr(value: str) -> str:
    """An IPv4 or IPv6 network in CIDR notation, host bits zero (what a NetworkPolicy's ipBlock
    takes)."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR network such as 10.20.0.0/16: {exc}") from None
    if "/" not in value:
        raise ValueError("give the prefix length too, e.g. 10.20.0.5/32")
    return str(network)


class IssuerSpec(Model):
    """The cert-manager issuer of the Ingress's certificate."""

    name: str = Field(pattern=DNS_SUBDOMAIN, description="Name of the Issuer or ClusterIssuer.")
    kind: Literal["ClusterIssuer", "Issuer"] = Field(
        default="ClusterIssuer",
        description=(
            "`ClusterIssuer` (annotation `cert-manager.io/cluster-issuer`) or `Issuer`, in the "
            "stack's namespace (`cert-manager.io/issuer`)."
        ),
    )


class ParentGatewaySpec(Model):
    """A Gateway API Gateway owned by the cluster's operators, with a TLS listener."""

    name: str = Field(pattern=DNS_SUBDOMAIN, description="Name of the Gateway.")
    namespace: str | None = Field(
        default=None,
        pattern=DNS_LABEL_PATTERN,
        description=(
            "Its namespace; the stack's own when unset. Its listener must allow routes from "
            "the stack's namespace (`allowedRoutes`)."
        ),
    )
    section_name: str | None = Field(
        default=None,
        pattern=DNS_LABEL_PATTERN,
        description="The Gateway listener (its `name`) to attach to; every listener when unset.",
    )


class KubernetesWebSpec(Model):
    """How the `web:` hosts are routed on Kubernetes."""

    route: Literal["ingress", "httproute"] = Field(
        default="ingress",
        description=(
            "`ingress`: an Ingress with a cert-manager certificate; `httproute`: Gateway API "
            "HTTPRoutes attached to `parent_gateway`, which terminates TLS."
        ),
    )
    ingress_class: str | None = Field(
        default=None,
        pattern=DNS_SUBDOMAIN,
        description="The Ingress's `ingressClassName`; the cluster's default class when unset.",
    )
    issuer: IssuerSpec | None = Field(
        default=None,
        description="cert-manager issuer of the Ingress certificate: `{name, kind}`.",
    )
    parent_gateway: ParentGatewaySpec | None = Field(
        default=None,
        description="For `route: httproute`: the Gateway the routes attach to: `{name, namespace}`.",
    )
    controller_namespace: str | None = Field(
        default=None,
        pattern=DNS_LABEL_PATTERN,
        description=(
            "Namespace of the ingress controller (or Gateway implementation): the only "
            "namespace besides the stack's own whose pods may reach the routed gateways' HTTP port."
        ),
    )
    api_server_cidrs: list[Annotated[str, AfterValidator(_cidr)]] = Field(
        default_factory=list,
        description=(
            "The Kubernetes API server's addresses (CIDR, e.g. `172.18.0.2/32`; "
            "`kubectl get endpoints kubernetes -n default` lists them). Required when a "
            "redundant role has a host: the marker beside each node of the pair labels the "
            "active pod through the API, and the gateways' egress policy must let it reach the "
            "API server (ports 443 and 6443)."
        ),
    )


class KubernetesDatabaseSpec(Model):
    """The stack's database on Kubernetes: a CloudNativePG ``Cluster`` (emitter.database)."""

    instances: int = Field(
        default=1,
        ge=1,
        le=9,
        description="PostgreSQL instances: 1, or more for a primary with standby replicas.",
    )
    storage_size: str = Field(
        default="5Gi",
        pattern=QUANTITY_PATTERN,
        description="Size of each instance's volume claim.",
    )
    storage_class: str | None = Field(
        default=None,
        pattern=DNS_SUBDOMAIN,
        description="Storage class of the database's volumes; cluster default when unset.",
    )


class KubernetesSpec(Model):
    """Options of the Kubernetes target; overlays can change them per environment too."""

    storage_size: str = Field(
        default="3Gi",
        pattern=QUANTITY_PATTERN,
        description="Size of each gateway's data volume claim.",
    )
    storage_class: str | None = Field(
        default=None,
        pattern=DNS_SUBDOMAIN,
        description="Storage class of the data volumes; cluster default when unset.",
    )
    cpu_request: str = Field(
        default="500m", pattern=rf"^{QUANTITY_NUMBER}m?$", description="CPU request per gateway."
    )
    cpu_limit: str = Field(
        default="2", pattern=rf"^{QUANTITY_NUMBER}m?$", description="CPU limit per gateway."
    )
    web_access_namespaces: list[Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN)]] = (
        Field(
            default_factory=list,
            description=(
                "Namespaces (e.g. your ingress controller's) allowed to reach the gateways' web port, "
                "besides the stack's own namespace."
            ),
        )
    )
    pair_anti_affinity: Literal["preferred", "required"] = Field(
        default="preferred",
        description="Keep master and backup on different nodes: `preferred`, or `required` (needs >= 2 nodes).",
    )
    egress_cidrs: list[Annotated[str, AfterValidator(_cidr)]] = Field(
        default_factory=list,
        description=(
            "IP ranges (CIDR, e.g. `10.20.0.0/16` for your databases and PLCs) the gateways may "
            "reach on any port. Otherwise they reach only cluster DNS and the gateways they link to."
        ),
    )
    egress_namespaces: list[Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN)]] = Field(
        default_factory=list,
        description="Namespaces whose pods the gateways may reach on any port (e.g. a database's).",
    )
    ephemeral_storage_request: str = Field(
        default="1Gi",
        pattern=QUANTITY_PATTERN,
        description="Ephemeral storage (logs, temporary files) requested per gateway container.",
    )
    ephemeral_storage_limit: str = Field(
        default="4Gi",
        pattern=QUANTITY_PATTERN,
        description="Ephemeral storage limit per gateway container; beyond it the pod is evicted.",
    )
    web: KubernetesWebSpec | None = Field(
        default=None,
        description=(
            "How the `web:` hosts are routed: Ingress (the default) or HTTPRoute, and its TLS."
        ),
    )
    database: KubernetesDatabaseSpec | None = Field(
        default=None,
        description=(
            "The CloudNativePG `Cluster` of the stack's `database`: `instances` (default 1), "
            "`storage_size` (default 5Gi), `storage_class`."
        ),
    )


def stack_field() -> tuple[Any, Any]:
    """The key in ``StackSpec``: always written, with every default, so a reviewer sees what
    each environment's overlay starts from."""
    return KubernetesSpec, Field(
        default_factory=KubernetesSpec, description="Kubernetes target options."
    )


def model() -> type[KubernetesSpec]:
    return KubernetesSpec
