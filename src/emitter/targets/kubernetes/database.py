"""The stack's database on Kubernetes (emitter.database): a CloudNativePG ``Cluster``.

CloudNativePG (the CNCF PostgreSQL operator, a prerequisite named in POST-SETUP.md like
cert-manager) runs the database, and generates its application Secret ``<cluster>-app`` (keys
``username``, ``password``, ``host``, ...; docs/research/around-gateways.md §2). The pods of the
connected roles wait in their init container until the read-write Service ``<cluster>-rw``
accepts connections, then write the connection into the data volume (8.3): the Secret's
``password`` is mounted into that init container only, never into the gateway's container.
``jdbc-uri`` and ``uri`` of that Secret hold the password: the connection's URL is built from
non-secret parts instead.

There is no client model for the CRD: the Cluster is plain data, validated in the tests against
CloudNativePG's own CRD schema (``tests/support/cloudnative_pg.py``).
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.models import (
    V1KeyToPath,
    V1LabelSelector,
    V1LabelSelectorRequirement,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1SecretVolumeSource,
    V1Volume,
    V1VolumeMount,
)

from emitter import database as databases
from emitter.ir import Stack
from emitter.targets.kubernetes.metadata import (
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    MANAGER,
    NAME_LABEL,
    PART_OF_LABEL,
    Workload,
    gateways_selector,
    object_meta,
    stack_labels,
)
from emitter.targets.kubernetes.options import KubernetesDatabaseSpec, KubernetesSpec

API_VERSION = "postgresql.cnpg.io/v1"
# The CloudNativePG release whose CRDs the Cluster is validated against, and whose default
# operand image the database's version is pinned to (research §2).
OPERATOR_VERSION = "1.27.0"
# The label CloudNativePG puts on every pod of a Cluster.
CLUSTER_LABEL = "cnpg.io/cluster"
PASSWORD_VOLUME = "database-password"
PASSWORD_KEY = "password"
# Readable by the pod's group (fsGroup 2003) only.
PASSWORD_MODE = 0o440
CLIENTS_POLICY = f"{databases.SERVICE}-clients"
NOTE = (
    f"# Needs the CloudNativePG operator (>= {OPERATOR_VERSION.rsplit('.', 1)[0]}) in the "
    "cluster; see POST-SETUP.md.\n"
    f"# It generates the Secret {databases.SERVICE}-app (the password); no manifest holds it.\n"
)


def host() -> str:
    """CloudNativePG's read-write Service: the primary, wherever it runs."""
    return f"{databases.SERVICE}-rw"


def password_secret() -> str:
    return f"{databases.SERVICE}-app"


def is_cluster(item: dict[str, Any]) -> bool:
    return item.get("apiVersion") == API_VERSION


def cluster(stack: Stack, options: KubernetesSpec) -> dict[str, Any]:
    database = stack.database
    assert database is not None
    settings = options.database or KubernetesDatabaseSpec()
    storage: dict[str, Any] = {"size": settings.storage_size}
    if settings.storage_class is not None:
        storage["storageClass"] = settings.storage_class
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {
            "name": databases.SERVICE,
            "labels": {
                NAME_LABEL: database.engine,
                COMPONENT_LABEL: "database",
                PART_OF_LABEL: stack.name,
                MANAGED_BY_LABEL: MANAGER,
            },
        },
        "spec": {
            "instances": settings.instances,
            # Pinned, never the operator's default, which changes with the operator's release.
            "imageName": databases.engine(database).kubernetes_image.format(
                version=database.version
            ),
            "bootstrap": {"initdb": {"database": database.name, "owner": database.owner}},
            "storage": storage,
        },
    }


def connected(workload: Workload) -> bool:
    return bool(workload.template.database_connections)


def _writes(stack: Stack, workload: Workload) -> bool:
    return databases.writes_files(stack) and databases.writes_connections(workload.template)


def volumes(stack: Stack, workload: Workload) -> list[V1Volume]:
    """The generated Secret's password, for the init container of a pod that writes the
    connection (a pair's backup pod has it too: the pods share one template)."""
    if stack.database is None or not _writes(stack, workload):
        return []
    return [
        V1Volume(
            name=PASSWORD_VOLUME,
            secret=V1SecretVolumeSource(
                secret_name=password_secret(),
                items=[V1KeyToPath(key=PASSWORD_KEY, path=PASSWORD_KEY)],
                default_mode=PASSWORD_MODE,
            ),
        )
    ]


def seed_mounts(stack: Stack, workload: Workload) -> list[V1VolumeMount]:
    if stack.database is None or not _writes(stack, workload):
        return []
    return [
        V1VolumeMount(name=PASSWORD_VOLUME, mount_path=databases.PASSWORD_MOUNT, read_only=True)
    ]


def seed_environment(stack: Stack, workload: Workload) -> dict[str, str]:
    """Every pod of a connected role waits for the database; the writing pods also write."""
    if stack.database is None or not connected(workload):
        return {}
    return databases.seed_environment(
        stack,
        workload.template,
        host(),
        wait=True,
        password_file=databases.PASSWORD_FILE,
    )


def clients_policy(stack: Stack, workloads: tuple[Workload, ...]) -> list[V1NetworkPolicy]:
    """The connected gateways may reach the database's pods on its port (the stack's egress
    policy denies everything it does not allow); no other gateway may."""
    database = stack.database
    names = [workload.name for workload in workloads if connected(workload)]
    if database is None or not names:
        return []
    selector = gateways_selector(stack)
    selector.match_expressions = [
        V1LabelSelectorRequirement(key=INSTANCE_LABEL, operator="In", values=sorted(names))
    ]
    return [
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=object_meta(CLIENTS_POLICY, stack_labels(stack)),
            spec=V1NetworkPolicySpec(
                pod_selector=selector,
                policy_types=["Egress"],
                egress=[
                    V1NetworkPolicyEgressRule(
                        to=[
                            V1NetworkPolicyPeer(
                                pod_selector=V1LabelSelector(
                                    match_labels={CLUSTER_LABEL: databases.SERVICE}
                                )
                            )
                        ],
                        ports=[
                            V1NetworkPolicyPort(
                                port=databases.engine(database).port, protocol="TCP"
                            )
                        ],
                    )
                ],
            ),
        )
    ]


def objects(stack: Stack, workloads: tuple[Workload, ...], options: KubernetesSpec) -> list[Any]:
    if stack.database is None:
        return []
    return [cluster(stack, options), *clients_policy(stack, workloads)]
