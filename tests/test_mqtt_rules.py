"""Every rule of the MQTT broker (IS170-IS177), tripped through the real command line with its
code, path and hint; and what the rules let through resolves into the one IR fact both targets
lower, with the password in no file of either tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec

from .conftest import Result
from .support.cases import CASES, stack_data
from .test_rules import assert_diagnostic, explicit, run_stack

Cli = Callable[..., Result]


def with_mqtt(mqtt: dict[str, Any], **shape: Any) -> dict[str, Any]:
    data = explicit("hub-and-spoke", "hub", spokes=2, **shape)
    data["mqtt"] = mqtt
    return data


@pytest.mark.parametrize(
    ("mqtt", "code", "path", "words"),
    [
        ({"roles": ["hub", "plc"]}, "IS170", "mqtt.roles[1]", ("no role 'plc'", "hub, spoke")),
        ({"roles": []}, "IS171", "mqtt.roles", ("is empty", "no gateway", "delete `roles:`")),
        ({"roles": ["hub", "hub"]}, "IS175", "mqtt.roles[1]", ("listed twice", "once")),
        ({"username": "a:b"}, "IS172", "mqtt.username", ("not 1 to 64", "ignition")),
        ({"username": ""}, "IS172", "mqtt.username", ("not 1 to 64",)),
        ({"username": "x" * 65}, "IS172", "mqtt.username", ("not 1 to 64",)),
        ({"image": "eclipse-mosquitto"}, "IS173", "mqtt.image", ("means `latest`", "2.0.22")),
        ({"image": "eclipse-mosquitto:latest"}, "IS173", "mqtt.image", ("moves",)),
        ({"image": "eclipse-mosquitto:2"}, "IS173", "mqtt.image", ("tag '2'", "moves")),
        ({"image": "eclipse-mosquitto:2.0-openssl"}, "IS173", "mqtt.image", ("moves",)),
        ({"image": "Eclipse Mosquitto"}, "IS173", "mqtt.image", ("not an image reference",)),
    ],
)
def test_each_broker_rule_has_its_code_path_and_hint(
    cli: Cli, tmp_path: Path, mqtt: dict[str, Any], code: str, path: str, words: tuple[str, ...]
) -> None:
    result = run_stack(cli, tmp_path, with_mqtt(mqtt))
    assert_diagnostic(result, code, path, *words)
    assert not (tmp_path / "out").exists()


def test_a_role_without_gateways_reaches_no_one(cli: Cli, tmp_path: Path) -> None:
    data = explicit("hub-and-spoke", None, spokes=0)
    data["mqtt"] = {"roles": ["spoke"]}
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS171", "mqtt.roles", "names no role with a gateway"
    )


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        ({"name": "mqtt"}, "IS174", "gateways[2].name"),
        ({"name": "mqtt-password-file"}, "IS174", "gateways[2].name"),
        ({"volume": "mqtt-data"}, "IS174", "gateways[2].volume"),
        ({"volume": "mqtt-auth"}, "IS174", "gateways[2].volume"),
        ({"networks": ["gateways", "mqtt"]}, "IS174", "gateways[2].networks[1]"),
    ],
)
def test_the_brokers_names_are_its_own(
    cli: Cli, tmp_path: Path, change: dict[str, Any], code: str, path: str
) -> None:
    data = with_mqtt({})
    data["gateways"][2].update(change)
    assert_diagnostic(run_stack(cli, tmp_path, data), code, path, "broker")


def test_the_names_are_free_without_a_broker() -> None:
    data = explicit("basic")
    data["gateways"][0]["volume"] = "mqtt-data"
    data["gateways"][0]["networks"] = ["mqtt"]
    resolved = prepare(StackSpec.model_validate(data))
    assert resolved.stack.mqtt is None


def test_the_host_port_option_needs_a_broker_and_a_free_port(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["compose"] = {"mqtt_port": 1883}
    assert_diagnostic(run_stack(cli, tmp_path, data), "IS176", "compose.mqtt_port", "no `mqtt:`")
    data["mqtt"] = {}
    data["compose"] = {"mqtt_port": data["gateways"][0]["http_port"]}
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS177", "compose.mqtt_port", "web port", "1883"
    )


def test_every_rule_at_once_and_no_traceback(cli: Cli, tmp_path: Path) -> None:
    data = with_mqtt({"roles": ["plc"], "username": "?", "image": "eclipse-mosquitto"})
    result = run_stack(cli, tmp_path, data)
    for code in ("IS170", "IS171", "IS172", "IS173"):
        assert f"error {code}" in result.stderr, code


def test_the_explicit_stack_spells_out_every_default() -> None:
    data = explicit("scale-out", "backend", frontends=2, mqtt={})
    assert data["mqtt"] == {
        "broker": "mosquitto",
        "image": "eclipse-mosquitto:2.0.22",
        "username": "ignition",
        "roles": ["frontend", "backend"],
    }


def test_the_ir_names_the_gateways_that_reach_the_broker() -> None:
    data = with_mqtt({"roles": ["hub"]})
    broker = prepare(StackSpec.model_validate(data)).stack.mqtt
    assert broker is not None
    assert (broker.host, broker.port, broker.roles) == ("mqtt", 1883, ("hub",))
    assert broker.clients == ("hub", "hub-backup")
    assert broker.password_secret == "plant-mqtt"


def test_only_the_gateways_of_its_roles_join_the_brokers_network() -> None:
    resolved = prepare(StackSpec.model_validate(with_mqtt({"roles": ["hub"]})))
    compose = yaml.safe_load(render(resolved, ("compose",))["compose"].files["compose.yaml"])
    services = compose["services"]
    joined = sorted(name for name, s in services.items() if "mqtt" in s.get("networks", []))
    assert joined == ["hub", "hub-backup", "mqtt"]
    assert services["mqtt"]["networks"] == ["mqtt"]
    assert "ports" not in services["mqtt"]
    # Not published: nothing leaves the host through the broker's network.
    assert compose["networks"]["mqtt"] == {"internal": True}


def test_a_published_broker_listens_on_loopback_unless_told() -> None:
    data = with_mqtt({})
    data["compose"] = {"mqtt_port": 11883}
    compose = yaml.safe_load(
        render(prepare(StackSpec.model_validate(data)), ("compose",))["compose"].files[
            "compose.yaml"
        ]
    )
    assert compose["services"]["mqtt"]["ports"] == ["127.0.0.1:11883:1883"]
    assert compose["networks"]["mqtt"] == {}
    data["compose"] = {"mqtt_port": 11883, "publish_address": "0.0.0.0"}
    compose = yaml.safe_load(
        render(prepare(StackSpec.model_validate(data)), ("compose",))["compose"].files[
            "compose.yaml"
        ]
    )
    assert compose["services"]["mqtt"]["ports"] == ["0.0.0.0:11883:1883"]


MQTT_CASES = [case for case in CASES if "mqtt" in stack_data(case)]


def test_there_are_broker_golden_cases() -> None:
    assert {"basic-mqtt", "hub-and-spoke-redundant-mqtt"} <= set(MQTT_CASES)


@pytest.mark.parametrize("case", MQTT_CASES)
def test_no_password_of_a_created_project_is_in_any_file(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    """`create` writes both passwords once, git-ignored, and neither reaches any other file of
    the project (both targets' trees, POST-SETUP.md, stack.yaml, the workflow)."""
    from .support.cases import stack_file

    created = cli(
        "create", "plant", "-f", str(stack_file(case)), "--target", "all", "-o", str(tmp_path)
    )
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    secrets = {
        name: (project / "secrets" / name).read_text().strip()
        for name in ("gateway-admin-password", "mqtt-password")
    }
    assert len(set(secrets.values())) == 2 and all(len(v) >= 24 for v in secrets.values())
    assert (project / "secrets" / "mqtt-password").stat().st_mode & 0o777 == 0o600
    for path in project.rglob("*"):
        if path.is_file() and path.parent.name != "secrets":
            text = path.read_text(encoding="utf-8", errors="replace")
            for name, value in secrets.items():
                assert value not in text, (name, path)


def _kubernetes(data: dict[str, Any]) -> dict[str, Any]:
    files = render(prepare(StackSpec.model_validate(data)), ("kubernetes",))["kubernetes"].files
    return {path: yaml.safe_load(text) for path, text in files.items()}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector's meaning (matchLabels and In expressions), as the API server reads it."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_kubernetes_admits_the_broker_port_only_from_the_gateways_of_its_roles() -> None:
    objects = _kubernetes(with_mqtt({"roles": ["hub"]}))
    pods = {
        obj["metadata"]["name"]: obj["spec"]["template"]["metadata"]["labels"]
        for obj in objects.values()
        if obj["kind"] == "StatefulSet"
    }
    assert set(pods) == {"hub", "spoke", "mqtt"}
    policy = objects["networking.k8s.io_v1_networkpolicy_mqtt.yaml"]["spec"]
    assert _selects(policy["podSelector"], pods["mqtt"])
    assert not any(_selects(policy["podSelector"], pods[name]) for name in ("hub", "spoke"))
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "egress" not in policy  # denies all
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": 1883, "protocol": "TCP"}]
    (peer,) = rule["from"]
    assert set(peer) == {"podSelector"}  # this namespace only
    admitted = {name for name, labels in pods.items() if _selects(peer["podSelector"], labels)}
    assert admitted == {"hub"}
    egress = objects["networking.k8s.io_v1_networkpolicy_gateway-egress-mqtt.yaml"]["spec"]
    opened = {name for name, labels in pods.items() if _selects(egress["podSelector"], labels)}
    assert opened == {"hub"}
    (to,) = egress["egress"][0]["to"]
    assert _selects(to["podSelector"], pods["mqtt"])
    # The gateways' own policies never select the broker.
    for name in ("gateway-web", "gateway-egress"):
        spec = objects[f"networking.k8s.io_v1_networkpolicy_{name}.yaml"]["spec"]
        assert not _selects(spec["podSelector"], pods["mqtt"]), name


def test_kubernetes_keeps_the_secret_out_of_the_manifests() -> None:
    objects = _kubernetes(with_mqtt({}))
    assert not any(obj["kind"] == "Secret" for obj in objects.values())
    pod = objects["apps_v1_statefulset_mqtt.yaml"]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == "plant-mqtt"
    auth = next(v for v in pod["volumes"] if v["name"] == "auth")
    assert auth["emptyDir"]["medium"] == "Memory"
    (broker,) = pod["containers"]
    assert broker["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
