"""The health table of the README, run for real.

The emitted health script runs exactly as each target invokes it: the Compose healthcheck's
command with the gateway service's environment, and the Kubernetes readiness probe's command
with the gateway container's environment (the pod index substituted as the kubelet does). The
directory the targets mount at ``/ignition-stack`` and the data volume are temporary
directories, and a local HTTP server answers ``/system/gwinfo`` like a gateway in each
situation. ``/system/gwinfo``'s fields and values are the ones the official Helm chart's
redundant-health-check.sh parses (ContextStatus, RedundancyStatus, RedundantState,
RedundantNodeActiveStatus).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from emitter import image
from emitter.pipeline import prepare, render
from emitter.spec import StackSpec
from emitter.targets import registry
from tests.support.kubelet import container_environment, pod_gateways

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None, reason="curl is needed (the Ignition image has it)"
)

MARKER = ".ignition-stack-paired"


@dataclass(frozen=True)
class Invocation:
    """How one target runs the health check of one gateway."""

    command: list[str]
    environment: dict[str, str]
    # path under /ignition-stack -> content, as the target mounts it
    files: dict[str, str]


def _stack() -> dict[str, dict[str, str]]:
    spec = StackSpec(name="plant", architecture="scale-out", redundant="backend")  # type: ignore[arg-type]
    return {
        name: emission.files for name, emission in render(prepare(spec), registry.names()).items()
    }


EMITTED = _stack()


def compose_invocation(gateway: str) -> Invocation:
    files = EMITTED["compose"]
    service = yaml.safe_load(files["compose.yaml"])["services"][gateway]
    mounted = {}
    for volume in service["volumes"]:
        if volume["type"] == "bind":
            source = volume["source"].removeprefix("./")
            mounted[volume["target"].removeprefix(image.SCRIPTS_DIR + "/")] = files[source]
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    return Invocation(test[1:], dict(service["environment"]), mounted)


def kubernetes_invocation(gateway: str) -> Invocation:
    files = EMITTED["kubernetes"]
    objects = [yaml.safe_load(text) for path, text in files.items() if path.endswith(".yaml")]
    config_maps = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    for item in objects:
        if item["kind"] != "StatefulSet":
            continue
        name = item["metadata"]["name"]
        pods = [pod for pod, runs in pod_gateways(objects, item).items() if runs == gateway]
        if not pods:
            continue
        ordinal = int(pods[0].rsplit("-", 1)[1])
        pod = item["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == "gateway")
        mounted: dict[str, str] = {}
        volume = next(v for v in pod["volumes"] if v["name"] == "configuration")
        for source in volume["projected"]["sources"]:
            data = config_maps[source["configMap"]["name"]]
            mounted.update(
                {entry["path"]: data[entry["key"]] for entry in source["configMap"]["items"]}
            )
        environment = container_environment(container["env"], f"{name}-{ordinal}", ordinal)
        return Invocation(container["readinessProbe"]["exec"]["command"], environment, mounted)
    raise AssertionError(f"no StatefulSet runs {gateway}")


INVOCATIONS = {"compose": compose_invocation, "kubernetes": kubernetes_invocation}


class _Gateway(BaseHTTPRequestHandler):
    gwinfo = ""

    def do_GET(self) -> None:
        if self.path != "/system/gwinfo":
            self.send_error(404)
            return
        body = self.gwinfo.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway_server() -> Iterator[tuple[int, type[_Gateway]]]:
    handler = type("Gateway", (_Gateway,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


class Node:
    """A gateway container as a target sets it up: its mounted files and its data volume."""

    def __init__(self, root: Path, target: str, gateway: str) -> None:
        self.invocation = INVOCATIONS[target](gateway)
        self.scripts = root / "ignition-stack"
        self.scripts.mkdir()
        for name, text in self.invocation.files.items():
            (self.scripts / name).write_text(text)
        self.data = root / "data"
        self.data.mkdir()

    def check(self, port: int) -> subprocess.CompletedProcess[str]:
        def local(value: str) -> str:
            return value.replace(image.SCRIPTS_DIR, str(self.scripts))

        environment = {name: local(value) for name, value in self.invocation.environment.items()}
        environment.update(
            PATH=os.environ["PATH"], GATEWAY_HTTP_PORT=str(port), HEALTH_DATA=str(self.data)
        )
        return subprocess.run(
            [local(part) for part in self.invocation.command],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )


def gwinfo(context: str = "RUNNING", status: str = "", state: str = "", activity: str = "") -> str:
    fields = {
        "ContextStatus": context,
        "RedundancyStatus": status,
        "RedundantState": state,
        "RedundantNodeActiveStatus": activity,
    }
    return "".join(f"{key}={value};" for key, value in fields.items() if value)


# (situation, gateway, /system/gwinfo answer, paired before, ready): the README's health table.
# `frontend-0` is outside any pair; `backend` is the master, `backend-backup` the backup.
SITUATIONS = [
    ("starting", "backend", gwinfo("STARTING", "Master", "Unknown", "Active"), False, False),
    ("waiting for commissioning", "frontend-0", gwinfo("NEEDS_COMMISSIONING"), False, False),
    ("faulted", "frontend-0", gwinfo("FAULTED", "Independent"), False, False),
    ("outside any pair, running", "frontend-0", gwinfo(status="Independent"), False, True),
    ("empty answer", "frontend-0", "", False, False),
    ("master alone, active", "backend", gwinfo(status="Master", state="Unknown", activity="Active"), False, True),
    ("master with its backup in sync", "backend", gwinfo(status="Master", state="Good", activity="Active"), False, True),
    ("master whose redundancy.xml did not take", "backend", gwinfo(status="Independent"), False, False),
    ("master standby after a failover, in sync", "backend", gwinfo(status="Master", state="Good", activity="Standby"), False, True),
    ("master standby, not connected", "backend", gwinfo(status="Master", state="Unknown", activity="Standby"), False, False),
    ("backup in sync", "backend-backup", gwinfo(status="Backup", state="Good", activity="Standby"), False, True),
    ("backup syncing", "backend-backup", gwinfo(status="Backup", state="OutOfDate", activity="Standby"), False, True),
    ("backup upgraded first (version skew)", "backend-backup", gwinfo(status="Backup", state="Incompatible", activity="Standby"), False, True),
    ("backup not connected", "backend-backup", gwinfo(status="Backup", state="Unknown", activity="Standby"), False, False),
    ("backup active on a first start (split brain)", "backend-backup", gwinfo(status="Backup", state="Unknown", activity="Active"), False, False),
    ("backup active after a failover", "backend-backup", gwinfo(status="Backup", state="Unknown", activity="Active"), True, True),
    ("backup whose redundancy.xml did not take", "backend-backup", gwinfo(status="Independent"), False, False),
    ("backup in the master's role", "backend-backup", gwinfo(status="Master", state="Unknown", activity="Active"), True, False),
    ("backup starting", "backend-backup", gwinfo("STARTING", "Backup"), True, False),
]  # fmt: skip


@pytest.mark.parametrize("target", sorted(INVOCATIONS))
@pytest.mark.parametrize(
    ("gateway", "answer", "paired_before", "ready"),
    [situation[1:] for situation in SITUATIONS],
    ids=[situation[0] for situation in SITUATIONS],
)
def test_health_table(
    tmp_path: Path,
    gateway_server: tuple[int, type[_Gateway]],
    target: str,
    gateway: str,
    answer: str,
    paired_before: bool,
    ready: bool,
) -> None:
    port, handler = gateway_server
    handler.gwinfo = answer
    node = Node(tmp_path, target, gateway)
    if paired_before:
        (node.data / MARKER).touch()
    result = node.check(port)
    assert result.returncode == (0 if ready else 1), result.stderr
    if not ready:
        assert result.stderr.startswith("not ready: "), result.stderr


@pytest.mark.parametrize("target", sorted(INVOCATIONS))
def test_a_backup_seen_in_sync_is_ready_when_it_takes_over(
    tmp_path: Path, gateway_server: tuple[int, type[_Gateway]], target: str
) -> None:
    port, handler = gateway_server
    node = Node(tmp_path, target, "backend-backup")
    active = gwinfo(status="Backup", state="Unknown", activity="Active")
    handler.gwinfo = active
    assert node.check(port).returncode == 1, "split brain on a first start"
    handler.gwinfo = gwinfo(status="Backup", state="Good", activity="Standby")
    assert node.check(port).returncode == 0
    assert (node.data / MARKER).exists(), "the pairing is recorded in the data volume"
    handler.gwinfo = active
    assert node.check(port).returncode == 0, "the master failed over to its backup"


@pytest.mark.parametrize("target", sorted(INVOCATIONS))
def test_no_answer_is_not_ready(tmp_path: Path, target: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unused = probe.getsockname()[1]
    result = Node(tmp_path, target, "backend").check(unused)
    assert result.returncode == 1
    assert "no answer" in result.stderr


def test_each_target_tells_every_node_its_role() -> None:
    """A pair member's health check knows the role it must have; a gateway outside any pair
    is told nothing, and both targets agree on every node."""
    for gateway, role in (
        ("backend", "Master"),
        ("backend-backup", "Backup"),
        ("frontend-0", None),
    ):
        for target, invocation in INVOCATIONS.items():
            found = invocation(gateway)
            source = found.environment.get("NODE_REDUNDANCY_XML")
            if role is None:
                assert source is None, (target, gateway)
                continue
            assert source is not None, (target, gateway)
            text = found.files[source.removeprefix(image.SCRIPTS_DIR + "/")]
            assert f'<entry key="redundancy.noderole">{role}</entry>' in text, (target, gateway)


def test_usage(tmp_path: Path) -> None:
    node = Node(tmp_path, "compose", "frontend-0")
    result = subprocess.run(
        ["bash", str(node.scripts / image.HEALTH_SCRIPT), "sideways"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
