"""Leased licensing per gateway: every rule through the command line, the secret's values never
in an emitted file, and what each target mounts and where it points the image."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import licensing
from emitter.pipeline import prepare
from emitter.project import create_project
from emitter.spec import load_stack_file

from .conftest import Result
from .support import walkthrough
from .support.cases import stack_file
from .test_rules import assert_diagnostic, explicit, gateway, run_stack

Cli = Callable[..., Result]
LICENSED = "scale-out-redundant-licensed"
BACKUP_ONLY = "basic-redundant-backup-licensed"
# What a user would put into the secrets: none of it may reach a file the tool writes.
KEY = "QWER7890"
TOKEN = "tok-" + "9f8e7d6c5b4a" * 8


def licensed_pair(master: str | None, backup: str | None) -> dict[str, Any]:
    data = explicit("scale-out", "backend", transport="ssl")
    for name, secret in (("backend", master), ("backend-backup", backup)):
        if secret is not None:
            gateway(data, name)["license"] = {"secret": secret}
    return data


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path", "word"),
    [
        ({"secret": "plant-backend-license", "key": KEY}, "gateways[1].license.key", "plain text"),
        ({"activation_token": TOKEN}, "gateways[1].license.activation_token", "plain text"),
        (KEY, "gateways[1].license", "not a reference"),
        (12345678, "gateways[1].license", "not a reference"),
    ],
)
def test_a_key_or_token_in_the_stack_file_is_IS129_and_never_repeated(
    value: Any, path: str, word: str, cli: Cli, tmp_path: Path
) -> None:
    data = licensed_pair(None, "plant-backend-backup-license")
    gateway(data, "backend")["license"] = value
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS129", path, word)
    assert_diagnostic(result, "IS129", path, "hint: move the key and token into a secret")
    assert (
        KEY not in result.stderr and TOKEN not in result.stderr and "12345678" not in result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_a_typo_under_license_is_still_a_did_you_mean(cli: Cli, tmp_path: Path) -> None:
    data = licensed_pair("plant-backend-license", None)
    gateway(data, "backend")["license"] = {"secrte": "plant-backend-license"}
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS002",
        "gateways[1].license.secrte",
        "did you mean `secret`",
    )


def test_the_british_spelling_is_refused_with_the_key_to_use(cli: Cli, tmp_path: Path) -> None:
    data = licensed_pair(None, None)
    gateway(data, "backend")["licence"] = {"secret": "plant-backend-license"}
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS002", "gateways[1].licence", "did you mean `license`"
    )


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        (KEY, ("8 characters", "not a DNS-1123 label", "hint: name the secret")),
        ("x" * 64, ("64 characters", "at most 63")),
        ("plant-gateway-admin", ("'plant-gateway-admin'", "password", "of its own")),
        ("plant-gateway-network-keystore", ("password",)),
    ],
)
def test_an_unusable_secret_name_is_IS130(
    secret: str, words: tuple[str, ...], cli: Cli, tmp_path: Path
) -> None:
    result = run_stack(cli, tmp_path, licensed_pair(secret, "plant-backend-backup-license"))
    assert_diagnostic(result, "IS130", "gateways[1].license.secret", *words)
    if secret == KEY:
        assert KEY not in result.stderr


def test_an_unlicensed_pair_member_of_a_licensing_stack_is_IS205(cli: Cli, tmp_path: Path) -> None:
    data = licensed_pair(None, "plant-backend-backup-license")
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result,
        "IS205",
        "gateways[1].license",
        "master 'backend'",
        "2-hour trial",
        "hint: add `license: {secret: plant-backend-license}` to gateway 'backend'",
        exit_code=0,
    )
    assert "IS205 gateways[2]" not in result.stderr
    strict = run_stack(cli, tmp_path, data, "--strict")
    assert_diagnostic(strict, "IS205", "gateways[1].license", "error IS205")


def test_a_stack_that_licenses_nothing_is_not_warned(cli: Cli, tmp_path: Path) -> None:
    """Every redundant stack `create` makes would carry the warning, and a license activated in
    the gateway's web UI is invisible to the tool (README, "Licensing")."""
    result = run_stack(cli, tmp_path, licensed_pair(None, None), "--strict")
    assert result.exit_code == 0, result.stderr
    assert "IS205" not in result.stderr


