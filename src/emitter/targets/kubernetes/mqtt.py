"""The MQTT broker on Kubernetes (``mqtt:``; emitter.mqtt).

A one-replica StatefulSet ``mqtt`` (its retained messages and sessions on a volume claim of its
own), a ClusterIP Service ``mqtt`` (what the gateways dial) and the headless Service the
StatefulSet needs. The pod's init container runs the shipped ``mqtt-password-file.sh`` on the
Secret ``<stack>-mqtt`` that the user creates (key ``password``) and writes the hashed password
file into a memory-backed emptyDir that the broker container mounts read-only. The broker
container also mounts the Secret, for its readiness probe: a client that logs in as the gateways
do (liveness is a plain tcpSocket check of port 1883).

Who reaches it: the NetworkPolicy ``mqtt`` admits port 1883 only from the pods of the gateways of
``mqtt.roles`` and lets the broker send nothing (it needs no egress); ``gateway-egress-mqtt``
opens those gateways' egress (otherwise denied by ``gateway-egress``) to the broker's port.

The pod runs restricted: a uid above 10000 (the broker needs no file of the image's own user:
its configuration comes from a ConfigMap, its data from the claim with ``fsGroup``), a
read-only root file system, no capability, no privilege escalation, seccomp RuntimeDefault.
"""

from __future__ import annotations

import hashlib
import json

from kubernetes.client.models import (
    V1Capabilities,
    V1ConfigMap,
    V1ConfigMapVolumeSource,
    V1Container,
    V1ContainerPort,
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1ExecAction,
    V1KeyToPath,
    V1LabelSelector,
    V1LabelSelectorRequirement,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1ObjectMeta,
    V1PersistentVolumeClaim,
    V1PersistentVolumeClaimSpec,
    V1PodSecurityContext,
    V1PodSpec,
    V1PodTemplateSpec,
    V1Probe,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1SecretVolumeSource,
    V1SecurityContext,
    V1Service,
    V1ServicePort,
    V1ServiceSpec,
    V1StatefulSet,
    V1StatefulSetPersistentVolumeClaimRetentionPolicy,
    V1StatefulSetSpec,
    V1TCPSocketAction,
    V1Volume,
    V1VolumeMount,
    V1VolumeResourceRequirements,
)
from pydantic import BaseModel

from emitter import image, mqtt
from emitter.ir import MqttBroker, Stack
from emitter.targets.kubernetes.metadata import (
    CHECKSUM_ANNOTATION,
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    NAME_LABEL,
    VERSION_LABEL,
    gateways_selector,
    object_meta,
    stack_labels,
)
from emitter.targets.kubernetes.names import HEADLESS_SUFFIX
from emitter.targets.kubernetes.networking import LINKS_POLICY_PREFIX, _ingress_rule
from emitter.targets.kubernetes.options import KubernetesSpec

