"""A pair's host reaches its active node, on a real API server (``active.py``).

The golden tree ``basic-redundant-web`` is applied to the test control plane
(``tests/engines/kubernetes.py``: a real kube-apiserver with RBAC, the real StatefulSet and
EndpointSlice controllers, kwok for the kubelets, which gives each pod an address and makes it
Ready). kwok runs no container, so the markers are run here, as processes: the shipped
``active-marker.sh`` with a token the API server issues for the markers' ServiceAccount
(TokenRequest), against the API server itself, each reading a local stand-in of its gateway's
``/system/gwinfo``. What is checked is what the cluster does with the result: the label lands
on the marker's own pod, the ``-active`` Service's EndpointSlice lists exactly the active pod,
and it follows a failover; the markers' token may get and patch the pair's pods and nothing
else.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.targets.kubernetes import active

from ...engines.kubernetes import ControlPlane, Kubectl
from .test_cluster import apply_cleanly, golden_files, pods, write_tree

pytestmark = pytest.mark.engine

CASE = "basic-redundant-web"
MASTER, BACKUP = "gateway-0", "gateway-1"
ACCOUNT = "gateway-active-marker"
SERVICE = "gateway-active"
TIMEOUT = 120.0
NewNamespace = Callable[..., str]


def _gwinfo(activity: str) -> str:
    return (
        "ContextStatus=RUNNING;RedundancyStatus=Master;RedundantState=Good;"
        f"RedundantNodeActiveStatus={activity};"
    )


class _Gateway(BaseHTTPRequestHandler):
    body = _gwinfo("Standby")

    def do_GET(self) -> None:
        body = type(self).body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Node:
    """One pod's marker, run as a process, and the stand-in of its gateway's /system/gwinfo."""

    def __init__(self, pod: str, namespace: str, api: str, credentials: Path, script: Path):
        self.gateway = type(pod, (_Gateway,), {})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.gateway)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        environment = {
            "PATH": os.environ["PATH"],
            "POD_NAME": pod,
            "POD_NAMESPACE": namespace,
            "GATEWAY_HTTP_PORT": str(self.server.server_address[1]),
            "KUBERNETES_API": api,
            "ACTIVE_MARKER_CREDENTIALS": str(credentials),
            "ACTIVE_MARKER_INTERVAL": "0.5",
        }
        self.process = subprocess.Popen(
            ["/bin/bash", str(script)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def reports(self, activity: str) -> None:
        self.gateway.body = _gwinfo(activity)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        output, _ = self.process.communicate(timeout=15)
        self.server.shutdown()
        self.server.server_close()
        return output


def _api_server(kubectl: Kubectl) -> str:
    config = yaml.safe_load(kubectl.kubeconfig.read_text(encoding="utf-8"))
    server: str = config["clusters"][0]["cluster"]["server"]
    return server


@pytest.fixture
def credentials(
    kubernetes_cluster: ControlPlane, kubectl: Kubectl, tmp_path: Path
) -> Callable[[str], Path]:
    """``credentials(namespace)``: a directory laid out like the marker's projected volume: a
    token the API server issues for the markers' ServiceAccount, and the CA of its serving
    certificate (the self-signed one in its --cert-dir)."""

    def issue(namespace: str) -> Path:
        directory = tmp_path / "credentials"
        directory.mkdir()
        token = kubectl("create", "token", ACCOUNT, "--duration=10m", namespace=namespace)
        (directory / "token").write_text(token.stdout.strip())
        serving = kubernetes_cluster.directory / "pki" / "apiserver.crt"
        (directory / "ca.crt").write_text(serving.read_text())
        return directory

    return issue


def _active_pods(kubectl: Kubectl, namespace: str) -> dict[str, str | None]:
    return {
        pod["metadata"]["name"]: pod["metadata"].get("labels", {}).get(active.ACTIVE_LABEL)
        for pod in pods(kubectl, namespace)
    }


def _endpoint_pods(kubectl: Kubectl, namespace: str) -> list[str]:
    """The pods the ``-active`` Service's EndpointSlices list as ready."""
    slices = kubectl.json(
        "get", "endpointslices", "-l", f"kubernetes.io/service-name={SERVICE}", namespace=namespace
    )
    return sorted(
        endpoint["targetRef"]["name"]
        for item in slices["items"]
        for endpoint in item.get("endpoints") or []
        if endpoint.get("conditions", {}).get("ready")
    )


def _ready(kubectl: Kubectl, namespace: str) -> set[str]:
    return {
        pod["metadata"]["name"]
        for pod in pods(kubectl, namespace)
        if any(
            condition["type"] == "Ready" and condition["status"] == "True"
            for condition in pod.get("status", {}).get("conditions") or []
        )
    }


