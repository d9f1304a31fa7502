"""One host name for a redundant pair: the Service of its active node (``web:``, issue 14).

A role's host reaches whichever node of its pair is active: its Ingress rule or HTTPRoute names
the Service ``<master>-active``, which selects the pair's pods that carry the label
``ignition-stack.io/active: "true"``. Nothing in Kubernetes knows which node is active: the
pair's readiness counts a healthy standby as ready, and the only source is the gateway's
``/system/gwinfo`` (``RedundantNodeActiveStatus=Active``, docs/research/around-gateways.md §4.5).
So each pod of a routed pair runs a marker container (``assets/active-marker.sh``, in the image
the pod already runs, which has bash and curl) that reads it every few seconds and sets its own
pod's label through the Kubernetes API when it changes.

The Service publishes ready pods only: a backup that made itself active without ever reaching
its master (a split brain) is labelled active but never ready (``gateway-health.sh``), and gets
no users.

What the marker may do: its ServiceAccount's Role grants ``get`` and ``patch`` on the pair's two
pods by name (``resourceNames``), nothing else. The token is a projected, expiring
ServiceAccount token mounted into the marker alone; the pod keeps
``automountServiceAccountToken: false``, so the gateway container has no token. The gateways'
egress policy admits no API server, so a NetworkPolicy per routed pair admits
``kubernetes.web.api_server_cidrs`` on ports 443 and 6443 (rule IS167 requires them).
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.models import (
    RbacV1Subject,
    V1Capabilities,
    V1ConfigMapProjection,
    V1Container,
    V1EnvVar,
    V1EnvVarSource,
    V1IPBlock,
    V1KeyToPath,
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicyPeer,
    V1NetworkPolicySpec,
    V1ObjectFieldSelector,
    V1PolicyRule,
    V1ProjectedVolumeSource,
    V1ResourceRequirements,
    V1Role,
    V1RoleBinding,
    V1RoleRef,
    V1SecurityContext,
    V1Service,
    V1ServiceAccount,
    V1ServiceAccountTokenProjection,
    V1ServicePort,
    V1ServiceSpec,
    V1Volume,
    V1VolumeMount,
    V1VolumeProjection,
)

from emitter import image
from emitter.ir import Stack
from emitter.targets.kubernetes import configuration
from emitter.targets.kubernetes.active_rules import active_masters
from emitter.targets.kubernetes.metadata import (
    Workload,
    object_meta,
    selector_labels,
    workload_labels,
)
from emitter.targets.kubernetes.names import ACTIVE_SUFFIX
from emitter.targets.kubernetes.networking import _egress_rule
from emitter.targets.kubernetes.options import KubernetesSpec

ACTIVE_LABEL = "ignition-stack.io/active"
SCRIPT = configuration.ACTIVE_MARKER_SCRIPT
CONTAINER = "active-marker"
MARKER_SUFFIX = "-active-marker"
CREDENTIALS_VOLUME = "kubernetes-api"
CREDENTIALS_MOUNT = "/var/run/secrets/ignition-stack/kubernetes-api"
# The CA bundle of the API server, which Kubernetes publishes in every namespace.
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
# An hour, rotated by the kubelet at 80% of its life; the script reads the file on every call.
TOKEN_SECONDS = 3600
CREDENTIALS_MODE = 0o440
# The API server's own port behind `kubernetes.default.svc`: 6443 (kubeadm, k3s, kind) or 443
# (most managed clusters). Egress policies see the address after the Service's translation.
API_SERVER_PORTS = (443, 6443)
POLICY_PREFIX = "gateway-api-server-"
INTERVAL_SECONDS = "5"


def service_name(master: str) -> str:
    return master + ACTIVE_SUFFIX


def marker_name(workload: Workload) -> str:
    """The ServiceAccount, Role and RoleBinding of a routed pair's markers."""
    return workload.name + MARKER_SUFFIX


def routed(stack: Stack, workload: Workload) -> bool:
    """Whether the workload is a pair whose role's host reaches its active node."""
    return workload.paired and workload.name in active_masters(stack)


def objects(stack: Stack, workloads: tuple[Workload, ...], settings: KubernetesSpec) -> list[Any]:
    cidrs = settings.web.api_server_cidrs if settings.web is not None else []
    found: list[Any] = []
    for workload in workloads:
        if routed(stack, workload):
            found += [
                _service(stack, workload),
                *_access(stack, workload),
                _api_server_policy(stack, workload, cidrs),
            ]
    return found


def _service(stack: Stack, workload: Workload) -> V1Service:
    # Ready pods only (no publishNotReadyAddresses): see the module's docstring.
    return V1Service(
        api_version="v1",
        kind="Service",
        metadata=object_meta(service_name(workload.name), workload_labels(stack, workload)),
        spec=V1ServiceSpec(
            type="ClusterIP",
            ports=[
                V1ServicePort(name="http", port=image.HTTP_PORT, target_port="http", protocol="TCP")
            ],
            selector={**selector_labels(workload), ACTIVE_LABEL: "true"},
        ),
    )


