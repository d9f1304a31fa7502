"""The marker that labels a pair's active pod (``active-marker.sh``), run for real.

The script is the one the Kubernetes target ships in its scripts ConfigMap, started with the
marker container's command and environment from the emitted StatefulSet (the downward API filled
in as the kubelet does). A local HTTP server answers ``/system/gwinfo`` like the gateway, and a
local HTTPS server plays the Kubernetes API server: it checks the bearer token and records every
request, so the tests count the PATCHes a change of the gateway's state causes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec
from emitter.targets.kubernetes import active

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("openssl") is None,
    reason="curl (the Ignition image has it) and openssl (for the test's API server) are needed",
)

LABEL = "ignition-stack.io/active"
NAMESPACE = "plant-dev"
POD = "gateway-1"
INTERVAL = "0.1"
ACTIVE = "ContextStatus=RUNNING;RedundancyStatus=Backup;RedundantState=Good;RedundantNodeActiveStatus=Active;"
STANDBY = "ContextStatus=RUNNING;RedundancyStatus=Backup;RedundantState=Good;RedundantNodeActiveStatus=Standby;"
STARTING = "ContextStatus=STARTING;RedundancyStatus=Backup;RedundantState=Unknown;RedundantNodeActiveStatus=Active;"


def _emitted() -> tuple[str, dict[str, Any]]:
    spec = StackSpec.model_validate(
        {
            "name": "plant",
            "architecture": "basic",
            "redundant": "gateway",
            "web": {"hosts": {"gateway": "scada.example.com"}},
            "kubernetes": {"web": {"issuer": {"name": "le"}, "api_server_cidrs": ["10.0.0.1/32"]}},
        }
    )
    files = render(prepare(spec), ("kubernetes",))["kubernetes"].files
    scripts = yaml.safe_load(files["v1_configmap_plant-scripts.yaml"])["data"]
    pod = yaml.safe_load(files["apps_v1_statefulset_gateway.yaml"])["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == active.CONTAINER)
    return scripts[active.SCRIPT], container


SCRIPT, CONTAINER = _emitted()


@dataclass
class ApiServer:
    """What the fake API server saw, and the labels of the one pod it serves."""

    token: str
    labels: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def patches(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for method, _, _, body in self.requests if method == "PATCH"]


def _api_handler(api: ApiServer) -> type[BaseHTTPRequestHandler]:
    pod_path = f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}"

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            with api.lock:
                api.requests.append((method, self.path, dict(self.headers), body))
                if self.headers.get("Authorization") != f"Bearer {api.token}":
                    self.send_error(401)
                    return
                if self.path != pod_path:
                    self.send_error(403)
                    return
                if method == "PATCH":
                    api.labels.update(json.loads(body)["metadata"]["labels"])
                # Pretty-printed, as the API server answers curl.
                data = json.dumps({"metadata": {"name": POD, "labels": api.labels}}, indent=2)
            encoded = data.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_PATCH(self) -> None:
            self._answer("PATCH")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class Gwinfo(BaseHTTPRequestHandler):
    body: str | None = STANDBY  # None: the gateway does not answer

    def do_GET(self) -> None:
        body = type(self).body
        if self.path != "/system/gwinfo" or body is None:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()


@dataclass
class Marker:
    api: ApiServer
    gateway: type[Gwinfo]
    credentials: Path
    start: Callable[[], subprocess.Popen[str]]


def _certificate(directory: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(directory / "server.key"), "-out", str(directory / "ca.crt"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Marker]:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    _certificate(credentials)
    (credentials / "token").write_text("first-token")
    api = ApiServer(token="first-token")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(credentials / "ca.crt", credentials / "server.key")
    api_server = ThreadingHTTPServer(("127.0.0.1", 0), _api_handler(api))
    api_server.socket = context.wrap_socket(api_server.socket, server_side=True)
    gateway = type("Gateway", (Gwinfo,), {})
    gateway_server = ThreadingHTTPServer(("127.0.0.1", 0), gateway)
    _serve(api_server)
    _serve(gateway_server)
    script = tmp_path / "ignition-stack" / active.SCRIPT
    script.parent.mkdir()
    script.write_text(SCRIPT)
    processes: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        downward = {"metadata.name": POD, "metadata.namespace": NAMESPACE}
        environment = {
            item["name"]: item["value"]
            if "value" in item
            else downward[item["valueFrom"]["fieldRef"]["fieldPath"]]
            for item in CONTAINER["env"]
        }
        # Where this test's servers and files are, instead of the pod's.
        environment.update(
            ACTIVE_MARKER_CREDENTIALS=str(credentials),
            ACTIVE_MARKER_INTERVAL=INTERVAL,
            GATEWAY_HTTP_PORT=str(gateway_server.server_address[1]),
            KUBERNETES_API=f"https://localhost:{api_server.server_address[1]}",
            PATH=os.environ["PATH"],
        )
        command = [*CONTAINER["command"][:-1], str(script)]
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield Marker(api, gateway, credentials, start)
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()
    api_server.shutdown()
    gateway_server.shutdown()


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _settle(marker: Marker, count: int) -> None:
    """Wait for the ``count``-th PATCH, then for ten more rounds in which nothing may follow."""
    _wait_for(lambda: len(marker.api.patches()) >= count)
    time.sleep(10 * float(INTERVAL))
    assert len(marker.api.patches()) == count, marker.api.patches()


def _patch(value: str) -> dict[str, Any]:
    return {"metadata": {"labels": {LABEL: value}}}


def test_each_flip_patches_the_label_once(marker: Marker) -> None:
    process = marker.start()
    _settle(marker, 1)  # a fresh pod has no label: the standby says so once
    marker.gateway.body = ACTIVE
    _settle(marker, 2)
    marker.gateway.body = STANDBY
    _settle(marker, 3)
    marker.gateway.body = ACTIVE
    _settle(marker, 4)
    assert marker.api.patches() == [
        _patch("false"),
        _patch("true"),
        _patch("false"),
        _patch("true"),
    ]
    assert marker.api.labels == {LABEL: "true"}
    patches = [request for request in marker.api.requests if request[0] == "PATCH"]
    for _, path, headers, _ in patches:
        assert path == f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}"
        assert headers["Content-Type"] == "application/merge-patch+json"
    # Stopped (a rollout, a drain): it hands the label back at once.
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0
    assert marker.api.patches()[-1] == _patch("false")


def test_no_answer_or_not_running_is_not_active(marker: Marker) -> None:
    marker.gateway.body = ACTIVE
    marker.start()
    _settle(marker, 1)
    marker.gateway.body = None
    _settle(marker, 2)
    marker.gateway.body = STARTING  # Active, but not RUNNING
    _settle(marker, 2)
    assert marker.api.patches() == [_patch("true"), _patch("false")]


def test_a_restarted_marker_patches_nothing_already_right(marker: Marker) -> None:
    marker.api.labels[LABEL] = "true"
    marker.gateway.body = ACTIVE
    marker.start()
    _wait_for(lambda: any(method == "GET" for method, *_ in marker.api.requests))
    time.sleep(10 * float(INTERVAL))
    assert marker.api.patches() == []
    marker.gateway.body = STANDBY
    _settle(marker, 1)
    assert marker.api.patches() == [_patch("false")]


def test_the_rotated_token_is_read_again_and_a_refused_patch_is_retried(marker: Marker) -> None:
    process = marker.start()
    _settle(marker, 1)
    # The kubelet rotates the token; the API server accepts only the new one.
    marker.api.token = "second-token"
    (marker.credentials / "token").write_text("second-token")
    marker.gateway.body = ACTIVE
    _wait_for(lambda: marker.api.labels.get(LABEL) == "true")
    tokens = {headers["Authorization"] for method, _, headers, _ in marker.api.requests}
    assert "Bearer second-token" in tokens
    # A refused PATCH (expired token) is tried again on the next round, not forgotten.
    marker.api.token = "third-token"
    marker.gateway.body = STANDBY
    _wait_for(lambda: sum(1 for r in marker.api.requests if r[0] == "PATCH") >= 5)
    assert marker.api.labels[LABEL] == "true"  # every try refused so far
    (marker.credentials / "token").write_text("third-token")
    _wait_for(lambda: marker.api.labels.get(LABEL) == "false")
    process.terminate()
