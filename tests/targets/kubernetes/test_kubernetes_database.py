"""The stack's database on Kubernetes: the CloudNativePG Cluster against CloudNativePG's own CRD
(in-process through the `validate --crd` path, and with the real kubeconform), the password
mounted into the init container only, every pod of a connected role waiting for the database,
and the egress the connected gateways get."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import load_stack_file

from ...support import cert_manager, cloudnative_pg
from ...support.cases import expected, stack_file
from ...support.validators import run_kubeconform

CASES = (
    "basic-redundant-database",
    "scale-out-redundant-ssl-database",
    "basic-database-ignition-8.1",
)


def objects(case: str) -> dict[str, dict[str, Any]]:
    files = render(prepare(load_stack_file(stack_file(case))), ("kubernetes",))["kubernetes"].files
    return {
        path: yaml.safe_load(text) for path, text in files.items() if path != "kustomization.yaml"
    }


def cluster(case: str) -> dict[str, Any]:
    return objects(case)["postgresql.cnpg.io_v1_cluster_postgres.yaml"]


@pytest.mark.parametrize("case", CASES)
def test_the_cluster_validates_against_cloudnative_pgs_crd(case: str) -> None:
    assert cloudnative_pg.validate_objects([cluster(case)], "1.33") == 1


def test_the_crd_check_can_fail() -> None:
    broken = copy.deepcopy(cluster("basic-redundant-database"))
    broken["spec"]["instance"] = 2  # misspelt
    broken["spec"]["storage"]["size"] = 5
    found = cloudnative_pg.problems(broken, "1.33")
    assert found is not None
    assert any("instance" in problem for problem in found), found
    assert any("storage.size" in problem for problem in found), found


def test_the_cluster_is_pinned_and_named_from_the_stack_file() -> None:
    spec = cluster("scale-out-redundant-ssl-database")["spec"]
    assert spec == {
        "instances": 2,
        "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
        "bootstrap": {"initdb": {"database": "plant", "owner": "scada"}},
        "storage": {"size": "20Gi", "storageClass": "fast-ssd"},
    }
    defaults = cluster("basic-redundant-database")["spec"]
    assert (defaults["instances"], defaults["storage"]) == (1, {"size": "5Gi"})


@pytest.mark.external
@pytest.mark.parametrize("case", CASES)
def test_kubeconform_accepts_the_database_trees(case: str) -> None:
    tree = expected(case, "kubernetes")
    manifests = sorted(p for p in tree.glob("*.yaml") if p.name != "kustomization.yaml")
    summary = run_kubeconform(
        manifests,
        extra_schema_locations=[cert_manager.schema_location(), cloudnative_pg.schema_location()],
    )
    assert summary["valid"] == len(manifests)


def _pod(case: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = objects(case)[f"apps_v1_statefulset_{name}.yaml"]["spec"]["template"][
        "spec"
    ]
    return spec


def _environment(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


@pytest.mark.parametrize(("case", "workload"), [("basic-redundant-database", "gateway"),
                         ("scale-out-redundant-ssl-database", "backend"),
                         ("scale-out-redundant-ssl-database", "frontend")])  # fmt: skip
def test_the_password_reaches_the_init_container_only(case: str, workload: str) -> None:
    pod = _pod(case, workload)
    (volume,) = [v for v in pod["volumes"] if v["name"] == "database-password"]
    assert volume["secret"] == {
        "secretName": "postgres-app",
        "items": [{"key": "password", "path": "password"}],
        "defaultMode": 0o440,
    }
    (seed,) = pod["initContainers"]
    assert {"name": "database-password", "mountPath": "/run/secrets/database-password",
            "readOnly": True} in seed["volumeMounts"]  # fmt: skip
    environment = _environment(seed)
    assert environment["DATABASE_PASSWORD_FILE"] == "/run/secrets/database-password/password"
    assert environment["DATABASE_WAIT"] == "postgres-rw:5432"
    assert environment["DATABASE_URL"].startswith("jdbc:postgresql://postgres-rw:5432/")
    for container in pod["containers"]:
        assert all(m["name"] != "database-password" for m in container["volumeMounts"])
        assert not any(name.startswith("DATABASE_") for name in _environment(container))


def test_ignition_8_1_pods_wait_but_get_no_password() -> None:
    pod = _pod("basic-database-ignition-8.1", "gateway")
    assert all(v["name"] != "database-password" for v in pod["volumes"])
    environment = _environment(pod["initContainers"][0])
    assert environment["DATABASE_WAIT"] == "postgres-rw:5432"
    assert "DATABASE_CONNECTIONS" not in environment


def test_only_the_connected_gateways_may_reach_the_database() -> None:
    found = objects("scale-out-redundant-ssl-database")
    policy = found["networking.k8s.io_v1_networkpolicy_postgres-clients.yaml"]["spec"]
    assert policy["policyTypes"] == ["Egress"]
    assert policy["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/instance", "operator": "In", "values": ["backend", "frontend"]}
    ]
    assert policy["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "postgres"}}}],
            "ports": [{"port": 5432, "protocol": "TCP"}],
        }
    ]


def test_no_secret_is_emitted_and_only_the_password_key_is_read() -> None:
    """The manifests hold no Secret, and of CloudNativePG's Secret only ``password`` is read:
    never ``uri`` or ``jdbc-uri``, which hold the password too (research §2)."""
    for case in CASES:
        for path, item in objects(case).items():
            assert item["kind"] != "Secret", path
            if item["kind"] != "StatefulSet":
                continue
            for volume in item["spec"]["template"]["spec"]["volumes"]:
                if volume.get("secret", {}).get("secretName") == "postgres-app":
                    assert [i["key"] for i in volume["secret"]["items"]] == ["password"], path


def test_a_stack_without_a_database_gets_none_of_it() -> None:
    found = objects("basic-redundant")
    assert not any(cloudnative_pg.is_cloudnative_pg(item) for item in found.values())
    assert "database-password" not in yaml.safe_dump(list(found.values()))


def test_the_golden_trees_are_the_emitted_ones() -> None:
    for case in CASES:
        tree = expected(case, "kubernetes")
        assert Path(tree, "postgresql.cnpg.io_v1_cluster_postgres.yaml").is_file()
