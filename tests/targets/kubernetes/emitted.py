"""Build stacks through the real pipeline and emit them with the Kubernetes target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from emitter.ir import Gateway, Stack
from emitter.pipeline import prepare
from emitter.spec import StackSpec
from emitter.targets import Emission
from emitter.targets.kubernetes import emit
from emitter.targets.kubernetes.options import KubernetesSpec
from tests.support.cases import shapes
from tests.support.kubelet import POD_INDEX_LABEL, container_environment, node_settings

KUSTOMIZATION = "kustomization.yaml"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"

# (architecture, redundant role) of the golden cases: every architecture, with and without its
# pair (each test adds the transport and options it is about).
CASES = tuple(shapes().values())
CASE_IDS = list(shapes())


@dataclass(frozen=True)
class Emitted:
    stack: Stack
    emission: Emission
    # path -> the parsed object, for every manifest (kustomization.yaml excluded)
    objects: dict[str, dict[str, Any]]

    @property
    def files(self) -> dict[str, str]:
        return self.emission.files

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.objects.values() if item["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [item for item in self.of_kind(kind) if item["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name!r}, found {len(found)}"
        return found[0]

    def names(self, kind: str) -> set[str]:
        return {item["metadata"]["name"] for item in self.of_kind(kind)}

    def members(self, stateful_set: dict[str, Any]) -> list[str]:
        """The gateways a StatefulSet runs, by ordinal: a tier's ``<role>-i``, a pair's master
        and backup, or a single gateway."""
        name = stateful_set["metadata"]["name"]
        replicas = stateful_set["spec"]["replicas"]
        if self.stack.gateway(name) is None:
            return [f"{name}-{ordinal}" for ordinal in range(replicas)]
        backups = {master.name: backup.name for master, backup in self.stack.pairs}
        return [name, backups[name]] if replicas == 2 else [name]

    def stateful_set_of(self, gateway: str) -> tuple[dict[str, Any], int]:
        """The StatefulSet that runs ``gateway`` and the pod ordinal that is it."""
        for item in self.of_kind("StatefulSet"):
            members = self.members(item)
            if gateway in members:
                return item, members.index(gateway)
        raise AssertionError(f"no StatefulSet runs {gateway!r}")

    def gateway_of(self, stateful_set: dict[str, Any]) -> Gateway:
        """The IR gateway a StatefulSet's pod template stands for (its ordinal-0 member)."""
        gateway = self.stack.gateway(self.members(stateful_set)[0])
        assert gateway is not None, stateful_set["metadata"]["name"]
        return gateway

    def pod_labels(self, gateway: str) -> dict[str, str]:
        """The labels of the pod that runs ``gateway``: its template's, plus the ones the
        StatefulSet controller adds (pod name and index)."""
        item, ordinal = self.stateful_set_of(gateway)
        labels: dict[str, str] = dict(item["spec"]["template"]["metadata"]["labels"])
        labels[POD_NAME_LABEL] = f"{item['metadata']['name']}-{ordinal}"
        labels[POD_INDEX_LABEL] = str(ordinal)
        return labels

    def pods(self) -> dict[str, dict[str, str]]:
        """Gateway name -> the labels of the pod that runs it."""
        return {gateway.name: self.pod_labels(gateway.name) for gateway in self.stack.gateways}

    def pod_environment(self, gateway: str, container_name: str) -> dict[str, str]:
        """A container's environment in the pod that runs ``gateway``, as the kubelet gives it:
        the downward API filled in and ``$(NAME)`` references expanded."""
        item, ordinal = self.stateful_set_of(gateway)
        variables = container(item, container_name).get("env", [])
        return container_environment(variables, f"{item['metadata']['name']}-{ordinal}", ordinal)

    def gateway_environment(self, gateway: str) -> dict[str, str]:
        """What the gateway process of ``gateway`` sees: its container's environment, plus the
        node's own settings file a pair's start script loads (``NODE_ENVIRONMENT``)."""
        found = self.pod_environment(gateway, "gateway")
        node_file = found.pop("NODE_ENVIRONMENT", None)
        if node_file is not None:
            item, _ = self.stateful_set_of(gateway)
            config_map = self.named("ConfigMap", f"{item['metadata']['name']}-redundancy")
            found.update(node_settings(config_map["data"][node_file.rsplit("/", 1)[1]]))
        return found


def build(
    architecture: str = "scale-out",
    redundant: str | None = None,
    *,
    name: str = "plant",
    kubernetes: KubernetesSpec | None = None,
    **fields: Any,
) -> Emitted:
    spec = StackSpec(
        name=name,
        architecture=architecture,  # type: ignore[arg-type]
        redundant=redundant,
        kubernetes=kubernetes or KubernetesSpec(),
        **fields,
    )
    resolved = prepare(spec)
    emission = emit(resolved.stack, resolved.options("kubernetes"))
    objects = {
        path: yaml.safe_load(text) for path, text in emission.files.items() if path != KUSTOMIZATION
    }
    return Emitted(resolved.stack, emission, objects)


def container(stateful_set: dict[str, Any], name: str) -> dict[str, Any]:
    spec = stateful_set["spec"]["template"]["spec"]
    found: list[dict[str, Any]] = [
        each for each in spec["containers"] + spec["initContainers"] if each["name"] == name
    ]
    assert len(found) == 1
    return found[0]


def environment(container_spec: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container_spec.get("env", [])}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
