"""What the kubelet does to a container's environment, for tests that read emitted manifests:
fills in the downward API (the pod's name and index) and expands ``$(NAME)`` references to
variables defined earlier in the list; and what a pair's start script loads on top of it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import Any

POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def container_environment(
    variables: list[dict[str, Any]], pod: str, ordinal: int
) -> dict[str, str]:
    downward = {f"metadata.labels['{POD_INDEX_LABEL}']": str(ordinal), "metadata.name": pod}
    found: dict[str, str] = {}
    for variable in variables:
        if "valueFrom" in variable:
            found[variable["name"]] = downward[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            found[variable["name"]] = re.sub(
                r"\$\(([A-Z_]+)\)", lambda match: found.get(match[1], match[0]), variable["value"]
            )
    return found


def node_settings(text: str) -> dict[str, str]:
    """The ``NAME='value'`` lines of a pair node's settings file (``NODE_ENVIRONMENT``)."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key] = shlex.split(value)[0] if value else ""
    return found


def pod_gateways(objects: Iterable[dict[str, Any]], stateful_set: dict[str, Any]) -> dict[str, str]:
    """The gateway each pod of a StatefulSet runs, by pod name: the one whose own Service selects
    the pod (a single gateway, or a pair's node by ``statefulset.kubernetes.io/pod-name``). The
    pods of a replicated tier run the gateway they are named after, so they map to themselves."""
    name = stateful_set["metadata"]["name"]
    pods = [f"{name}-{ordinal}" for ordinal in range(stateful_set["spec"].get("replicas", 1))]
    found = {pod: pod for pod in pods}
    if stateful_set["spec"].get("podManagementPolicy") == "Parallel":
        return found
    for service in objects:
        if service["kind"] != "Service":
            continue
        selector = service["spec"].get("selector") or {}
        if (
            service["spec"].get("clusterIP") == "None"
            or selector.get("app.kubernetes.io/instance") != name
        ):
            continue
        found[selector.get("statefulset.kubernetes.io/pod-name", f"{name}-0")] = service[
            "metadata"
        ]["name"]
    return found
