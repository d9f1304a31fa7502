"""Operator settings (time zone, environment, JVM arguments, public address): resolved once per
gateway from its role's and its own, and reaching the gateway process as written on both
targets: after Compose's interpolation, and after the kubelet's expansion and the start script
(which loads a pair node's own settings file)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from emitter import image
from emitter.diagnostics import StackInvalid
from emitter.ir import Gateway, Stack
from emitter.pipeline import prepare, render
from emitter.spec import load_stack_file, stack_from_data
from tests.support.cases import stack_data, stack_file
from tests.support.kubelet import (
    container_arguments,
    container_environment,
    pod_gateways,
)

from .conftest import Result
from .test_properties import SETTINGS

CASE = "scale-out-redundant-settings"
Cli = Callable[..., Result]
Process = tuple[dict[str, str], list[str]]


def case_stack() -> Stack:
    return prepare(load_stack_file(stack_file(CASE))).stack


def test_a_gateway_overrides_its_roles_settings() -> None:
    stack = case_stack()
    frontend, master, backup = (
        stack.gateway(n) for n in ("frontend-1", "backend", "backend-backup")
    )
    assert frontend is not None and master is not None and backup is not None
    assert frontend.timezone == "America/Chicago" and master.timezone == "Europe/Berlin"
    # The environment is merged key by key; the JVM arguments are replaced as a whole.
    assert dict(master.environment) == {"PLANT_LINE": "2", "PLANT_SITE": "north"}
    assert master.environment == tuple(sorted(master.environment))
    assert master.jvm_args == ("-Dplant.role=pair", "-XX:+UseG1GC")
    assert frontend.jvm_args == ("-Duser.language=en", "-Dplant.cost=$5 $(POD_NAME)")
    assert master.public_address and backup.public_address and frontend.public_address
    assert (master.public_address.host, backup.public_address.host) == (
        "scada-a.example.com",
        "10.0.0.2",
    )
    assert (frontend.public_address.http_port, frontend.public_address.https_port) == (80, 443)


# --- what the gateway process is given, per target ----------------------------------------


def compose_processes(files: dict[str, str]) -> dict[str, Process]:
    """Each gateway service's environment and command after Compose's interpolation, in which
    `$$` is one `$` (and nothing else is interpolated: no `${...}` is left)."""
    services = yaml.safe_load(files["compose.yaml"])["services"]
    found = {}
    for name, service in services.items():
        if service["labels"]["io.ignition-stack.component"] == "gateway":
            texts = [*service["environment"].values(), *service["command"]]
            assert not any("$" in text.replace("$$", "") for text in texts), name
            found[name] = (
                {k: v.replace("$$", "$") for k, v in service["environment"].items()},
                [argument.replace("$$", "$") for argument in service["command"]],
            )
    return found


def kubernetes_processes(files: dict[str, str], tmp_path: Path) -> dict[str, Process]:
    """Each pod's gateway process: the kubelet's environment and arguments, then the real start
    script, which loads a pair node's own settings file and runs the image's entrypoint."""
    documents = [
        yaml.safe_load(text) for path, text in files.items() if path != "kustomization.yaml"
    ]
    config_maps = {d["metadata"]["name"]: d["data"] for d in documents if d["kind"] == "ConfigMap"}
    found = {}
    for item in (d for d in documents if d["kind"] == "StatefulSet"):
        container = item["spec"]["template"]["spec"]["containers"][0]
        for ordinal, (pod, gateway) in enumerate(pod_gateways(documents, item).items()):
            environment = container_environment(container["env"], pod, ordinal)
            arguments = container_arguments(container["args"], environment)
            node_file = environment.get("NODE_ENVIRONMENT", "").rpartition("/")[2]
            node_text = config_maps.get(f"{item['metadata']['name']}-redundancy", {}).get(node_file)
            found[gateway] = start_script(environment, arguments, node_text, tmp_path / pod)
    return found


def start_script(
    environment: dict[str, str], arguments: list[str], node_text: str | None, work: Path
) -> Process:
    """Run the shipped start script with a stand-in for the image's entrypoint that records
    what it was given."""
    work.mkdir(parents=True)
    entrypoint = work / "entrypoint.sh"
    entrypoint.write_text(
        '#!/bin/bash\nprintf "%s\\0" "$@" > "$OUT/args"\nenv -0 > "$OUT/env"\n', encoding="utf-8"
    )
    entrypoint.chmod(0o755)
    (work / "start-gateway.sh").write_text(image.script(image.START_SCRIPT), encoding="utf-8")
    variables = {k: v for k, v in environment.items() if k != "NODE_REDUNDANCY_XML"}
    if node_text is not None:
        (work / "node.env").write_text(node_text, encoding="utf-8")
        variables["NODE_ENVIRONMENT"] = str(work / "node.env")
    variables.update(IGNITION_ENTRYPOINT=str(entrypoint), OUT=str(work), PATH=os.environ["PATH"])
    subprocess.run(["bash", str(work / "start-gateway.sh"), *arguments], env=variables, check=True)
    seen = dict(
        entry.split("=", 1) for entry in (work / "env").read_text().split("\0") if "=" in entry
    )
    return seen, (work / "args").read_text().split("\0")[:-1]


def assert_process_is_the_irs(gateway: Gateway, process: Process) -> None:
    environment, arguments = process
    for name, value in gateway.environment:
        assert environment[name] == value, name
    assert environment.get("TZ") == gateway.timezone
    separator = arguments.index("--") if "--" in arguments else len(arguments)
    runtime, jvm = arguments[:separator], arguments[separator + 1 :]
    # The entrypoint's flags come in pairs, in any order.
    flags = dict(zip(runtime[::2], runtime[1::2], strict=True))
    assert flags["-n"] == gateway.system_name
    address = gateway.public_address
    if address is None:
        assert "-a" not in flags
    else:
        assert (flags["-a"], flags["-h"], flags["-s"]) == (
            address.host,
            str(address.http_port),
            str(address.https_port),
        )
    assert jvm[len(jvm) - len(gateway.jvm_args) :] == list(gateway.jvm_args)


def emitted_processes(
    data: dict[str, Any], tmp_path: Path
) -> tuple[Stack, dict[str, dict[str, Process]]]:
    resolved = prepare(stack_from_data(data))
    emissions = render(resolved, ("compose", "kubernetes"))
    return resolved.stack, {
        "compose": compose_processes(emissions["compose"].files),
        "kubernetes": kubernetes_processes(emissions["kubernetes"].files, tmp_path),
    }


def test_every_gateway_process_gets_its_settings_on_both_targets(tmp_path: Path) -> None:
    stack, seen = emitted_processes(stack_data(CASE), tmp_path)
    for target, by_gateway in seen.items():
        assert set(by_gateway) == {gateway.name for gateway in stack.gateways}, target
        for gateway in stack.gateways:
            assert_process_is_the_irs(gateway, by_gateway[gateway.name])
    # The pair's nodes each have their own public address on Kubernetes too, where they share
    # a pod template: the start script puts the node's own (NODE_PUBLIC_*) before the template's.
    backend = seen["kubernetes"]["backend-backup"][1]
    assert backend[:6] == ["-a", "10.0.0.2", "-h", "8080", "-s", "8443"]


def test_a_pair_that_shares_its_public_address_has_it_in_the_pod_template(tmp_path: Path) -> None:
    data = stack_data(CASE)
    for entry in data["gateways"]:
        entry.pop("public_address", None)
    data["roles"]["backend"]["public_address"] = {"host": "scada.example.com"}
    stack, seen = emitted_processes(data, tmp_path)
    emission = render(prepare(stack_from_data(data)), ("kubernetes",))["kubernetes"].files
    assert "NODE_PUBLIC_ADDRESS" not in emission["v1_configmap_backend-redundancy.yaml"]
    args = yaml.safe_load(emission["apps_v1_statefulset_backend.yaml"])["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert args[2:8] == ["-a", "scada.example.com", "-h", "80", "-s", "443"]
    for gateway in stack.gateways:
        assert_process_is_the_irs(gateway, seen["kubernetes"][gateway.name])


hostile = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["$HOME", "$(POD_NAME)", "$$", "${X:-y}", "'\"", "a\nb", "a\rb", "\x00", "x" * 131072]
)


@SETTINGS
@given(value=hostile, argument=hostile)
def test_hostile_values_are_diagnostics_or_reach_the_gateway_as_written(
    value: str, argument: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = {
        "name": "plant",
        "architecture": "basic",
        "redundant": "gateway",
        "accept_eula": True,
        "roles": {
            "gateway": {"environment": {"PLANT_VALUE": value}, "jvm_args": ["-D" + argument]}
        },
    }
    try:
        stack, seen = emitted_processes(data, tmp_path_factory.mktemp("pods"))
    except StackInvalid as invalid:
        assert {d.code for d in invalid.diagnostics} <= {"IS133", "IS135"}, invalid.diagnostics
        return
    for by_gateway in seen.values():
        for gateway in stack.gateways:
            assert by_gateway[gateway.name][0]["PLANT_VALUE"] == value
            assert by_gateway[gateway.name][1][-1] == "-D" + argument


@pytest.mark.external
def test_docker_compose_reads_the_settings_as_written(tmp_path: Path) -> None:
    from emitter.project import create_project

    from .support.validators import require_tool

    compose_binary = require_tool("docker-compose")
    resolved = prepare(load_stack_file(stack_file(CASE)))
    create_project(tmp_path / "plant", resolved, ("compose",))
    result = subprocess.run(
        [compose_binary, "config", "--format", "json"],
        cwd=tmp_path / "plant",
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": "/elsewhere", "POD_NAME": "interpolated"},
    )
    assert result.returncode == 0, result.stderr
    # Nothing was interpolated; `config` writes a compose file again, so `$` comes out as `$$`.
    assert "/elsewhere" not in result.stdout and "interpolated" not in result.stdout
    services = json.loads(result.stdout)["services"]
    for gateway in resolved.stack.gateways:
        service = services[gateway.name]
        environment = {k: v.replace("$$", "$") for k, v in service["environment"].items()}
        command = [argument.replace("$$", "$") for argument in service["command"]]
        assert_process_is_the_irs(gateway, (environment, command))


# --- every key: in the schema, the explicit stack file, and the drift gate ------------------

SETTINGS_KEYS = ("timezone", "environment", "jvm_args", "public_address")


def test_the_schema_describes_every_setting(cli: Cli) -> None:
    result = cli("schema")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    definitions = schema["$defs"]
    assert schema["properties"]["roles"]["description"]
    for model in ("RoleSettings", "GatewaySpec"):
        for key in SETTINGS_KEYS:
            assert definitions[model]["properties"][key]["description"], (model, key)
    for key in ("host", "http_port", "https_port"):
        assert definitions["PublicAddressSpec"]["properties"][key]["description"], key


def test_dry_run_prints_the_settings_explicitly(cli: Cli) -> None:
    result = cli("create", "plant", "-f", str(stack_file(CASE)), "--dry-run")
    assert result.exit_code == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["roles"]["frontend"]["timezone"] == "America/Chicago"
    # Defaults are written out: the public address's ports.
    assert printed["roles"]["frontend"]["public_address"] == {
        "host": "hmi.example.com",
        "http_port": 80,
        "https_port": 443,
    }
    # A gateway's own settings, as written (it has no time zone of its own: its role's holds).
    backup = next(g for g in printed["gateways"] if g["name"] == "backend-backup")
    assert {"environment", "jvm_args", "public_address"} <= set(backup)
    assert "timezone" not in backup


def test_emit_check_sees_a_changed_setting(cli: Cli, tmp_path: Path) -> None:
    created = cli(
        "create", "plant", "-f", str(stack_file(CASE)), "--target", "all", "-o", str(tmp_path)
    )
    assert created.exit_code == 0, created.stderr
    stack_path = tmp_path / "plant" / "stack.yaml"
    assert cli("emit", str(stack_path), "--check").exit_code == 0
    for old, new in [
        ("America/Chicago", "America/Denver"),
        ("PLANT_SITE: north", "PLANT_SITE: south"),
        ("-Duser.language=en", "-Duser.language=de"),
        ("host: 10.0.0.2", "host: 10.0.0.3"),
    ]:
        text = stack_path.read_text(encoding="utf-8")
        assert old in text, old
        stack_path.write_text(text.replace(old, new), encoding="utf-8")
        check = cli("emit", str(stack_path), "--check")
        assert check.exit_code == 1, (old, check.stdout, check.stderr)
        assert cli("emit", str(stack_path)).exit_code == 0
        assert cli("emit", str(stack_path), "--check").exit_code == 0
