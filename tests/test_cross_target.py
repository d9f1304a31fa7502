"""Both targets lower the same IR: for any valid stack they agree on the gateways, who is
master and who is backup, which node the backup points at, and every Gateway Network link."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given

from emitter.ir import Stack
from emitter.pipeline import prepare, render
from emitter.spec import StackSpec

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
    services = {d["metadata"]["name"] for d in documents if d["kind"] == "Service"}
    view: dict[str, Any] = {}
    for document in documents:
        if document["kind"] != "StatefulSet":
            continue
        pod = document["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == "gateway")
        environment = {item["name"]: item.get("value") for item in container["env"]}
        configuration = next(v for v in pod["volumes"] if v["name"] == "configuration")
        redundancy = None
        for source in configuration["projected"]["sources"]:
            config_map = config_maps[source["configMap"]["name"]]
            redundancy = config_map["data"].get("redundancy.xml", redundancy)
        system_name = container["args"][1]
        replicas = document["spec"]["replicas"]
        pods = (
            [f"{document['metadata']['name']}-{index}" for index in range(replicas)]
            if "$(POD_NAME)" in system_name
            else [document["metadata"]["name"]]
        )
        for pod_name in pods:
            view[pod_name] = {
                "links": _links(environment),
                "system_name": system_name.replace("$(POD_NAME)", pod_name),
                "edition": environment["IGNITION_EDITION"],
                "pairing": _pairing(redundancy),
            }
    # Every link and every master address is a Service that exists.
    for node in view.values():
        for host, _, _ in node["links"]:
            assert host in services
        if node["pairing"] and node["pairing"][1]:
            assert node["pairing"][1] in services
    assert set(view) == {gateway.name for gateway in stack.gateways}
    return view


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