def test_a_licensed_frontend_warns_about_the_unlicensed_pair(cli: Cli, tmp_path: Path) -> None:
    data = licensed_pair(None, None)
    for name in ("frontend-0",):
        gateway(data, name)["license"] = {"secret": "plant-frontend-license"}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS205", "gateways[1].license", exit_code=0)
    assert_diagnostic(result, "IS205", "gateways[2].license", "backup-only", exit_code=0)


def test_the_nodes_of_a_pair_may_have_different_licenses_but_a_tier_shares_one(
    cli: Cli, tmp_path: Path
) -> None:
    data = explicit("scale-out", "backend", frontends=2)
    gateway(data, "backend")["license"] = {"secret": "plant-backend-license"}
    gateway(data, "backend-backup")["license"] = {"secret": "plant-backend-backup-license"}
    gateway(data, "frontend-0")["license"] = {"secret": "plant-frontend-0-license"}
    gateway(data, "frontend-1")["license"] = {"secret": "plant-frontend-1-license"}
    result = run_stack(cli, tmp_path, data)
    assert "IS123" not in result.stderr
    assert_diagnostic(result, "IS116", "gateways[1].license", "identical")


# --- what is written ----------------------------------------------------------------------


def write_secrets(project: Path, names: list[str]) -> None:
    for name in names:
        directory = project / "secrets" / name
        directory.mkdir(parents=True)
        (directory / licensing.LICENSE_KEY).write_text(KEY)
        (directory / licensing.ACTIVATION_TOKEN).write_text(TOKEN)


@pytest.mark.parametrize("case", [LICENSED, BACKUP_ONLY])
def test_no_written_file_holds_a_secret_value(case: str, cli: Cli, tmp_path: Path) -> None:
    created = cli(
        "create", "plant", "-f", str(stack_file(case)), "--target", "all", "-o", str(tmp_path)
    )
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    names = licensing.secrets(prepare(load_stack_file(stack_file(case))).stack.gateways)
    assert names
    write_secrets(project, names)
    emitted = cli("emit", str(project / "stack.yaml"))
    assert emitted.exit_code == 0, emitted.stderr
    assert cli("emit", str(project / "stack.yaml"), "--check").exit_code == 0
    written = [
        path
        for path in project.rglob("*")
        if path.is_file() and (project / "secrets") not in path.parents
    ]
    assert len(written) > 20
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert KEY not in text and TOKEN not in text, path
    for output in (created, emitted):
        assert KEY not in output.stdout + output.stderr


