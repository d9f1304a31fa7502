"""Build stacks through the real pipeline and emit them with the Kubernetes target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from emitter.ir import Gateway, Stack
from emitter.pipeline import prepare
from emitter.spec import KubernetesSpec, StackSpec
from emitter.targets import Emission
from emitter.targets.kubernetes import emit

KUSTOMIZATION = "kustomization.yaml"

# (architecture, redundant role): every architecture, with and without its pair.
CASES = (
    ("basic", None),
    ("basic", "gateway"),
    ("scale-out", None),
    ("scale-out", "backend"),
    ("hub-and-spoke", None),
    ("hub-and-spoke", "hub"),
)
CASE_IDS = [f"{architecture}-{redundant or 'single'}" for architecture, redundant in CASES]


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

    def stateful_set_of(self, gateway: str) -> tuple[dict[str, Any], int]:
        """The StatefulSet that runs ``gateway`` and the pod ordinal that is it."""
        for item in self.of_kind("StatefulSet"):
            name = item["metadata"]["name"]
            for ordinal in range(item["spec"]["replicas"]):
                pod = name if self._single(item) else f"{name}-{ordinal}"
                if pod == gateway:
                    return item, ordinal
        raise AssertionError(f"no StatefulSet runs {gateway!r}")

    def _single(self, stateful_set: dict[str, Any]) -> bool:
        # A single gateway's StatefulSet is named like the gateway; a tier's, like its role.
        return self.stack.gateway(stateful_set["metadata"]["name"]) is not None

    def gateway_of(self, stateful_set: dict[str, Any]) -> Gateway:
        """The IR gateway a StatefulSet's pod template stands for (a tier's first member)."""
        name = stateful_set["metadata"]["name"]
        gateway = self.stack.gateway(name) or self.stack.gateway(f"{name}-0")
        assert gateway is not None, name
        return gateway

    def pod_labels(self, gateway: str) -> dict[str, str]:
        labels: dict[str, str] = self.stateful_set_of(gateway)[0]["spec"]["template"]["metadata"][
            "labels"
        ]
        return labels


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
    emission = emit(resolved.stack, resolved.options)
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
