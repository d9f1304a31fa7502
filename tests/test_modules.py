"""Third-party modules and narrowed built-ins (``roles.<role>.modules`` / ``modules_enabled``):
every rule through the command line, what each target emits, and install-modules.sh run for
real against temporary directories standing in for the modules volume and user-lib/modules."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import stack_from_data

from .conftest import Result
from .test_rules import assert_diagnostic, explicit, run_stack

Cli = Callable[..., Result]
SHA = "ab" * 32
MQTT = {
    "name": "mqtt-engine",
    "url": "https://files.example.com/MQTT-Engine.modl",
    "sha256": SHA,
    "id": "com.cirruslink.mqtt.engine.gateway",
}
IMAGE_81 = "inductiveautomation/ignition:8.1.48"


def stack(modules: list[dict[str, Any]] | None = None, **role: Any) -> dict[str, Any]:
    data = explicit("basic", "gateway")
    image = role.pop("image", None)
    if image:
        data["image"] = image
    data["roles"] = {"gateway": {"modules": modules or [MQTT], **role}}
    return data


@pytest.mark.parametrize(
    ("module", "code", "path", "words"),
    [
        ({"sha256": "abc"}, "IS138", "roles.gateway.modules[0].sha256", ("64", "sha256sum")),
        ({"sha256": SHA.upper()}, "IS138", "roles.gateway.modules[0].sha256", ("lowercase",)),
        ({"name": "MQTT Engine"}, "IS138", "roles.gateway.modules[0].name", ("mqtt-engine",)),
        ({"id": "mqtt"}, "IS138", "roles.gateway.modules[0].id", ("module.xml",)),
        ({"path": "m.modl"}, "IS139", "roles.gateway.modules[0]", ("both", "give one")),
        ({"url": None}, "IS139", "roles.gateway.modules[0]", ("neither",)),
        (
            {"url": None, "path": "../other/m.modl"},
            "IS139",
            "roles.gateway.modules[0].path",
            ("leaves the repository", "relative to the stack file"),
        ),
        (
            {"url": None, "path": "/etc/m.modl"},
            "IS139",
            "roles.gateway.modules[0].path",
            ("absolute",),
        ),
        (
            {"url": "http://files.example.com/m.modl"},
            "IS140",
            "roles.gateway.modules[0].url",
            ("not an https URL", "without user or password"),
        ),
        (
            {"url": "https://alice:s3cret@files.example.com/m.modl"},
            "IS140",
            "roles.gateway.modules[0].url",
            ("user or password",),
        ),
    ],
)
def test_a_module_is_checked_where_it_is_written(
    cli: Cli, tmp_path: Path, module: dict[str, Any], code: str, path: str, words: tuple[str, ...]
) -> None:
    result = run_stack(cli, tmp_path, stack([{**MQTT, **module}]))
    assert_diagnostic(result, code, path, *words)
    # A credential in a URL never reaches the output.
    assert "s3cret" not in result.stderr + result.stdout


def test_two_modules_with_one_name_or_id(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, stack([MQTT, {**MQTT, "url": MQTT["url"] + "?2"}]))
    assert_diagnostic(result, "IS141", "roles.gateway.modules[1].name", "share the name")
    assert_diagnostic(result, "IS141", "roles.gateway.modules[1].id", "share the id")


@pytest.mark.parametrize(
    ("image", "enabled", "words"),
    [
        (None, "perspective", ("com.inductiveautomation.perspective",)),
        (None, "com.cirruslink.mqtt.engine.gateway", ("`modules`",)),
        (IMAGE_81, "com.inductiveautomation.perspective", ("8.1 short name",)),
    ],
)
def test_modules_enabled_takes_the_release_format(
    cli: Cli, tmp_path: Path, image: str | None, enabled: str, words: tuple[str, ...]
) -> None:
    data = stack(modules_enabled=[enabled], image=image)
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS142", "roles.gateway.modules_enabled[0]", *words)


def test_modules_on_8_1_warn_that_the_web_ui_accepts_them(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, stack(image=IMAGE_81, modules_enabled=["perspective"]))
    assert_diagnostic(result, "IS206", "roles.gateway.modules", "web UI", "8.3", exit_code=0)
    result = run_stack(cli, tmp_path, stack(image=IMAGE_81), "--strict")
    assert_diagnostic(result, "IS206", "roles.gateway.modules", "web UI")


def test_a_repository_module_on_kubernetes_needs_a_url(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "m.modl").write_bytes(b"module")
    path = tmp_path / "stack.yaml"
    data = stack([{**MQTT, "url": None, "path": "modules/m.modl"}])
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("emit", str(path), "--target", "k8s", "--out", str(tmp_path / "out"))
    assert_diagnostic(result, "IS143", "roles.gateway.modules", "Kubernetes", "`url`")


@pytest.mark.parametrize("kind", ["symlink out", "missing"])
def test_a_repository_module_must_be_a_file_in_the_repository(
    cli: Cli, tmp_path: Path, kind: str
) -> None:
    project = tmp_path / "project"
    (project / "modules").mkdir(parents=True)
    if kind == "symlink out":
        (tmp_path / "secret.modl").write_bytes(b"not in the repository")
        (project / "modules" / "m.modl").symlink_to(tmp_path / "secret.modl")
    data = stack([{**MQTT, "url": None, "path": "modules/m.modl"}])
    (project / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("emit", str(project / "stack.yaml"), "--target", "compose")
    words = ("symlink",) if kind == "symlink out" else ("not a file",)
    assert_diagnostic(result, "IS139", "roles.gateway.modules", *words, "commit the .modl")


def test_both_nodes_and_both_targets_get_the_modules() -> None:
    spec = stack_from_data(stack(modules_enabled=["com.inductiveautomation.perspective"]))
    emissions = render(prepare(spec), ("compose", "kubernetes"))
    compose = yaml.safe_load(emissions["compose"].files["compose.yaml"])
    for name in ("gateway", "gateway-backup"):
        environment = compose["services"][name]["environment"]
        assert environment["GATEWAY_MODULES_ENABLED"] == (
            "com.inductiveautomation.perspective,com.cirruslink.mqtt.engine.gateway"
        )
        assert environment["ACCEPT_MODULE_LICENSES"] == MQTT["id"]
        assert environment["ACCEPT_MODULE_CERTS"] == MQTT["id"]
        assert compose["services"][name]["entrypoint"][-1] == "start"
        bootstrap = compose["services"][f"{name}-bootstrap"]
        assert MQTT["url"] in bootstrap["environment"]["SEED_MODULES"]
        # It downloads, so it needs a network: the default bridge, not the gateways' networks.
        assert bootstrap["network_mode"] == "bridge"
    assert {"gateway-modules", "gateway-backup-modules"} <= set(compose["volumes"])
    statefulset = yaml.safe_load(emissions["kubernetes"].files["apps_v1_statefulset_gateway.yaml"])
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["command"][-1] == "seed"
    assert pod["containers"][0]["command"][-1] == "start"
    assert {"name": "modules", "emptyDir": {"sizeLimit": "512Mi"}} in pod["volumes"]


def test_8_1_gets_no_acceptance_and_only_built_ins_enabled() -> None:
    data = stack(image=IMAGE_81, modules_enabled=["perspective", "opc-ua"])
    compose = render(prepare(stack_from_data(data)), ("compose",))["compose"]
    environment = yaml.safe_load(compose.files["compose.yaml"])["services"]["gateway"][
        "environment"
    ]
    assert environment["GATEWAY_MODULES_ENABLED"] == "perspective,opc-ua"
    assert "ACCEPT_MODULE_LICENSES" not in environment


def test_a_repository_module_is_bind_mounted_read_only_into_the_bootstrap() -> None:
    data = stack([{**MQTT, "url": None, "path": "modules/MQTT Engine.modl"}])
    compose = render(prepare(stack_from_data(data)), ("compose",))["compose"]
    bootstrap = yaml.safe_load(compose.files["compose.yaml"])["services"]["gateway-bootstrap"]
    assert {
        "type": "bind",
        "source": "${IGNITION_STACK_MODULES_ROOT:-../..}/modules/MQTT Engine.modl",
        "target": "/run/ignition-modules-source/mqtt-engine.modl",
        "read_only": True,
    } in bootstrap["volumes"]
    assert bootstrap["network_mode"] == "none"


# --- install-modules.sh, run for real --------------------------------------------------------


class Modules:
    """The emitted scripts beside each other, a modules volume, a user-lib/modules and an image
    entrypoint that records how it was started."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        for name in (
            "install-modules.sh",
            "seed-data-volume.sh",
            "start-gateway.sh",
            "redundancy-keys.sh",
        ):
            (root / name).write_text(files[f"scripts/{name}"])
        self.volume = root / "modules"
        self.volume.mkdir()
        self.data = root / "data"
        self.data.mkdir()
        (root / "image-data").mkdir()
        (root / "image-data" / "core.json").write_text("{}\n")
        self.user_lib = root / "user-lib" / "modules"
        self.started = root / "started"
        self.entrypoint = root / "entrypoint.sh"
        self.entrypoint.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" > {self.started}\n')
        self.entrypoint.chmod(0o755)

    def run(
        self, step: str, modules: str, *args: str, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": os.environ["PATH"],
            "SEED_MODULES": modules,
            "SEED_MODULES_DIR": str(self.volume),
            "SEED_SOURCE": str(self.root / "image-data"),
            "SEED_VOLUME": str(self.data),
            "SEED_OWNER": "2003:2003",
            "NODE_MODULES_DIR": str(self.volume),
            "IGNITION_MODULES_LOCATION": str(self.user_lib),
            "IGNITION_ENTRYPOINT": str(self.entrypoint),
            **extra,
        }
        return subprocess.run(
            ["bash", str(self.root / "install-modules.sh"), step, *args],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )


def emitted_scripts() -> dict[str, str]:
    return render(prepare(stack_from_data(stack())), ("compose",))["compose"].files


def module_file(directory: Path, content: bytes) -> tuple[Path, str]:
    path = directory / "source.modl"
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to uid 2003 needs root")


@needs_root
def test_modules_are_placed_checked_and_owned_by_the_gateway_user(tmp_path: Path) -> None:
    modules = Modules(tmp_path, emitted_scripts())
    source, digest = module_file(tmp_path, b"a module")
    (modules.volume / "old.modl").write_bytes(b"no longer listed")
    seeded = modules.run("seed", f"mqtt-engine {digest} {source}\n")
    assert seeded.returncode == 0, seeded.stderr
    placed = modules.volume / "mqtt-engine.modl"
    assert placed.read_bytes() == b"a module"
    assert (placed.stat().st_uid, placed.stat().st_gid) == (2003, 2003)
    assert not (modules.volume / "old.modl").exists()
    assert (modules.data / "core.json").is_file()  # then the data volume is seeded
    started = modules.run("start", "", "-n", "plant-gateway")
    assert started.returncode == 0, started.stderr
    installed = modules.user_lib / "mqtt-engine.modl"
    assert installed.read_bytes() == b"a module"
    assert installed.stat().st_uid == 2003
    assert modules.started.read_text() == "-n plant-gateway\n"
    again = modules.run("seed", f"mqtt-engine {digest} {source}\n")
    assert "mqtt-engine: up to date" in again.stderr