def test_the_dry_run_and_the_schema_carry_the_key(cli: Cli) -> None:
    dry = cli("create", "plant", "-f", str(stack_file(LICENSED)), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    listed = {g["name"]: g.get("license") for g in yaml.safe_load(dry.stdout)["gateways"]}
    assert listed["backend-backup"] == {"secret": "plant-backend-backup-license"}
    schema = json.loads(cli("schema").stdout)
    gateway_schema = schema["$defs"]["GatewaySpec"]["properties"]["license"]
    assert "secret" in json.dumps(gateway_schema) and gateway_schema["description"]
    assert schema["$defs"]["LicenseSpec"]["properties"]["secret"]["description"]


def test_compose_mounts_each_gateway_its_own_license() -> None:
    from emitter.pipeline import render

    resolved = prepare(load_stack_file(stack_file(BACKUP_ONLY)))
    document = yaml.safe_load(render(resolved, ("compose",))["compose"].files["compose.yaml"])
    services = document["services"]
    assert "secrets" not in services["gateway"]
    assert not any(
        name.startswith("IGNITION_LICENSE") for name in services["gateway"]["environment"]
    )
    backup = services["gateway-backup"]
    targets = {mount["target"] for mount in backup["secrets"]}
    environment = backup["environment"]
    assert {
        environment["IGNITION_LICENSE_KEY_FILE"],
        environment["IGNITION_ACTIVATION_TOKEN_FILE"],
    } == targets
    for mount in backup["secrets"]:
        source = document["secrets"][mount["source"]]["file"]
        assert source == f"../../secrets/plant-gateway-backup-license/{Path(mount['target']).name}"


def test_kubernetes_hands_each_pod_of_a_pair_its_own_license() -> None:
    from emitter.pipeline import render

    resolved = prepare(load_stack_file(stack_file(LICENSED)))
    files = render(resolved, ("kubernetes",))["kubernetes"].files
    stateful_set = yaml.safe_load(files["apps_v1_statefulset_backend.yaml"])
    pod = stateful_set["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "licenses"]
    mounted = {
        f"{licensing.MOUNT_DIR}/{item['path']}"
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }
    (container,) = pod["containers"]
    assert not any(v["name"].startswith("IGNITION_LICENSE") for v in container["env"])
    nodes = yaml.safe_load(files["v1_configmap_backend-redundancy.yaml"])["data"]
    for ordinal, secret in enumerate(("plant-backend-license", "plant-backend-backup-license")):
        lines = dict(
            line.split("=", 1)
            for line in nodes[f"node-{ordinal}.env"].splitlines()
            if line and not line.startswith("#")
        )
        assert lines["IGNITION_LICENSE_KEY_FILE"] == licensing.mounted_file(secret, "license-key")
        assert {
            lines["IGNITION_LICENSE_KEY_FILE"],
            lines["IGNITION_ACTIVATION_TOKEN_FILE"],
        } <= mounted
    reload = stateful_set["metadata"]["annotations"]["secret.reloader.stakater.com/reload"]
    assert reload.split(",")[1:] == ["plant-backend-backup-license", "plant-backend-license"]
    tier = yaml.safe_load(files["apps_v1_statefulset_frontend.yaml"])["spec"]["template"]["spec"]
    (gateway_container,) = tier["containers"]
    environment = {v["name"]: v.get("value") for v in gateway_container["env"]}
    assert environment["IGNITION_LICENSE_KEY_FILE"] == licensing.mounted_file(
        "plant-frontend-license", "license-key"
    )


@pytest.mark.external
def test_post_setup_creates_exactly_the_secrets_the_pods_read(cli: Cli, tmp_path: Path) -> None:
    from .test_walkthroughs import check_block

    assert (
        cli(
            "create",
            "plant",
            "-f",
            str(stack_file(LICENSED)),
            "--target",
            "all",
            "-o",
            str(tmp_path),
        ).exit_code
        == 0
    )
    project = tmp_path / "plant"
    text = (project / "POST-SETUP.md").read_text(encoding="utf-8")
    blocks = walkthrough.kubernetes_blocks(text)
    assert [check_block(block, project) for block in blocks] == ["plant-dev", "plant"]
    assert "plant-backend-backup-license --from-literal=license-key=" in text


@pytest.mark.external
def test_docker_compose_mounts_the_license_files(tmp_path: Path) -> None:
    from .support.validators import require_tool

    compose_binary = require_tool("docker-compose")
    project = tmp_path / "plant"
    create_project(project, prepare(load_stack_file(stack_file(BACKUP_ONLY))), ("compose",))
    write_secrets(project, ["plant-gateway-backup-license"])
    result = subprocess.run(
        [compose_binary, "config", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    for key in licensing.SECRET_KEYS:
        declared = model["secrets"][f"plant-gateway-backup-license-{key}"]["file"]
        assert Path(declared) == project / "secrets" / "plant-gateway-backup-license" / key
        assert Path(declared).read_text() in (KEY, TOKEN)
    mounted = {(m["source"], m["target"]) for m in model["services"]["gateway-backup"]["secrets"]}
    assert mounted == {
        (
            f"plant-gateway-backup-license-{key}",
            licensing.mounted_file("plant-gateway-backup-license", key),
        )
        for key in licensing.SECRET_KEYS
    }
    assert "secrets" not in model["services"]["gateway"]
