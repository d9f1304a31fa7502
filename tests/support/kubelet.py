"""What the kubelet does to a container's environment, for tests that read emitted manifests:
fills in the downward API (the pod's name and index) and expands ``$(NAME)`` references to
variables defined earlier in the list; and what a pair's start script loads on top of it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import Any

POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


# What the kubelet replaces, left to right: `$$` by one `$`, `$(NAME)` by a variable defined
# before (left as written when there is none); any other `$` stays.
_REFERENCE = re.compile(r"\$(\$|\(([^)]*)\))")


def expand(text: str, defined: dict[str, str]) -> str:
    """``text`` after the kubelet's expansion (``$(NAME)`` and the ``$$`` escape)."""
    return _REFERENCE.sub(
        lambda match: "$" if match[1] == "$" else defined.get(match[2], match[0]), text
    )


def container_environment(
    variables: list[dict[str, Any]], pod: str, ordinal: int
) -> dict[str, str]:
    downward = {f"metadata.labels['{POD_INDEX_LABEL}']": str(ordinal), "metadata.name": pod}
    found: dict[str, str] = {}
    for variable in variables:
        if "valueFrom" in variable:
            found[variable["name"]] = downward[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            found[variable["name"]] = expand(variable["value"], found)
    return found


def container_arguments(arguments: list[str], environment: dict[str, str]) -> list[str]:
    """A container's arguments as the kubelet passes them (expanded against its environment)."""
    return [expand(argument, environment) for argument in arguments]


def node_settings(text: str) -> dict[str, str]:
    """The ``NAME='value'`` lines of a pair node's settings file (``NODE_ENVIRONMENT``)."""
    found = {}
    for name, value in re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", text, flags=re.M):
        found[name] = shlex.split(value)[0] if value else ""
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
