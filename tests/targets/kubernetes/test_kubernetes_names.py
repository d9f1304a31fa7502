"""Object names, file names and the contract overlays depend on; names Kubernetes refuses."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.models import V1ConfigMap, V1ObjectMeta

from emitter.diagnostics import StackInvalid
from emitter.pipeline import prepare
from emitter.resolve import expand
from emitter.spec import GatewaySpec, StackSpec
from emitter.targets import target_names
from emitter.targets.kubernetes import NAME
from emitter.targets.kubernetes.manifest import document, file_name
from emitter.targets.kubernetes.metadata import image_version

from .emitted import KUSTOMIZATION, build


def test_target_is_registered_under_both_names() -> None:
    assert NAME == "kubernetes"
    assert target_names("k8s") == ("kubernetes",)


def test_scale_out_redundant_backend_object_names() -> None:
    """The names overlays patch: renaming any of them is a breaking change."""
    assert sorted(build("scale-out", "backend").files) == [
        "apps_v1_statefulset_backend.yaml",
        "apps_v1_statefulset_frontend.yaml",
        KUSTOMIZATION,
        "networking.k8s.io_v1_networkpolicy_gateway-egress-backend.yaml",
        "networking.k8s.io_v1_networkpolicy_gateway-egress-frontend.yaml",
        "networking.k8s.io_v1_networkpolicy_gateway-egress.yaml",
        "networking.k8s.io_v1_networkpolicy_gateway-network-backend.yaml",
        "networking.k8s.io_v1_networkpolicy_gateway-network-frontend.yaml",
        "networking.k8s.io_v1_networkpolicy_gateway-web.yaml",
        "policy_v1_poddisruptionbudget_backend-pair.yaml",
        "v1_configmap_backend-redundancy.yaml",
        "v1_configmap_plant-scripts.yaml",
        "v1_service_backend-backup.yaml",
        "v1_service_backend-headless.yaml",
        "v1_service_backend.yaml",
        "v1_service_frontend-headless.yaml",
        "v1_service_frontend.yaml",
    ]


def test_hub_and_spoke_tier_budget_and_spoke_pods() -> None:
    emitted = build("hub-and-spoke", "hub", spokes=4)
    assert emitted.named("StatefulSet", "spoke")["spec"]["replicas"] == 4
    assert emitted.names("PodDisruptionBudget") == {"hub-pair", "spoke"}
    spoke = emitted.named("StatefulSet", "spoke")["spec"]["template"]["metadata"]["labels"]
    assert spoke["app.kubernetes.io/component"] == "spoke"


def test_a_thousand_spokes_are_one_stateful_set() -> None:
    emitted = build("hub-and-spoke", "hub", spokes=1000)
    assert emitted.named("StatefulSet", "spoke")["spec"]["replicas"] == 1000
    assert len(emitted.objects) == len(build("hub-and-spoke", "hub", spokes=2).objects)


def test_no_spokes_means_no_spoke_objects() -> None:
    emitted = build("hub-and-spoke", None, spokes=0)
    assert emitted.names("StatefulSet") == {"hub"}
    assert emitted.names("Service") == {"hub", "hub-headless"}


@pytest.mark.parametrize(
    ("reference", "version"),
    [
        ("inductiveautomation/ignition:8.3.6", "8.3.6"),
        ("registry.example:5000/ignition:8.3.6-custom_1", "8.3.6-custom_1"),
        ("inductiveautomation/ignition:8.3.6@sha256:" + "a" * 64, "8.3.6"),
        ("inductiveautomation/ignition@sha256:" + "a" * 64, None),
        ("registry.example:5000/ignition", None),
        ("ignition", None),
        ("ignition:" + "9" * 64, None),  # longer than a label value may be
        ("ignition:-dev", None),  # a label value starts alphanumeric
    ],
)
def test_image_version(reference: str, version: str | None) -> None:
    assert image_version(reference) == version


def test_no_version_label_for_a_tag_no_label_value_holds() -> None:
    # A mirror's tag that names the release but is longer than a label value may be.
    emitted = build("basic", image="mirror.example/ignition:8.3.6-" + "b" * 60)
    for item in emitted.objects.values():
        assert "app.kubernetes.io/version" not in item["metadata"]["labels"]


def test_document_order_and_file_name() -> None:
    config_map = V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=V1ObjectMeta(name="Plant-Scripts", labels={"b": "1", "a": "2"}),
        data={"z": "1", "name": "2"},
    )
    data: dict[str, Any] = document(config_map)
    # The model orders fields alphabetically (apiVersion, data, kind, metadata).
    assert list(data) == ["apiVersion", "kind", "metadata", "data"]
    assert list(data["metadata"]) == ["name", "labels"]
    assert list(data["metadata"]["labels"]) == ["b", "a"], "labels keep their order"
    assert list(data["data"]) == ["z", "name"], "data keys are never reordered"
    assert file_name(data) == "v1_configmap_plant-scripts.yaml"


def _stack_with_names(
    architecture: str, redundant: str | None, renames: dict[str, str]
) -> StackSpec:
    explicit = expand(StackSpec(name="plant", architecture=architecture, redundant=redundant))  # type: ignore[arg-type]
    assert explicit.gateways is not None
    gateways = []
    for gateway in explicit.gateways:
        data = gateway.model_dump()
        data["name"] = renames.get(data["name"], data["name"])
        data["connections"] = [renames.get(target, target) for target in data["connections"]]
        if data["redundancy"]:
            peer = data["redundancy"]["peer"]
            data["redundancy"]["peer"] = renames.get(peer, peer)
        gateways.append(GatewaySpec.model_validate(data))
    return explicit.model_copy(update={"gateways": gateways})


def test_names_kubernetes_cannot_use_are_refused_by_the_shared_rules() -> None:
    """A gateway named like another gateway's headless Service, or starting with a digit,
    is rejected before any target runs, so both targets agree on what is valid."""
    for architecture, redundant, renames, code in (
        ("scale-out", "backend", {"backend-backup": "backend-headless"}, "IS113"),
        ("basic", None, {"gateway": "1gateway"}, "IS110"),
    ):
        spec = _stack_with_names(architecture, redundant, renames)
        with pytest.raises(StackInvalid) as raised:
            prepare(spec)
        assert code in [d.code for d in raised.value.diagnostics]