COMPONENT = "mqtt"
CONTAINER = "broker"
INIT_CONTAINER = mqtt.PASSWORD_STEP
PORT_NAME = "mqtt"
# Above 10000 (kube-score, trivy KSV-0020/0021): no host user has it.
USER_ID = 10883
CONFIG_VOLUME = "config"
DATA_VOLUME = "data"
AUTH_VOLUME = "auth"
PASSWORD_VOLUME = "password"
PASSWORD_KEY = "password"
PASSWORD_MOUNT = "/run/secrets/mqtt"
# Readable by the pod's group (fsGroup) only.
SECRET_MODE = 0o440
STORAGE = "1Gi"
RESOURCES = V1ResourceRequirements(
    requests={"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "64Mi"},
    limits={"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
)


def objects(stack: Stack, options: KubernetesSpec) -> list[BaseModel]:
    broker = stack.mqtt
    if broker is None:
        return []
    return [
        config_map(stack, broker),
        stateful_set(stack, broker, options),
        *services(stack, broker),
        broker_policy(stack, broker),
        gateway_egress_policy(stack, broker),
    ]


def _labels(stack: Stack, broker: MqttBroker) -> dict[str, str]:
    # Never `app.kubernetes.io/name: ignition`: the gateways' policies select that.
    labels = {**stack_labels(stack, component=COMPONENT), **_selector(broker)}
    labels.pop(VERSION_LABEL, None)  # the stack's Ignition version, not the broker's
    return labels


def _selector(broker: MqttBroker) -> dict[str, str]:
    return {NAME_LABEL: broker.broker, INSTANCE_LABEL: broker.host}


def _data(broker: MqttBroker) -> dict[str, str]:
    return {
        "mosquitto.conf": mqtt.config_text(broker),
        mqtt.SCRIPT: image.script(mqtt.SCRIPT),
    }


def config_map(stack: Stack, broker: MqttBroker) -> V1ConfigMap:
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=object_meta(broker.host, _labels(stack, broker)),
        data=_data(broker),
    )


def _checksum(broker: MqttBroker) -> str:
    """A changed configuration or script changes the pod template, so the pod is replaced."""
    canonical = json.dumps(_data(broker), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _security() -> V1SecurityContext:
    return V1SecurityContext(
        allow_privilege_escalation=False,
        privileged=False,
        capabilities=V1Capabilities(drop=["ALL"]),
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=USER_ID,
        run_as_group=USER_ID,
    )


def _liveness() -> V1Probe:
    """The listener accepts connections; slow to give up, so a broker busy with a burst of
    clients is not restarted for one slow answer."""
    return V1Probe(
        tcp_socket=V1TCPSocketAction(port=PORT_NAME),
        initial_delay_seconds=10,
        period_seconds=20,
        timeout_seconds=3,
        failure_threshold=6,
    )


def _readiness(broker: MqttBroker) -> V1Probe:
    """Ready once a client logs in with the Secret's password, as the gateways do
    (``mqtt.health_shell``, the Compose health check's command)."""
    probe = V1Probe(period_seconds=10, timeout_seconds=5, failure_threshold=3)
    # The model's constructor drops `var_exec=`; assigning the field is validated and typed.
    probe.var_exec = V1ExecAction(
        command=["/bin/sh", "-c", mqtt.health_shell(broker, f"{PASSWORD_MOUNT}/{PASSWORD_KEY}")]
    )
    return probe


def _containers(broker: MqttBroker) -> tuple[V1Container, V1Container]:
    kind = mqtt.BROKERS[broker.broker]
    config = V1VolumeMount(name=CONFIG_VOLUME, mount_path=kind.config_dir, read_only=True)
    source = f"{PASSWORD_MOUNT}/{PASSWORD_KEY}"
    init = V1Container(
        name=INIT_CONTAINER,
        image=broker.image,
        command=["/bin/sh", f"{kind.config_dir}/{mqtt.SCRIPT}"],
        env=[
            V1EnvVar(name=name, value=value)
            for name, value in sorted(mqtt.script_environment(broker, source).items())
        ],
        volume_mounts=[
            config,
            V1VolumeMount(name=PASSWORD_VOLUME, mount_path=PASSWORD_MOUNT, read_only=True),
            V1VolumeMount(name=AUTH_VOLUME, mount_path=kind.auth_dir),
        ],
        resources=RESOURCES,
        security_context=_security(),
    )
    main = V1Container(
        name=CONTAINER,
        image=broker.image,
        command=list(kind.command),
        ports=[V1ContainerPort(name=PORT_NAME, container_port=broker.port, protocol="TCP")],
        volume_mounts=[
            config,
            V1VolumeMount(name=DATA_VOLUME, mount_path=kind.data_dir),
            V1VolumeMount(name=AUTH_VOLUME, mount_path=kind.auth_dir, read_only=True),
            # For the readiness probe's login only.
            V1VolumeMount(name=PASSWORD_VOLUME, mount_path=PASSWORD_MOUNT, read_only=True),
        ],
        resources=RESOURCES,
        security_context=_security(),
        readiness_probe=_readiness(broker),
        liveness_probe=_liveness(),
    )
    return init, main


def _volumes(broker: MqttBroker) -> list[V1Volume]:
    return [
        V1Volume(
            name=CONFIG_VOLUME,
            config_map=V1ConfigMapVolumeSource(name=broker.host, default_mode=0o444),
        ),
        V1Volume(
            name=PASSWORD_VOLUME,
            secret=V1SecretVolumeSource(
                secret_name=broker.password_secret,
                items=[V1KeyToPath(key=PASSWORD_KEY, path=PASSWORD_KEY)],
                default_mode=SECRET_MODE,
            ),
        ),
        # In memory: the hashed password file never reaches the node's disk.
        V1Volume(
            name=AUTH_VOLUME, empty_dir=V1EmptyDirVolumeSource(medium="Memory", size_limit="1Mi")
        ),
    ]


def stateful_set(stack: Stack, broker: MqttBroker, options: KubernetesSpec) -> V1StatefulSet:
    init, main = _containers(broker)
    claim = V1PersistentVolumeClaim(
        metadata=V1ObjectMeta(name=DATA_VOLUME),
        spec=V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=V1VolumeResourceRequirements(requests={"storage": STORAGE}),
            storage_class_name=options.storage_class,
        ),
    )
    return V1StatefulSet(
        api_version="apps/v1",
        kind="StatefulSet",
        metadata=object_meta(broker.host, _labels(stack, broker)),
        spec=V1StatefulSetSpec(
            service_name=broker.host + HEADLESS_SUFFIX,
            replicas=1,
            selector=V1LabelSelector(match_labels=_selector(broker)),
            template=V1PodTemplateSpec(
                metadata=V1ObjectMeta(
                    labels=_labels(stack, broker),
                    annotations={CHECKSUM_ANNOTATION: _checksum(broker)},
                ),
                spec=V1PodSpec(
                    automount_service_account_token=False,
                    enable_service_links=False,
                    security_context=V1PodSecurityContext(
                        run_as_non_root=True,
                        run_as_user=USER_ID,
                        run_as_group=USER_ID,
                        fs_group=USER_ID,
                        fs_group_change_policy="OnRootMismatch",
                        seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
                    ),
                    init_containers=[init],
                    containers=[main],
                    volumes=_volumes(broker),
                ),
            ),
            volume_claim_templates=[claim],
            persistent_volume_claim_retention_policy=V1StatefulSetPersistentVolumeClaimRetentionPolicy(
                when_deleted="Retain", when_scaled="Retain"
            ),
        ),
    )


def services(stack: Stack, broker: MqttBroker) -> list[V1Service]:
    port = V1ServicePort(name=PORT_NAME, port=broker.port, target_port=PORT_NAME, protocol="TCP")
    return [
        V1Service(
            api_version="v1",
            kind="Service",
            metadata=object_meta(broker.host, _labels(stack, broker)),
            spec=V1ServiceSpec(type="ClusterIP", ports=[port], selector=_selector(broker)),
        ),
        V1Service(
            api_version="v1",
            kind="Service",
            metadata=object_meta(broker.host + HEADLESS_SUFFIX, _labels(stack, broker)),
            spec=V1ServiceSpec(cluster_ip="None", ports=[port], selector=_selector(broker)),
        ),
    ]


def clients_selector(stack: Stack, broker: MqttBroker) -> V1LabelSelector:
    """The gateway pods of ``mqtt.roles``: every gateway pod carries its role as component."""
    selector = gateways_selector(stack)
    selector.match_expressions = [
        V1LabelSelectorRequirement(key=COMPONENT_LABEL, operator="In", values=list(broker.roles))
    ]
    return selector


def broker_policy(stack: Stack, broker: MqttBroker) -> V1NetworkPolicy:
    """Port 1883 from the gateways of ``mqtt.roles`` only; no egress at all (the broker dials
    nothing: ``Egress`` in policyTypes with no egress rule denies all; an empty ``egress: []``
    would be dropped by the API server and re-applying would change the object). The kubelet's
    tcpSocket probes are not affected by NetworkPolicies."""
    return V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=object_meta(broker.host, _labels(stack, broker)),
        spec=V1NetworkPolicySpec(
            pod_selector=V1LabelSelector(match_labels=_selector(broker)),
            policy_types=["Ingress", "Egress"],
            ingress=[
                _ingress_rule(
                    [V1NetworkPolicyPeer(pod_selector=clients_selector(stack, broker))],
                    [broker.port],
                )
            ],
        ),
    )


def gateway_egress_policy(stack: Stack, broker: MqttBroker) -> V1NetworkPolicy:
    return V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=object_meta(LINKS_POLICY_PREFIX + broker.host, stack_labels(stack)),
        spec=V1NetworkPolicySpec(
            pod_selector=clients_selector(stack, broker),
            policy_types=["Egress"],
            egress=[
                V1NetworkPolicyEgressRule(
                    to=[
                        V1NetworkPolicyPeer(
                            pod_selector=V1LabelSelector(match_labels=_selector(broker))
                        )
                    ],
                    ports=[V1NetworkPolicyPort(port=broker.port, protocol="TCP")],
                )
            ],
        ),
    )
