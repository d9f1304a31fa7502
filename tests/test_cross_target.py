"""Both targets lower the same IR: for any valid stack they agree on the gateways, who is
master and who is backup, which node the backup points at, and every Gateway Network link."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given

from emitter.ir import Stack
from emitter.pipeline import prepare, render
from emitter.spec import StackSpec
from tests.support.kubelet import container_environment, node_settings, pod_gateways

from .test_properties import SETTINGS, stacks


def properties(text: str) -> dict[str, str]:
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(text)
    return {entry.attrib["key"]: entry.text or "" for entry in root.iter("entry")}


def compose_view(files: dict[str, str]) -> dict[str, Any]:
    services = yaml.safe_load(files["compose.yaml"])["services"]
    view: dict[str, Any] = {}
    for name, service in services.items():
        if service["labels"]["io.ignition-stack.component"] != "gateway":
            continue
        environment = service["environment"]
        redundancy = files.get(f"gateways/{name}/redundancy.xml")
        view[name] = {
            "links": _links(environment),
            "system_name": service["command"][1],
            "edition": environment["IGNITION_EDITION"],
            "pairing": _pairing(redundancy),
        }
    return view


def kubernetes_view(files: dict[str, str], stack: Stack) -> dict[str, Any]:
    documents = [
        yaml.safe_load(text) for path, text in files.items() if path != "kustomization.yaml"
    ]
    config_maps = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ConfigMap"}
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    view: dict[str, Any] = {}
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
            view[gateway] = {
                "links": _links(environment),
                "system_name": container["args"][1].replace("$(POD_NAME)", pod_name),
                "edition": environment["IGNITION_EDITION"],
                "pairing": _pairing(mounted.get(redundancy_file)),
            }
    # Every link and every master address is a Service that exists.
    for node in view.values():
        for host, _, _ in node["links"]:
            assert host in services
        if node["pairing"] and node["pairing"][1]:
            assert node["pairing"][1] in services
    assert set(view) == {gateway.name for gateway in stack.gateways}
    return view


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


def _links(environment: dict[str, str]) -> list[tuple[str, str, str]]:
    links = []
    index = 0
    while f"GATEWAY_NETWORK_{index}_HOST" in environment:
        links.append(
            (
                environment[f"GATEWAY_NETWORK_{index}_HOST"],
                environment[f"GATEWAY_NETWORK_{index}_PORT"],
                environment[f"GATEWAY_NETWORK_{index}_ENABLESSL"],
            )
        )
        index += 1
    return links


def _pairing(redundancy: str | None) -> tuple[str, ...] | None:
    if redundancy is None:
        return None
    keys = properties(redundancy)
    return tuple(
        keys[key]
        for key in (
            "redundancy.noderole",
            "redundancy.gan.host",
            "redundancy.gan.port",
            "redundancy.gan.enableSsl",
        )
    )


@SETTINGS
@given(stacks())
def test_both_targets_agree(spec: StackSpec) -> None:
    resolved = prepare(spec)
    emissions = render(resolved, ("compose", "kubernetes"))
    compose = compose_view(emissions["compose"].files)
    kubernetes = kubernetes_view(emissions["kubernetes"].files, resolved.stack)
    assert compose == kubernetes
    for master, backup in resolved.stack.pairs:
        assert compose[master.name]["pairing"][0] == "Master"
        assert compose[backup.name]["pairing"][:2] == ("Backup", master.name)


def test_views_see_a_pair() -> None:
    """The views above are not vacuous: a redundant stack shows a paired backup in both."""
    spec = StackSpec(name="plant", architecture="scale-out", redundant="backend")  # type: ignore[arg-type]
    emissions = render(prepare(spec), ("compose", "kubernetes"))
    compose = compose_view(emissions["compose"].files)
    assert compose["backend-backup"]["pairing"] == ("Backup", "backend", "8088", "false")
    assert compose["frontend-0"]["links"] == [
        ("backend", "8088", "false"),
        ("backend-backup", "8088", "false"),
    ]