def _wait(what: str, condition: Callable[[], bool], nodes: list[Node]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(node.stop() for node in nodes)
            pytest.fail(f"timed out waiting for {what}; the markers said:\n{logs}", pytrace=False)
        time.sleep(0.5)


@pytest.fixture
def pair(
    kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    namespace = new_namespace()
    tree = write_tree(golden_files(CASE), tmp_path / "kubernetes", namespace)
    objects = apply_cleanly(kubectl, tree, namespace)
    # The backup's pod is created once the master's is Ready (ordered start).
    _wait("both pods of the pair Ready", lambda: _ready(kubectl, namespace) >= {MASTER, BACKUP}, [])
    yield namespace, objects


def test_the_active_service_follows_the_markers_through_a_failover(
    kubectl: Kubectl,
    pair: tuple[str, list[dict[str, Any]]],
    credentials: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    namespace, objects = pair
    service = next(
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == SERVICE
    )
    assert service["spec"]["selector"][active.ACTIVE_LABEL] == "true"
    scripts = next(
        o for o in objects if o["kind"] == "ConfigMap" and "scripts" in o["metadata"]["name"]
    )
    script = tmp_path / active.SCRIPT
    script.write_text(scripts["data"][active.SCRIPT])
    secrets = credentials(namespace)
    api = _api_server(kubectl)
    assert _endpoint_pods(kubectl, namespace) == []  # no pod is labelled yet
    master = Node(MASTER, namespace, api, secrets, script)
    backup = Node(BACKUP, namespace, api, secrets, script)
    nodes = [master, backup]
    try:
        master.reports("Active")
        _wait(
            "the master labelled active, the backup not",
            lambda: _active_pods(kubectl, namespace) == {MASTER: "true", BACKUP: "false"},
            nodes,
        )
        _wait(
            "the Service on the master",
            lambda: _endpoint_pods(kubectl, namespace) == [MASTER],
            nodes,
        )
        # The master fails; the backup takes over.
        master.reports("Standby")
        backup.reports("Active")
        _wait(
            "the backup labelled active, the master not",
            lambda: _active_pods(kubectl, namespace) == {MASTER: "false", BACKUP: "true"},
            nodes,
        )
        _wait(
            "the Service on the backup",
            lambda: _endpoint_pods(kubectl, namespace) == [BACKUP],
            nodes,
        )
    finally:
        logs = [node.stop() for node in nodes]
    # Each change was one PATCH: the master set true then false (and nothing on its stop, it
    # was already false); the backup false then true, then false as it stopped.
    assert logs[0].splitlines() == [
        f"{MASTER}: {active.ACTIVE_LABEL}=true",
        f"{MASTER}: {active.ACTIVE_LABEL}=false",
    ], logs
    assert logs[1].splitlines() == [
        f"{BACKUP}: {active.ACTIVE_LABEL}=false",
        f"{BACKUP}: {active.ACTIVE_LABEL}=true",
        f"{BACKUP}: {active.ACTIVE_LABEL}=false",
    ], logs


def test_the_marker_token_reaches_the_pair_pods_only(
    kubectl: Kubectl, pair: tuple[str, list[dict[str, Any]]], credentials: Callable[[str], Path]
) -> None:
    namespace, _ = pair
    secrets = credentials(namespace)
    pod_url = f"{_api_server(kubectl)}/api/v1/namespaces/{namespace}/pods"

    def request(method: str, url: str, body: str | None = None) -> int:
        """The HTTP status the API server answers the marker's token with."""
        token = (secrets / "token").read_text()
        command = [
            "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
            str(secrets / "ca.crt"), "-H", f"Authorization: Bearer {token}", "-X", method,
        ]  # fmt: skip
        if body is not None:
            command += ["-H", "Content-Type: application/merge-patch+json", "--data", body]
        return int(
            subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
        )

    label = json.dumps({"metadata": {"labels": {active.ACTIVE_LABEL: "true"}}})
    assert request("GET", f"{pod_url}/{MASTER}") == 200
    assert request("PATCH", f"{pod_url}/{BACKUP}", label) == 200
    # Any other pod name (here or in another namespace), a list, a delete, a Secret: Forbidden.
    assert request("PATCH", f"{pod_url}/gateway-2", label) == 403
    assert request("PATCH", pod_url.replace(namespace, "default") + f"/{MASTER}", label) == 403
    assert request("GET", pod_url) == 403
    assert request("DELETE", f"{pod_url}/{MASTER}") == 403
    assert request("GET", pod_url.replace("/pods", "/secrets")) == 403
    # The same, as RBAC reports it for the ServiceAccount.
    user = f"system:serviceaccount:{namespace}:{ACCOUNT}"

    def can(*what: str) -> bool:
        run = kubectl("auth", "can-i", *what, f"--as={user}", namespace=namespace, check=False)
        return run.stdout.strip() == "yes"

    assert can("patch", f"pods/{MASTER}") and can("patch", f"pods/{BACKUP}")
    assert not can("patch", "pods/gateway-2")
    assert not can("update", f"pods/{MASTER}")
    assert not can("create", "pods")
    assert not can("get", "secrets")
