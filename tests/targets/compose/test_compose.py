"""The Compose target: every golden compose file against the compose-spec schema, and the
pairing facts the seed guide promises, read back from the emitted files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec, dump_stack

from ...conftest import GOLDEN
from ...support.validators import validate_compose_file

COMPOSE_FILES = sorted(GOLDEN.glob("*/expected/compose/compose.yaml"))


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.parts[-4])
def test_golden_compose_files_match_the_compose_spec(path: Path) -> None:
    validate_compose_file(path)


def compose(
    architecture: str, redundant: str | None, **shape: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    spec = StackSpec(name="plant", architecture=architecture, redundant=redundant, **shape)  # type: ignore[arg-type]
    files = render(prepare(spec), ("compose",))["compose"].files
    return yaml.safe_load(files["compose.yaml"]), files


def test_redundant_pair_is_wired_for_zero_click_pairing() -> None:
    document, files = compose("scale-out", "backend")
    services = document["services"]
    master, backup = services["backend"], services["backend-backup"]
    for node in (master, backup):
        environment = node["environment"]
        assert environment["GATEWAY_NETWORK_SECURITYPOLICY"] == "Unrestricted"
        assert environment["GATEWAY_NETWORK_REQUIRESSL"] == "false"
        assert environment["GATEWAY_NETWORK_ALLOWINCOMING"] == "true"
    assert backup["environment"]["GATEWAY_NETWORK_0_HOST"] == "backend"
    assert backup["environment"]["GATEWAY_NETWORK_0_PORT"] == "8088"
    assert backup["environment"]["GATEWAY_NETWORK_0_ENABLESSL"] == "false"
    # The backup takes the master's system name when it pairs; it must not be given another.
    assert master["command"][:2] == ["-n", "plant-backend"]
    assert backup["command"][:2] == ["-n", "plant-backend"]
    # Frontends connect to both nodes of the pair.
    frontend = services["frontend-0"]["environment"]
    assert {frontend["GATEWAY_NETWORK_0_HOST"], frontend["GATEWAY_NETWORK_1_HOST"]} == {
        "backend",
        "backend-backup",
    }
    assert (
        '<entry key="redundancy.noderole">Backup</entry>'
        in files["gateways/backend-backup/redundancy.xml"]
    )


def test_every_gateway_is_seeded_first_and_has_its_own_port_volume_and_networks() -> None:
    document, files = compose("hub-and-spoke", "hub", spokes=3)
    services = document["services"]
    gateways = [
        name
        for name, service in services.items()
        if service["labels"]["io.ignition-stack.component"] == "gateway"
    ]
    assert gateways == ["hub", "hub-backup", "spoke-0", "spoke-1", "spoke-2"]
    ports, volumes = set(), set()
    for name in gateways:
        service = services[name]
        bootstrap = services[f"{name}-bootstrap"]
        assert service["depends_on"] == {
            f"{name}-bootstrap": {"condition": "service_completed_successfully"}
        }
        assert (
            bootstrap["user"] == "root"
            and bootstrap["restart"] == "no"
            and bootstrap["image"] == service["image"]
        )
        assert bootstrap["volumes"][0]["source"] == service["volumes"][0]["source"]
        ports.add(service["ports"][0].rsplit(":", 2)[-2])
        volumes.add(service["volumes"][0]["source"])
        assert service["networks"] and all(
            network in document["networks"] for network in service["networks"]
        )
        assert service["healthcheck"]["test"][0] == "CMD"
        for mount in (*service["volumes"], *bootstrap["volumes"]):
            if mount["type"] == "bind":
                assert mount["source"].removeprefix("./") in files, mount["source"]
    assert len(ports) == len(volumes) == len(gateways)
    spoke = services["spoke-0"]["environment"]
    assert spoke["IGNITION_EDITION"] == "edge"
    assert {spoke["GATEWAY_NETWORK_0_HOST"], spoke["GATEWAY_NETWORK_1_HOST"]} == {
        "hub",
        "hub-backup",
    }


@pytest.mark.parametrize("transport", ["plain", "ssl"])
def test_services_run_confined(transport: str) -> None:
    """Gateways as uid 2003 with no capability, no privilege gain and the memory the stack file
    gives them; the one-shots as root with only what they need (docs/security.md)."""
    document, _ = compose("hub-and-spoke", "hub", spokes=2, transport=transport)
    stack = prepare(
        StackSpec(name="plant", architecture="hub-and-spoke", redundant="hub", spokes=2)  # type: ignore[arg-type]
    ).stack
    services = document["services"]
    for gateway in stack.gateways:
        service = services[gateway.name]
        assert service["user"] == "2003:2003"
        assert service["cap_drop"] == ["ALL"] and "cap_add" not in service
        assert service["security_opt"] == ["no-new-privileges:true"]
        assert service["mem_limit"] == f"{gateway.memory_mb}m"
        bootstrap = services[f"{gateway.name}-bootstrap"]
        assert bootstrap["cap_drop"] == ["ALL"]
        assert bootstrap["cap_add"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER"]
        assert bootstrap["security_opt"] == ["no-new-privileges:true"]
        certificates = [
            mount for mount in bootstrap["volumes"] if mount["source"].endswith("-certificates")
        ]
        if transport == "ssl":
            # Read-only, and only its own gateway's certificates volume (issue 10).
            assert [mount["source"] for mount in certificates] == [f"{gateway.name}-certificates"]
            assert certificates[0]["read_only"] is True
            environment = bootstrap["environment"]
            own = certificates[0]["target"]
            assert environment["GAN_KEYSTORE"] == f"{own}/keystore.p12"
            assert environment["GAN_CA_CERT"] == f"{own}/ca.crt"
        else:
            assert certificates == []
    if transport == "ssl":
        pki = services["gateway-network-pki"]
        assert pki["cap_drop"] == ["ALL"] and "cap_add" not in pki
        assert pki["security_opt"] == ["no-new-privileges:true"]
        # The PKI fills every gateway's certificates volume where PKI_GATEWAY_DIR says.
        layout = pki["environment"]["PKI_GATEWAY_DIR"]
        mounted = {m["source"]: m["target"] for m in pki["volumes"] if m["type"] == "volume"}
        for gateway in stack.gateways:
            target = layout.replace("{gateway}", gateway.name)
            assert mounted[f"{gateway.name}-certificates"] == target


def test_only_pair_members_get_a_redundancy_file() -> None:
    _, files = compose("hub-and-spoke", None)
    assert not [path for path in files if path.startswith("gateways/")]
    document, _ = compose("basic", None)
    assert "NODE_REDUNDANCY_XML" not in document["services"]["gateway-bootstrap"]["environment"]


def test_plain_transport_is_marked_demo_only_in_the_file() -> None:
    _, files = compose("basic", "gateway")
    assert "DEMO ONLY" in files["compose.yaml"].splitlines()[2]
    assert yaml.safe_load(files["compose.yaml"])["x-ignition-stack"]["demo-only"]


@pytest.mark.external
@pytest.mark.parametrize("case", sorted(path.parts[-4] for path in COMPOSE_FILES))
def test_docker_compose_parses_the_created_project(case: str, tmp_path: Path) -> None:
    """`cd NAME && docker compose up -d` reads exactly this: the project's compose.yaml, which
    includes the generated file; every file it mounts and its secret resolve to real files."""
    import json
    import subprocess

    from emitter import restore
    from emitter.pipeline import prepare as prepare_stack
    from emitter.project import create_project
    from emitter.spec import load_stack_file

    from ...support.validators import require_tool

    compose_binary = require_tool("docker-compose")
    project = tmp_path / "plant"
    create_project(
        project, prepare_stack(load_stack_file(GOLDEN / case / "stack.yaml")), ("compose",)
    )
    result = subprocess.run(
        [compose_binary, "config", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    assert model["name"] == "plant"
    expected = yaml.safe_load((GOLDEN / case / "expected" / "compose" / "compose.yaml").read_text())
    assert set(model["services"]) == set(expected["services"])
    for service in model["services"].values():
        for mount in service.get("volumes", []):
            if mount["type"] == "bind" and mount["target"] == restore.MOUNT:
                # The user's backup, beside stack.yaml: no file of the project.
                assert mount["source"].startswith(f"{project}/"), mount["source"]
            elif mount["type"] == "bind":
                assert Path(mount["source"]).is_file(), mount["source"]
    # Docker Compose keeps the confinement (and the certificate subpaths) as written.
    for name, service in expected["services"].items():
        parsed = model["services"][name]
        assert parsed["cap_drop"] == service["cap_drop"] == ["ALL"]
        assert parsed["security_opt"] == ["no-new-privileges:true"]
        if "mem_limit" in service:
            assert int(parsed["mem_limit"]) == int(service["mem_limit"].removesuffix("m")) << 20
        subpaths = [m["volume"]["subpath"] for m in parsed["volumes"] if "volume" in m]
        assert subpaths == [m["volume"]["subpath"] for m in service["volumes"] if "volume" in m]
    secret = Path(model["secrets"]["gateway-admin-password"]["file"])
    assert secret == project / "secrets" / "gateway-admin-password" and secret.is_file()
    if "database-password" in expected["secrets"]:
        # The database's password, written once by create beside the admin's.
        secret = Path(model["secrets"]["database-password"]["file"])
        assert secret == project / "secrets" / "database-password" and secret.is_file()


@pytest.mark.parametrize(
    ("transport", "compose_options", "published"),
    [
        # A plain link is a demo without authentication: loopback unless the stack file widens it.
        ("plain", None, "127.0.0.1:9088:8088"),
        ("plain", {"publish_address": "0.0.0.0"}, "0.0.0.0:9088:8088"),
        ("ssl", None, "9088:8088"),
        ("ssl", {"publish_address": "127.0.0.1"}, "127.0.0.1:9088:8088"),
        ("plain", {"publish_address": "0:0::1"}, "[::1]:9088:8088"),
    ],
)
def test_published_ports_bind_where_the_stack_file_says(
    transport: str, compose_options: dict[str, str] | None, published: str
) -> None:
    document, _ = compose("basic", None, transport=transport, compose=compose_options)
    assert document["services"]["gateway"]["ports"] == [published]


def test_a_publish_address_that_is_not_an_ip_address_is_a_diagnostic() -> None:
    from emitter.diagnostics import StackInvalid
    from emitter.spec import parse_stack

    text = "name: plant\narchitecture: basic\ncompose:\n  publish_address: localhost\n"
    with pytest.raises(StackInvalid) as raised:
        parse_stack(text)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "IS002" and diagnostic.path == "compose.publish_address"
    assert "not an IP address" in diagnostic.message
    # Written back as given, and absent from stack files that do not set it.
    spec = parse_stack(text.replace("localhost", "0.0.0.0"))
    assert "publish_address: 0.0.0.0" in dump_stack(spec)
    assert "compose" not in dump_stack(parse_stack("name: plant\narchitecture: basic\n"))
