"""StatefulSets: one per single gateway, one per master/backup pair (two replicas: ordinal 0
the master, ordinal 1 the backup; see ``metadata.Workload``), one per replicated tier
(``replicas: N``, pods ``<role>-0`` .. ``<role>-<N-1>``).

Every pod seeds its data volume in an init container (the stack's own image, as the gateway's
uid), then runs the gateway with the same environment the Compose target gives it, through the
start script that re-asserts a pair member's role on every container start. With
``transport: ssl`` the init container also installs the StatefulSet's cert-manager keystore and
the stack CA (``certificates.py``) into the data volume, on every start.
"""

from __future__ import annotations

from kubernetes.client.models import (
    V1Affinity,
    V1Capabilities,
    V1Container,
    V1ContainerPort,
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1EnvVarSource,
    V1ExecAction,
    V1KeyToPath,
    V1LabelSelector,
    V1ObjectFieldSelector,
    V1ObjectMeta,
    V1PersistentVolumeClaim,
    V1PersistentVolumeClaimSpec,
    V1PodAffinityTerm,
    V1PodAntiAffinity,
    V1PodSecurityContext,
    V1PodSpec,
    V1PodTemplateSpec,
    V1Probe,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1SecretVolumeSource,
    V1SecurityContext,
    V1StatefulSet,
    V1StatefulSetPersistentVolumeClaimRetentionPolicy,
    V1StatefulSetSpec,
    V1StatefulSetUpdateStrategy,
    V1TopologySpreadConstraint,
    V1Volume,
    V1VolumeMount,
    V1VolumeResourceRequirements,
    V1WeightedPodAffinityTerm,
)

from emitter import image, modules, restore
from emitter.ir import Gateway, Stack
from emitter.resolve import HEAP_PERCENT
from emitter.targets.kubernetes import active, certificates, configuration, database, licenses
from emitter.targets.kubernetes.metadata import (
    CHECKSUM_ANNOTATION,
    GATEWAY_NETWORK_ANNOTATION,
    POD_INDEX_LABEL,
    Workload,
    object_meta,
    pair_labels,
    pod_labels,
    selector_labels,
    workload_labels,
)
from emitter.targets.kubernetes.names import POD_INDEX, POD_NAME
from emitter.targets.kubernetes.options import KubernetesSpec
from emitter.vocabulary import TransportName

DATA_VOLUME = "data"
# The checked third-party modules: the seed container downloads them, the gateway copies them.
MODULES_VOLUME = "modules"
PASSWORD_VOLUME = "admin-password"
PASSWORD_KEY = "password"
# Readable by the gateway's group (fsGroup) only; the file itself is owned by root.
PASSWORD_MODE = 0o440
CERTIFICATE_VOLUME = "gateway-network-certificate"
KEYSTORE_PASSWORD_VOLUME = "gateway-network-keystore-password"
SEED_CONTAINER = "seed-data-volume"
GATEWAY_CONTAINER = "gateway"
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"
PLAIN_LINK_NOTE = "plain link without SSL, demo only (see docs/security.md)"
PORTS = (("http", image.HTTP_PORT), ("https", image.HTTPS_PORT), ("gan", image.GAN_SSL_PORT))


def stateful_set(
    stack: Stack,
    workload: Workload,
    options: KubernetesSpec,
    scripts: configuration.Scripts,
) -> V1StatefulSet:
    claim = V1PersistentVolumeClaim(
        # No labels: claim templates are immutable, and the version label would change.
        metadata=V1ObjectMeta(name=DATA_VOLUME),
        spec=V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=V1VolumeResourceRequirements(requests={"storage": options.storage_size}),
            storage_class_name=options.storage_class,
        ),
    )
    annotations: dict[str, str] = {}
    # Reloader rolls the pods when cert-manager rewrites the Secret (renewal), or a license's.
    reloaded = [certificates.certificate_name(workload)] if certificates.enabled(stack) else []
    reloaded += licenses.reload_secrets(workload)
    if reloaded:
        annotations[certificates.RELOADER_ANNOTATION] = ",".join(reloaded)
    return V1StatefulSet(
        api_version="apps/v1",
        kind="StatefulSet",
        metadata=object_meta(workload.name, workload_labels(stack, workload), annotations),
        spec=V1StatefulSetSpec(
            service_name=workload.headless_service,
            replicas=len(workload.gateways),
            # Ordered start would bring up 1000 spokes one after the other, for hours. A pair
            # keeps the ordered default: the backup is created once the master is ready.
            pod_management_policy="Parallel" if workload.replicated else None,
            # Spelled out because a pair depends on it: one pod at a time, the backup (highest
            # ordinal) first, the master only once the new backup is ready.
            update_strategy=V1StatefulSetUpdateStrategy(type="RollingUpdate"),
            # The selector is immutable once applied: only labels that never change (name and
            # instance) go in it; everything else may change with the stack.
            selector=V1LabelSelector(match_labels=selector_labels(workload)),
            template=pod_template(stack, workload, options, scripts),
            volume_claim_templates=[claim],
            # A gateway's data (and its redundancy role) outlives the StatefulSet.
            persistent_volume_claim_retention_policy=V1StatefulSetPersistentVolumeClaimRetentionPolicy(
                when_deleted="Retain", when_scaled="Retain"
            ),
        ),
    )


