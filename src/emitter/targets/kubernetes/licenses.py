"""Leased licenses on Kubernetes: one projected volume per StatefulSet with every license Secret
its pods use, each under its own directory (``licensing.mounted_file``).

A pair's two pods share one template, so both mount both nodes' Secrets, and each is pointed at
its own through the variables of its per-node environment file (``configuration.nodes_data``
puts the ``_FILE`` variables that differ there). The official Helm chart mounts per-role files
the same way (``<role>-ignition-license-key``, templates/statefulset.yaml) but symlinks the
pod's own into the data volume at a path that differs between 8.1 and 8.3
(scripts/prepare-redundancy.sh); a variable per node needs no symlink and no version's path.
"""

from __future__ import annotations

from kubernetes.client.models import (
    V1KeyToPath,
    V1ProjectedVolumeSource,
    V1SecretProjection,
    V1Volume,
    V1VolumeMount,
    V1VolumeProjection,
)

from emitter import licensing
from emitter.targets.kubernetes.metadata import Workload

VOLUME = "licenses"
# Readable by the gateway's group (fsGroup) only, like the admin password.
MODE = 0o440


def volumes(workload: Workload) -> list[V1Volume]:
    """The license Secrets of the workload's gateways (none: no volume). A missing Secret keeps
    the pod from starting, with an event naming it: never a silent trial."""
    secrets = licensing.secrets(workload.gateways)
    if not secrets:
        return []
    sources = [
        V1VolumeProjection(
            secret=V1SecretProjection(
                name=secret,
                items=[
                    V1KeyToPath(key=key, path=f"{secret}/{key}") for key in licensing.SECRET_KEYS
                ],
            )
        )
        for secret in secrets
    ]
    return [
        V1Volume(name=VOLUME, projected=V1ProjectedVolumeSource(default_mode=MODE, sources=sources))
    ]


def mounts(workload: Workload) -> list[V1VolumeMount]:
    if not licensing.secrets(workload.gateways):
        return []
    return [V1VolumeMount(name=VOLUME, mount_path=licensing.MOUNT_DIR, read_only=True)]


def reload_secrets(workload: Workload) -> list[str]:
    """What Reloader watches besides the certificate: a rotated license restarts the pods (a
    pair backup first), since the image reads the files when it starts."""
    return licensing.secrets(workload.gateways)
