"""ConfigMaps: the stack's scripts, and each pair member's redundancy.xml.

A pod mounts them as one projected volume at ``image.SCRIPTS_DIR``, so the seed script finds
``redundancy.xml`` (and, with ``transport: ssl``, the certificate installer) beside itself
exactly where ``image.seed_environment`` says, and the probes find the health script where
``image.health_command`` says.
"""

from __future__ import annotations

import hashlib
import json
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
from emitter.ir import Gateway, Stack
from emitter.targets.kubernetes.metadata import (
    Workload,
    object_meta,
    stack_labels,
    workload_labels,
)

VOLUME = "configuration"
SCRIPT_MODE = 0o555
FILE_MODE = 0o444


@dataclass(frozen=True, slots=True)
class Scripts:
    """The shared scripts ConfigMap: its name and data, read once per emit."""

    name: str
    data: dict[str, str]


def scripts(stack: Stack) -> Scripts:
    return Scripts(
        f"{stack.name}-scripts", {name: image.script(name) for name in image.gateway_scripts(stack)}
    )


def redundancy_config_map_name(gateway: Gateway) -> str:
    return f"{gateway.name}-redundancy"


def redundancy_data(gateway: Gateway) -> dict[str, str] | None:
    document = image.redundancy_xml(gateway)
    return None if document is None else {image.REDUNDANCY_FILE: document}


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
        if workload.replicated:
            continue  # a replicated tier is never part of a pair
        gateway = workload.template
        data = redundancy_data(gateway)
        if data is not None:
            found.append(
                V1ConfigMap(
                    api_version="v1",
                    kind="ConfigMap",
                    metadata=object_meta(
                        redundancy_config_map_name(gateway), workload_labels(stack, workload)
                    ),
                    data=data,
                )
            )
    return found


def mounted_data(gateway: Gateway, shared: Scripts) -> dict[str, dict[str, str]]:
    """ConfigMap name -> the data a gateway's pod mounts from it."""
    mounted = {shared.name: shared.data}
    data = redundancy_data(gateway)
    if data is not None:
        mounted[redundancy_config_map_name(gateway)] = data
    return mounted


def checksum(gateway: Gateway, shared: Scripts) -> str:
    """Digest of everything the pod mounts from ConfigMaps: a changed script or redundancy.xml
    changes the pod template, so the StatefulSet rolls the pod instead of running stale files."""
    canonical = json.dumps(mounted_data(gateway, shared), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def configuration_volume(gateway: Gateway, shared: Scripts) -> V1Volume:
    sources = [
        V1VolumeProjection(
            config_map=V1ConfigMapProjection(
                name=shared.name,
                items=[V1KeyToPath(key=name, path=name, mode=SCRIPT_MODE) for name in shared.data],
            )
        )
    ]
    if redundancy_data(gateway) is not None:
        sources.append(
            V1VolumeProjection(
                config_map=V1ConfigMapProjection(
                    name=redundancy_config_map_name(gateway),
                    items=[
                        V1KeyToPath(
                            key=image.REDUNDANCY_FILE, path=image.REDUNDANCY_FILE, mode=FILE_MODE
                        )
                    ],
                )
            )
        )
    return V1Volume(
        name=VOLUME,
        projected=V1ProjectedVolumeSource(default_mode=FILE_MODE, sources=sources),
    )