@pytest.mark.parametrize("problem", ["checksum mismatch", "missing", "too large"])
def test_a_bad_module_stops_the_start_naming_it(tmp_path: Path, problem: str) -> None:
    modules = Modules(tmp_path, emitted_scripts())
    source, digest = module_file(tmp_path, b"x" * 2048)
    extra: dict[str, str] = {}
    if problem == "checksum mismatch":
        digest = SHA
    elif problem == "missing":
        source.unlink()
    else:
        extra["SEED_MODULES_MAX_BYTES"] = "1024"
    result = modules.run("seed", f"mqtt-engine {digest} {source}\n", **extra)
    assert result.returncode != 0
    assert "module mqtt-engine:" in result.stderr
    assert "the gateway is not started" in result.stderr
    expected = {"checksum mismatch": SHA, "missing": "no file", "too large": "larger than 1024"}
    assert expected[problem] in result.stderr
    assert not (modules.volume / "mqtt-engine.modl").exists()
    assert list(modules.volume.iterdir()) == []  # no partial file left behind
    assert not (modules.data / "core.json").exists()  # the seeding stopped


def test_a_download_that_is_not_https_is_refused(tmp_path: Path) -> None:
    modules = Modules(tmp_path, emitted_scripts())
    result = modules.run("seed", f"mqtt-engine {SHA} http://127.0.0.1:9/m.modl\n")
    assert result.returncode != 0
    assert "module mqtt-engine:" in result.stderr


def test_the_pair_and_tier_rules_cover_the_modules() -> None:
    """Modules are a role's setting only, and the pair rule (IS123) compares them as well: a
    gateway cannot carry its own, and no field lets a pair's nodes differ in them."""
    from emitter.rules import PAIR_NODES_MAY_DIFFER
    from emitter.spec import GatewaySpec

    assert not {"modules", "modules_enabled"} & set(PAIR_NODES_MAY_DIFFER)
    assert not {"modules", "modules_enabled"} & set(GatewaySpec.model_fields)


@pytest.mark.parametrize(
    "module",
    [
        {"name": "m\x00" * 5000},
        {"url": "https://" + "a" * 100000 + ".example.com/m.modl"},
        {"url": "https://files.example.com/m.modl\nrm -rf /"},
        {"url": "https://[::1"},
        {"url": None, "path": "modules/$(reboot).modl"},
        {"sha256": 12345},
        {"id": ["a", "b"]},
        {"id": "a." * 100000 + "b"},
    ],
)
def test_hostile_module_values_give_diagnostics(
    cli: Cli, tmp_path: Path, module: dict[str, Any]
) -> None:
    result = run_stack(cli, tmp_path, stack([{**MQTT, **module}]))
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error IS")
    assert len(result.stderr) < 5000
