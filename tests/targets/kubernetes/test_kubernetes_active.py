"""A pair's host reaches its active node (``active.py``, rule IS167): the ``-active`` Service,
the markers' RBAC scoped to the pair's pods, the token mounted into the marker alone, the API
server egress, and the rule with its path and hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec
from emitter.targets.kubernetes import active
from tests.conftest import Result
from tests.test_rules import assert_diagnostic, explicit

Cli = Callable[..., Result]
CIDRS = ["172.18.0.2/32", "10.96.0.0/12"]
PAIR_LABELS = {"app.kubernetes.io/name": "ignition", "app.kubernetes.io/instance": "backend"}


def stack_data(hosts: dict[str, str], **web: Any) -> dict[str, Any]:
    data = explicit("scale-out", "backend", frontends=2)
    data["web"] = {"hosts": hosts}
    data["kubernetes"]["web"] = {"issuer": {"name": "le"}, "controller_namespace": "ingress", **web}
    return data


def emitted(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    files = render(prepare(StackSpec.model_validate(data)), ("kubernetes",))["kubernetes"].files
    found = {}
    for path, text in files.items():
        if path != "kustomization.yaml":
            item = yaml.safe_load(text)
            found[f"{item['kind']}/{item['metadata']['name']}"] = item
    return found


def pod_spec(objects: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = objects[f"StatefulSet/{name}"]["spec"]["template"]["spec"]
    return spec


def test_the_role_host_reaches_the_active_service_which_selects_the_labelled_pair_pod() -> None:
    objects = emitted(stack_data({"backend": "s.example.com"}, api_server_cidrs=CIDRS))
    rule = objects["Ingress/web"]["spec"]["rules"][0]
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "backend-active",
        "port": {"number": 8088},
    }
    service = objects["Service/backend-active"]["spec"]
    # The labels both pods of the pair share, plus the marker's label; never a pod name.
    assert service["selector"] == {**PAIR_LABELS, active.ACTIVE_LABEL: "true"}
    template = objects["StatefulSet/backend"]["spec"]["template"]["metadata"]["labels"]
    assert PAIR_LABELS.items() <= template.items()
    assert service["ports"] == [
        {"name": "http", "port": 8088, "protocol": "TCP", "targetPort": "http"}
    ]
    # Ready pods only: a split-brain backup (active, never paired) is never ready.
    assert "publishNotReadyAddresses" not in service


def test_rbac_may_get_and_patch_exactly_the_pair_pods() -> None:
    objects = emitted(stack_data({"backend": "s.example.com"}, api_server_cidrs=CIDRS))
    role = objects["Role/backend-active-marker"]
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods"],
            "resourceNames": ["backend-0", "backend-1"],
            "verbs": ["get", "patch"],
        }
    ]
    binding = objects["RoleBinding/backend-active-marker"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "backend-active-marker",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "backend-active-marker"}]
    account = objects["ServiceAccount/backend-active-marker"]
    assert account["automountServiceAccountToken"] is False
    # Nothing else gets a Role, a ServiceAccount or a marker: not the frontends.
    assert {
        key for key in objects if key.split("/")[0] in ("Role", "RoleBinding", "ServiceAccount")
    } == {
        "Role/backend-active-marker",
        "RoleBinding/backend-active-marker",
        "ServiceAccount/backend-active-marker",
    }
    frontends = pod_spec(objects, "frontend")
    assert [c["name"] for c in frontends["containers"]] == ["gateway"]
    assert "serviceAccountName" not in frontends


def test_the_token_is_mounted_into_the_marker_only() -> None:
    objects = emitted(stack_data({"backend": "s.example.com"}, api_server_cidrs=CIDRS))
    pod = pod_spec(objects, "backend")
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "backend-active-marker"
    volume = next(v for v in pod["volumes"] if v["name"] == active.CREDENTIALS_VOLUME)
    assert volume["projected"]["sources"] == [
        {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    ]
    mounting = [
        container["name"]
        for container in pod["containers"] + pod["initContainers"]
        if any(m["name"] == active.CREDENTIALS_VOLUME for m in container.get("volumeMounts", []))
    ]
    assert mounting == [active.CONTAINER]
    marker = next(c for c in pod["containers"] if c["name"] == active.CONTAINER)
    gateway = next(c for c in pod["containers"] if c["name"] == "gateway")
    assert marker["image"] == gateway["image"]  # the image the pod already runs, bash and curl
    assert marker["command"] == ["/bin/bash", f"/ignition-stack/{active.SCRIPT}"]
    assert marker["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
    }
    assert set(marker["resources"]["limits"]) == {"cpu", "memory", "ephemeral-storage"}
    scripts = objects["ConfigMap/plant-scripts"]["data"]
    assert scripts[active.SCRIPT].startswith("#!/bin/bash")


def test_the_pair_pods_may_reach_the_api_server_cidrs_only_on_its_ports() -> None:
    objects = emitted(stack_data({"backend": "s.example.com"}, api_server_cidrs=CIDRS))
    policy = objects["NetworkPolicy/gateway-api-server-backend"]["spec"]
    assert policy["podSelector"] == {"matchLabels": PAIR_LABELS}
    assert policy["policyTypes"] == ["Egress"]
    assert policy["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": cidr}} for cidr in CIDRS],
            "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
        }
    ]


def test_a_backup_with_its_own_host_keeps_it_and_the_role_host_follows_the_active_node() -> None:
    objects = emitted(
        stack_data(
            {"backend": "s.example.com", "backend-backup": "b.example.com"},
            api_server_cidrs=CIDRS,
        )
    )
    backends = {
        rule["host"]: rule["http"]["paths"][0]["backend"]["service"]["name"]
        for rule in objects["Ingress/web"]["spec"]["rules"]
    }
    assert backends == {"s.example.com": "backend-active", "b.example.com": "backend-backup"}


def test_no_pair_host_no_marker_and_no_rule() -> None:
    objects = emitted(stack_data({"frontend": "h.example.com"}))
    assert not [key for key in objects if "active" in key]
    assert [c["name"] for c in pod_spec(objects, "backend")["containers"]] == ["gateway"]
    assert active.SCRIPT not in objects["ConfigMap/plant-scripts"]["data"]


def test_a_pair_host_without_api_server_cidrs_is_is167(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(stack_data({"backend": "s.example.com"}), sort_keys=False))
    result = cli("emit", str(path), "--target", "k8s", "--out", str(tmp_path / "out"))
    assert_diagnostic(
        result,
        "IS167",
        "kubernetes.web.api_server_cidrs",
        "'backend'",
        "kubectl get endpoints kubernetes -n default",
    )
    assert not (tmp_path / "out").exists()


def test_a_compose_only_stack_needs_no_api_server_cidrs(cli: Cli, tmp_path: Path) -> None:
    data = stack_data({"backend": "s.example.com"})
    data["targets"] = ["compose"]
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("emit", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert "IS167" not in result.stderr


@pytest.mark.parametrize("name", ["backend-active", "gateway-active"])
def test_a_gateway_named_like_an_active_service_is_reserved(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    data = explicit("basic", None)
    data["gateways"][0]["name"] = name
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("emit", str(path), "--target", "k8s", "--out", str(tmp_path / "out"))
    assert_diagnostic(result, "IS113", "gateways[0].name", "'-active'")