def _access(stack: Stack, workload: Workload) -> list[Any]:
    """The markers' ServiceAccount, and a Role that may read and label the pair's pods only."""
    name = marker_name(workload)
    labels = workload_labels(stack, workload)
    pods = [workload.pod_name(ordinal) for ordinal in range(len(workload.gateways))]
    return [
        V1ServiceAccount(
            api_version="v1",
            kind="ServiceAccount",
            metadata=object_meta(name, labels),
            automount_service_account_token=False,
        ),
        V1Role(
            api_version="rbac.authorization.k8s.io/v1",
            kind="Role",
            metadata=object_meta(name, labels),
            rules=[
                V1PolicyRule(
                    api_groups=[""], resources=["pods"], resource_names=pods, verbs=["get", "patch"]
                )
            ],
        ),
        # The subject's namespace is left out: a RoleBinding's ServiceAccount subject defaults to
        # the binding's own namespace, so the base works in whatever namespace an overlay sets.
        V1RoleBinding(
            api_version="rbac.authorization.k8s.io/v1",
            kind="RoleBinding",
            metadata=object_meta(name, labels),
            role_ref=V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
            subjects=[RbacV1Subject(kind="ServiceAccount", name=name)],
        ),
    ]


def _api_server_policy(stack: Stack, workload: Workload, cidrs: list[str]) -> V1NetworkPolicy:
    """The pair's pods may reach the API server (the gateway container too: it has no token)."""
    peers = [V1NetworkPolicyPeer(ip_block=V1IPBlock(cidr=cidr)) for cidr in cidrs]
    return V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=object_meta(POLICY_PREFIX + workload.name, workload_labels(stack, workload)),
        spec=V1NetworkPolicySpec(
            pod_selector=V1LabelSelector(match_labels=selector_labels(workload)),
            policy_types=["Egress"],
            egress=[_egress_rule(peers, [(port, "TCP") for port in API_SERVER_PORTS])],
        ),
    )


def service_account(stack: Stack, workload: Workload) -> str | None:
    return marker_name(workload) if routed(stack, workload) else None


def volumes(stack: Stack, workload: Workload) -> list[V1Volume]:
    """The marker's credentials: an expiring token of its ServiceAccount and the cluster CA."""
    if not routed(stack, workload):
        return []
    return [
        V1Volume(
            name=CREDENTIALS_VOLUME,
            projected=V1ProjectedVolumeSource(
                default_mode=CREDENTIALS_MODE,
                sources=[
                    V1VolumeProjection(
                        service_account_token=V1ServiceAccountTokenProjection(
                            path="token", expiration_seconds=TOKEN_SECONDS
                        )
                    ),
                    V1VolumeProjection(
                        config_map=V1ConfigMapProjection(
                            name=ROOT_CA_CONFIG_MAP,
                            items=[V1KeyToPath(key="ca.crt", path="ca.crt")],
                        )
                    ),
                ],
            ),
        )
    ]


def _field(name: str, path: str) -> V1EnvVar:
    return V1EnvVar(
        name=name,
        value_from=V1EnvVarSource(
            field_ref=V1ObjectFieldSelector(api_version="v1", field_path=path)
        ),
    )


def containers(stack: Stack, workload: Workload) -> list[V1Container]:
    """The marker: bash and curl from the gateway's own image, as the gateway's uid, with a
    read-only root filesystem (it writes nothing), no privileges, small fixed resources."""
    if not routed(stack, workload):
        return []
    resources = {"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "32Mi"}
    return [
        V1Container(
            name=CONTAINER,
            image=stack.image,
            command=["/bin/bash", f"{image.SCRIPTS_DIR}/{SCRIPT}"],
            env=[
                V1EnvVar(name="ACTIVE_MARKER_CREDENTIALS", value=CREDENTIALS_MOUNT),
                V1EnvVar(name="ACTIVE_MARKER_INTERVAL", value=INTERVAL_SECONDS),
                V1EnvVar(name="GATEWAY_HTTP_PORT", value=str(image.HTTP_PORT)),
                _field("POD_NAME", "metadata.name"),
                _field("POD_NAMESPACE", "metadata.namespace"),
            ],
            resources=V1ResourceRequirements(
                requests={**resources, "cpu": "10m"}, limits=resources
            ),
            security_context=V1SecurityContext(
                allow_privilege_escalation=False,
                privileged=False,
                capabilities=V1Capabilities(drop=["ALL"]),
                read_only_root_filesystem=True,
            ),
            volume_mounts=[
                V1VolumeMount(
                    name=configuration.VOLUME, mount_path=image.SCRIPTS_DIR, read_only=True
                ),
                V1VolumeMount(
                    name=CREDENTIALS_VOLUME, mount_path=CREDENTIALS_MOUNT, read_only=True
                ),
            ],
        )
    ]
