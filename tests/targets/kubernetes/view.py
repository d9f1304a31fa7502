"""The Kubernetes base, read back: every pod of every StatefulSet, as the kubelet would start it."""

from __future__ import annotations

from typing import Any

import yaml

from emitter.ir import Stack
from tests.support.kubelet import container_environment, node_settings, pod_gateways
from tests.targets.views import node, redundancy_pairing


def view(files: dict[str, str], stack: Stack) -> dict[str, Any]:
    documents = [
        yaml.safe_load(text) for path, text in files.items() if path != "kustomization.yaml"
    ]
    config_maps = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ConfigMap"}
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    found: dict[str, Any] = {}
    for document in documents:
        if document["kind"] != "StatefulSet":
            continue
        pod = document["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == "gateway")
        configuration = next(v for v in pod["volumes"] if v["name"] == "configuration")
        mounted = {
            item["path"]: config_maps[source["configMap"]["name"]]["data"][item["key"]]
            for source in configuration["projected"]["sources"]
            for item in source["configMap"]["items"]
        }
        pods = pod_gateways(services.values(), document)
        for ordinal, (pod_name, gateway) in enumerate(pods.items()):
            environment = _environment(container["env"], pod_name, ordinal, mounted)
            redundancy_file = environment.get("NODE_REDUNDANCY_XML", "").rpartition("/")[2]
            found[gateway] = node(
                environment,
                container["args"][1].replace("$(POD_NAME)", pod_name),
                redundancy_pairing(mounted.get(redundancy_file)),
            )
    # Every link and every master address is a Service that exists.
    for gateway in found.values():
        for host, _, _ in gateway["links"]:
            assert host in services
        if gateway["pairing"] and gateway["pairing"][1]:
            assert gateway["pairing"][1] in services
    assert set(found) == {gateway.name for gateway in stack.gateways}
    return found


def _environment(
    variables: list[dict[str, Any]], pod: str, ordinal: int, mounted: dict[str, str]
) -> dict[str, str]:
    """What the gateway process sees in ``pod``: the container's environment as the kubelet
    gives it, and the node's own settings file (a pair's) loaded on top."""
    found = container_environment(variables, pod, ordinal)
    found.update(
        node_settings(mounted.get(found.get("NODE_ENVIRONMENT", "").rpartition("/")[2], ""))
    )
    return found
