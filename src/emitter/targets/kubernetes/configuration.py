"""ConfigMaps: the stack's scripts, and each pair's per-node files.

A pair's two pods share one template; what differs between master and backup is in files named
by ordinal (``redundancy-0.xml`` and ``node-0.env`` for the master, ``-1`` for the backup),
and each pod picks its own through its pod index (``workloads.py``). A pod mounts the ConfigMaps
as one projected volume at ``image.SCRIPTS_DIR``, so the scripts find those files beside
themselves, where ``image.node_environment`` says, and the probes find the health script where
``image.health_command`` says.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass

from kubernetes.client.models import (
    V1ConfigMap,
    V1ConfigMapProjection,
    V1KeyToPath,
    V1ProjectedVolumeSource,
    V1Volume,
    V1VolumeProjection,
)

from emitter import image
from emitter.ir import Stack
from emitter.targets.kubernetes.active_rules import active_masters
from emitter.targets.kubernetes.metadata import (
    Workload,
    object_meta,
    stack_labels,
    workload_labels,
)

VOLUME = "configuration"
ACTIVE_MARKER_SCRIPT = "active-marker.sh"
SCRIPT_MODE = 0o555
FILE_MODE = 0o444


@dataclass(frozen=True, slots=True)
class Scripts:
    """The shared scripts ConfigMap: its name and data, read once per emit."""

    name: str
    data: dict[str, str]


def scripts(stack: Stack) -> Scripts:
    names = set(image.gateway_scripts(stack))
    if active_masters(stack):
        names.add(ACTIVE_MARKER_SCRIPT)  # the pairs' markers (active.py)
    return Scripts(f"{stack.name}-scripts", {name: image.script(name) for name in sorted(names)})


def nodes_config_map_name(workload: Workload) -> str:
    return f"{workload.name}-redundancy"


# The start script loads the node's own settings from the file this variable names.
NODE_ENVIRONMENT = "NODE_ENVIRONMENT"


def redundancy_file(ordinal: int | str) -> str:
    """A pair node's redundancy.xml, by ordinal (or by a reference Kubernetes substitutes)."""
    return f"redundancy-{ordinal}.xml"


def environment_file(ordinal: int | str) -> str:
    """A pair node's own settings, by ordinal (or by a reference Kubernetes substitutes)."""
    return f"node-{ordinal}.env"


def common_environment(stack: Stack, workload: Workload) -> dict[str, str]:
    """The environment every pod of the workload shares: for a pair, what both nodes agree on
    (the backup alone has its outgoing connection to the master)."""
    shared = image.environment(stack, workload.template)
    for gateway in workload.gateways[1:] if workload.paired else ():
        own = image.environment(stack, gateway)
        shared = {name: value for name, value in shared.items() if own.get(name) == value}
    return shared


def nodes_data(stack: Stack, workload: Workload) -> dict[str, str] | None:
    """A pair's per-node files, by ordinal: its redundancy.xml, and the environment that differs
    from the other node's (read by the start script, ``NODE_ENVIRONMENT``). None outside a pair."""
    if not workload.paired:
        return None
    shared = common_environment(stack, workload)
    data: dict[str, str] = {}
    for ordinal, gateway in enumerate(workload.gateways):
        document = image.redundancy_xml(gateway)
        assert document is not None, f"{gateway.name} is in a pair"
        data[redundancy_file(ordinal)] = document
        own = {
            name: value
            for name, value in image.environment(stack, gateway).items()
            if shared.get(name) != value
        }
        if not shared_arguments(workload):
            own.update(image.public_address_environment(gateway))
        data[environment_file(ordinal)] = (
            f"# {gateway.name}: its settings that differ from the other node's\n"
            + "".join(f"{name}={shlex.quote(value)}\n" for name, value in sorted(own.items()))
        )
    return dict(sorted(data.items()))


def shared_arguments(workload: Workload) -> list[str]:
    """The public address arguments every pod of the workload shares: none when a pair's
    nodes each have their own (then each node's environment file carries it)."""
    if len({gateway.public_address for gateway in workload.gateways}) > 1:
        return []
    return image.public_address_arguments(workload.template)


def kubelet_literal(value: str) -> str:
    """``value`` as the kubelet passes it on: it expands ``$(NAME)`` in a container's
    environment and arguments, and ``$$`` is its escape for one ``$``."""
    return value.replace("$", "$$")


def config_maps(
    stack: Stack, workloads: tuple[Workload, ...], shared: Scripts
) -> list[V1ConfigMap]:
    found = [
        V1ConfigMap(
            api_version="v1",
            kind="ConfigMap",
            metadata=object_meta(shared.name, stack_labels(stack)),
            data=shared.data,
        )
    ]
    for workload in workloads:
        data = nodes_data(stack, workload)
        if data is not None:
            found.append(
                V1ConfigMap(
                    api_version="v1",
                    kind="ConfigMap",
                    metadata=object_meta(
                        nodes_config_map_name(workload), workload_labels(stack, workload)
                    ),
                    data=data,
                )
            )
    return found


def mounted_data(stack: Stack, workload: Workload, shared: Scripts) -> dict[str, dict[str, str]]:
    """ConfigMap name -> the data a workload's pods mount from it."""
    mounted = {shared.name: shared.data}
    data = nodes_data(stack, workload)
    if data is not None:
        mounted[nodes_config_map_name(workload)] = data
    return mounted


def checksum(stack: Stack, workload: Workload, shared: Scripts) -> str:
    """Digest of everything the pods mount from ConfigMaps: a changed script or redundancy.xml
    changes the pod template, so the StatefulSet rolls the pods (backup first, in a pair)
    instead of running stale files."""
    canonical = json.dumps(
        mounted_data(stack, workload, shared), sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def configuration_volume(stack: Stack, workload: Workload, shared: Scripts) -> V1Volume:
    sources = [
        V1VolumeProjection(
            config_map=V1ConfigMapProjection(
                name=shared.name,
                items=[V1KeyToPath(key=name, path=name, mode=SCRIPT_MODE) for name in shared.data],
            )
        )
    ]
    data = nodes_data(stack, workload)
    if data is not None:
        sources.append(
            V1VolumeProjection(
                config_map=V1ConfigMapProjection(
                    name=nodes_config_map_name(workload),
                    items=[V1KeyToPath(key=name, path=name, mode=FILE_MODE) for name in data],
                )
            )
        )
    return V1Volume(
        name=VOLUME,
        projected=V1ProjectedVolumeSource(default_mode=FILE_MODE, sources=sources),
    )