def pod_template(
    stack: Stack,
    workload: Workload,
    options: KubernetesSpec,
    scripts: configuration.Scripts,
) -> V1PodTemplateSpec:
    gateway = workload.template
    annotations = {CHECKSUM_ANNOTATION: configuration.checksum(stack, workload, scripts)}
    if stack.transport is TransportName.PLAIN:
        annotations[GATEWAY_NETWORK_ANNOTATION] = PLAIN_LINK_NOTE
    # Ephemeral storage: logs and temporary files outside the data volume (the root filesystem
    # stays writable, see docs/security.md); past the limit the kubelet evicts the pod instead
    # of letting it fill the node's disk.
    resources = V1ResourceRequirements(
        requests={
            "cpu": options.cpu_request,
            "memory": f"{gateway.memory_mb}Mi",
            "ephemeral-storage": options.ephemeral_storage_request,
        },
        limits={
            "cpu": options.cpu_limit,
            "memory": f"{gateway.memory_mb}Mi",
            "ephemeral-storage": options.ephemeral_storage_limit,
        },
    )
    return V1PodTemplateSpec(
        metadata=V1ObjectMeta(labels=pod_labels(stack, workload), annotations=annotations),
        spec=V1PodSpec(
            automount_service_account_token=False,
            # A routed pair's markers label the active pod; only they mount its token.
            service_account_name=active.service_account(stack, workload),
            # Service links would inject <SERVICE>_PORT / <SERVICE>_SERVICE_HOST for every
            # Service in the namespace: a Service named `gateway` (basic) gives GATEWAY_PORT and
            # friends, which collide with the image's own GATEWAY_* settings.
            enable_service_links=False,
            security_context=V1PodSecurityContext(
                run_as_non_root=True,
                run_as_user=image.USER_ID,
                run_as_group=image.USER_ID,
                fs_group=image.USER_ID,
                fs_group_change_policy="OnRootMismatch",
                seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
            ),
            termination_grace_period_seconds=60,
            affinity=pair_anti_affinity(stack, workload, options),
            topology_spread_constraints=tier_spread(workload),
            init_containers=[seed_container(stack, workload, resources)],
            containers=[
                gateway_container(stack, workload, resources),
                *active.containers(stack, workload),
            ],
            volumes=[
                configuration.configuration_volume(stack, workload, scripts),
                _secret_volume(PASSWORD_VOLUME, stack.admin_password_secret, [PASSWORD_KEY]),
                *certificate_volumes(stack, workload),
                *licenses.volumes(workload),
                *module_volumes(workload),
                *database.volumes(stack, workload),
                *active.volumes(stack, workload),
            ],
        ),
    )


def _secret_volume(name: str, secret: str, keys: list[str]) -> V1Volume:
    return V1Volume(
        name=name,
        secret=V1SecretVolumeSource(
            secret_name=secret,
            items=[V1KeyToPath(key=key, path=key) for key in keys],
            default_mode=PASSWORD_MODE,
        ),
    )


def certificate_volumes(stack: Stack, workload: Workload) -> list[V1Volume]:
    """With ``transport: ssl``: the StatefulSet's certificate Secret (the CA certificate and the
    keystore only: never ``tls.key``) and the user's keystore password Secret."""
    if not certificates.enabled(stack):
        return []
    return [
        _secret_volume(
            CERTIFICATE_VOLUME,
            certificates.certificate_name(workload),
            [certificates.CA_KEY, certificates.KEYSTORE_KEY],
        ),
        _secret_volume(
            KEYSTORE_PASSWORD_VOLUME,
            certificates.keystore_password_secret(stack),
            [certificates.PASSWORD_KEY],
        ),
    ]


def certificate_files(stack: Stack) -> image.CertificateFiles | None:
    """Where the init container finds what ``certificate_volumes`` mounts (None: plain)."""
    if not certificates.enabled(stack):
        return None
    return image.CertificateFiles(
        ca_certificate=f"{certificates.CERTIFICATE_MOUNT}/{certificates.CA_KEY}",
        keystore=f"{certificates.CERTIFICATE_MOUNT}/{certificates.KEYSTORE_KEY}",
        keystore_password_file=(
            f"{certificates.KEYSTORE_PASSWORD_MOUNT}/{certificates.PASSWORD_KEY}"
        ),
    )


def _container_security() -> V1SecurityContext:
    return V1SecurityContext(
        allow_privilege_escalation=False,
        privileged=False,
        capabilities=V1Capabilities(drop=["ALL"]),
        # The image writes outside its data volume (logs, temp, wrapper state): see docs/security.md.
        read_only_root_filesystem=False,
    )


def _environment(variables: dict[str, str]) -> list[V1EnvVar]:
    return [V1EnvVar(name=name, value=value) for name, value in sorted(variables.items())]


def _pod_index() -> V1EnvVar:
    return V1EnvVar(
        name=POD_INDEX,
        value_from=V1EnvVarSource(
            field_ref=V1ObjectFieldSelector(
                api_version="v1", field_path=f"metadata.labels['{POD_INDEX_LABEL}']"
            )
        ),
    )


def _node_environment(workload: Workload, variables: dict[str, str]) -> list[V1EnvVar]:
    """A container's environment. A pair's pods pick their own files by pod index, which
    Kubernetes substitutes for ``$(POD_INDEX)``: that works only for a variable defined
    earlier in the list, so POD_INDEX comes first."""
    if not workload.paired:
        return _environment(variables)
    return [_pod_index(), *_environment(variables)]


def _redundancy_file(workload: Workload) -> str | None:
    return configuration.redundancy_file(f"$({POD_INDEX})") if workload.paired else None


def _restoring(workload: Workload) -> Gateway:
    """The workload's gateway that restores its role's backup (a pair's master), if any."""
    return next((g for g in workload.gateways if g.restore is not None), workload.template)


def seed_container(
    stack: Stack, workload: Workload, resources: V1ResourceRequirements
) -> V1Container:
    # Runs as the pod's uid 2003, so the script skips its root-only chown: fsGroup owns the volume.
    mounts = [
        V1VolumeMount(name=DATA_VOLUME, mount_path=image.SEED_MOUNT),
        V1VolumeMount(name=configuration.VOLUME, mount_path=image.SCRIPTS_DIR, read_only=True),
    ]
    if certificates.enabled(stack):
        mounts += [
            V1VolumeMount(
                name=CERTIFICATE_VOLUME, mount_path=certificates.CERTIFICATE_MOUNT, read_only=True
            ),
            V1VolumeMount(
                name=KEYSTORE_PASSWORD_VOLUME,
                mount_path=certificates.KEYSTORE_PASSWORD_MOUNT,
                read_only=True,
            ),
        ]
    mounts += _module_mounts(workload, read_only=False)
    mounts += database.seed_mounts(stack, workload)
    gateway = workload.template
    return V1Container(
        name=SEED_CONTAINER,
        image=stack.image,
        command=image.seed_command(gateway),
        env=_node_environment(
            workload,
            {
                **image.seed_environment(
                    stack, _redundancy_file(workload), certificate_files(stack), gateway
                ),
                **restore.seed_environment(_restoring(workload), url=True),
                **database.seed_environment(stack, workload),
            },
        ),
        resources=resources,
        security_context=_container_security(),
        volume_mounts=mounts,
    )


def system_name(stack: Stack, workload: Workload) -> str:
    """The gateway's system name (``-n``). A replicated tier's pods share one template, so it
    names each pod after itself through ``$(POD_NAME)``, which Kubernetes expands per pod to
    exactly the IR's system name of the gateway of that name."""
    if not workload.replicated:
        return workload.template.system_name
    template = f"{stack.system_name_prefix}$({POD_NAME})"
    for gateway in workload.gateways:
        assert template.replace(f"$({POD_NAME})", gateway.name) == gateway.system_name, (
            f"the IR names {gateway.name!r} {gateway.system_name!r}; the pod template cannot"
        )
    return template


def gateway_container(
    stack: Stack, workload: Workload, resources: V1ResourceRequirements
) -> V1Container:
    variables = {
        name: configuration.kubelet_literal(value)
        for name, value in configuration.common_environment(stack, workload).items()
    }
    # Added after the escaping: these refer to $(POD_INDEX) on purpose.
    variables.update(image.node_environment(_redundancy_file(workload)))
    if workload.paired:
        variables[configuration.NODE_ENVIRONMENT] = (
            f"{image.SCRIPTS_DIR}/{configuration.environment_file(f'$({POD_INDEX})')}"
        )
    environment = _node_environment(workload, variables)
    if workload.replicated:
        environment.append(
            V1EnvVar(
                name=POD_NAME,
                value_from=V1EnvVarSource(
                    field_ref=V1ObjectFieldSelector(api_version="v1", field_path="metadata.name")
                ),
            )
        )
        environment.sort(key=lambda variable: variable.name)
    arguments = [
        *image.runtime_arguments(system_name(stack, workload)),
        *map(configuration.kubelet_literal, configuration.shared_arguments(workload)),
        "--",
        # The heap follows the container's memory limit instead of a fixed size.
        "wrapper.java.initmemory=0",
        "wrapper.java.maxmemory=0",
        *image.proxy_arguments(workload.gateways),
        f"-XX:MaxRAMPercentage={HEAP_PERCENT}",
        *map(configuration.kubelet_literal, workload.template.jvm_args),
    ]
    return V1Container(
        name=GATEWAY_CONTAINER,
        image=stack.image,
        command=image.start_command(workload.template),
        args=arguments,
        env=environment,
        ports=[
            V1ContainerPort(name=name, container_port=number, protocol="TCP")
            for name, number in PORTS
        ],
        resources=resources,
        security_context=_container_security(),
        # Readiness only, no liveness or startup probe: a gateway that is starting, syncing
        # from its master or restoring a backup is slow to answer for minutes, and a restart
        # then only starts it over (image.health_command). Ready means RUNNING and, in a pair,
        # in its own role and paired: `kubectl get pods` shows whether the pair formed.
        readiness_probe=_exec_probe(
            image.health_command(), period_seconds=10, timeout_seconds=5, failure_threshold=3
        ),
        volume_mounts=[
            V1VolumeMount(name=DATA_VOLUME, mount_path=image.DATA_DIR),
            V1VolumeMount(name=configuration.VOLUME, mount_path=image.SCRIPTS_DIR, read_only=True),
            # subPath: the one file the image reads, at the path GATEWAY_ADMIN_PASSWORD_FILE names.
            V1VolumeMount(
                name=PASSWORD_VOLUME,
                mount_path=image.ADMIN_PASSWORD_FILE,
                sub_path=PASSWORD_KEY,
                read_only=True,
            ),
            *licenses.mounts(workload),
            *_module_mounts(workload, read_only=True),
        ],
    )


def _module_mounts(workload: Workload, read_only: bool) -> list[V1VolumeMount]:
    if not workload.template.modules:
        return []
    return [V1VolumeMount(name=MODULES_VOLUME, mount_path=modules.MODULES_DIR, read_only=read_only)]


def module_volumes(workload: Workload) -> list[V1Volume]:
    """An emptyDir per pod: a pod's modules are downloaded and checked again on every start
    (a path in the repository cannot be mounted into a pod: rule IS143)."""
    if not workload.template.modules:
        return []
    limit = f"{len(workload.template.modules) * modules.MAX_BYTES // (1024 * 1024)}Mi"
    return [V1Volume(name=MODULES_VOLUME, empty_dir=V1EmptyDirVolumeSource(size_limit=limit))]


def _exec_probe(
    command: list[str],
    period_seconds: int,
    timeout_seconds: int,
    failure_threshold: int | None = None,
) -> V1Probe:
    probe = V1Probe(
        period_seconds=period_seconds,
        timeout_seconds=timeout_seconds,
        failure_threshold=failure_threshold,
    )
    # The model's constructor silently drops `var_exec=` (it takes `exec`/`_exec`, which the
    # type checker does not know); assigning the field is validated and typed.
    probe.var_exec = V1ExecAction(command=command)
    return probe


def pair_anti_affinity(
    stack: Stack, workload: Workload, options: KubernetesSpec
) -> V1Affinity | None:
    """Keep a pair's master and backup off the same node: one node failure must not take both."""
    if not workload.paired:
        return None
    term = V1PodAffinityTerm(
        label_selector=V1LabelSelector(match_labels=pair_labels(stack, workload.template)),
        topology_key=HOSTNAME_TOPOLOGY,
    )
    if options.pair_anti_affinity == "required":
        return V1Affinity(
            pod_anti_affinity=V1PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=[term]
            )
        )
    return V1Affinity(
        pod_anti_affinity=V1PodAntiAffinity(
            preferred_during_scheduling_ignored_during_execution=[
                V1WeightedPodAffinityTerm(weight=100, pod_affinity_term=term)
            ]
        )
    )


def tier_spread(workload: Workload) -> list[V1TopologySpreadConstraint] | None:
    """Spread a replicated tier's pods evenly over the nodes, so one node failure takes as few
    frontends or spokes as possible. ScheduleAnyway: a tier larger than the cluster (or a
    single-node cluster) still schedules, only less evenly."""
    if not workload.replicated:
        return None
    return [
        V1TopologySpreadConstraint(
            max_skew=1,
            topology_key=HOSTNAME_TOPOLOGY,
            when_unsatisfiable="ScheduleAnyway",
            label_selector=V1LabelSelector(match_labels=selector_labels(workload)),
        )
    ]
