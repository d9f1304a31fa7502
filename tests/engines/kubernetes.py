"""A real Kubernetes control plane for the tests, started once per session.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler (built by
``tests/tools/install-kubernetes.sh`` into ``.tools/bin``) run on free loopback ports in a temporary
directory, with token authentication, RBAC and Pod Security admission, so what the tool emits is
applied to a real API server and acted on by the real StatefulSet, volume-binding and scheduling
controllers. kwok stands in for the kubelets of two fake Nodes: it makes scheduled pods Running
and, after ``READY_DELAY_MS``, Ready, so the order in which a rollout replaces pods is
observable. cert-manager's CRDs are installed so its Certificates and Issuers are validated by
the API server too.

Fixtures (registered from ``tests/conftest.py``):

* ``kubectl``: a ``Kubectl`` runner bound to the cluster's kubeconfig;
* ``new_namespace``: ``new_namespace(restricted=True, name=None)`` creates a namespace
  (restricted: Pod Security ``enforce`` and ``warn`` at ``restricted``) that is deleted after
  the test.

Without the binaries the tests skip with the reason, or fail with ``IGNITION_STACK_REQUIRE_TOOLS=1``.
Every process is stopped at the end of the session; a test that leaves a process of its own
running fails.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..support import cert_manager, cloudnative_pg, gateway_api
from ..support.validators import missing_tool

KUBERNETES_VERSION = "v1.34.2"  # keep equal to KUBERNETES_VERSION in install-kubernetes.sh
ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".tools" / "bin"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
INSTALL_HINT = "run tests/tools/install-kubernetes.sh (about 8 minutes, once)"

NODES = ("kwok-node-0", "kwok-node-1")
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
# How long kwok keeps a scheduled pod not Ready: long enough that a rollout's order shows in
# the watch stream, short enough to keep the suite fast.
READY_DELAY_MS = 3000
NAMESPACE_LABEL = "ignition-stack.test/namespace"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


# --- kwok's stages: its default "fast" pod stages, with readiness delayed -----------------

_POD_READY_STATUS = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      finishedAt: {{ $now | Quote }}
      reason: Completed
      startedAt: {{ $now | Quote }}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
phase: Running
startTime: {{ $now | Quote }}
"""


def _pod_stage(
    name: str, expressions: list[dict[str, Any]], spec: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchExpressions": expressions},
            **spec,
        },
    }


def kwok_stages() -> list[dict[str, Any]]:
    """kwok's default pod stages (``kustomize/stage/pod/fast`` in its module), with a delay
    before a pod becomes Ready and without the Job one; with any pod stage configured kwok
    uses only the configured ones."""
    not_deleted = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
    return [
        _pod_stage(
            "pod-ready",
            [not_deleted, {"key": ".status.podIP", "operator": "DoesNotExist"}],
            {
                "delay": {"durationMilliseconds": READY_DELAY_MS},
                "next": {"statusTemplate": _POD_READY_STATUS},
            },
        ),
        _pod_stage(
            "pod-delete",
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"next": {"finalizers": {"empty": True}, "delete": True}},
        ),
    ]


# --- processes ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _processes() -> Iterator[tuple[int, str, int, int]]:
    """(pid, state, parent pid, session id) of every process, from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        # "pid (comm) state ppid pgrp session ...": comm may contain spaces and parentheses.
        state, ppid, _, session = text.rpartition(")")[2].split()[:4]
        yield int(stat.parent.name), state, int(ppid), int(session)


def child_processes(parent: int) -> set[int]:
    """Live (not zombie) direct children of process ``parent``."""
    return {pid for pid, state, ppid, _ in _processes() if ppid == parent and state != "Z"}


def session_processes(sessions: set[int]) -> set[int]:
    """Live processes in any of ``sessions`` (each component leads a session of its own)."""
    return {pid for pid, state, _, session in _processes() if session in sessions and state != "Z"}


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_running(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(
                f"{self.name} exited with {self.process.returncode}; last lines of {self.log}:\n"
                + _tail(self.log),
                pytrace=False,
            )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class Kubectl:
    """``kubectl`` bound to the test cluster's kubeconfig."""

    binary: str
    kubeconfig: Path
    cache: Path

    def argv(self, *args: str, namespace: str | None = None) -> list[str]:
        scope = ["--namespace", namespace] if namespace else []
        return [
            self.binary,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache),
            *scope,
            *args,
        ]

    def __call__(
        self,
        *args: str,
        namespace: str | None = None,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl; with ``check`` a failure fails the test with kubectl's stderr."""
        argv = self.argv(*args, namespace=namespace)
        run = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and run.returncode != 0:
            pytest.fail(
                f"`kubectl {' '.join(args)}` (namespace {namespace}) exited with "
                f"{run.returncode}:\n{run.stderr}",
                pytrace=False,
            )
        return run

    def json(self, *args: str, namespace: str | None = None) -> Any:
        return json.loads(self(*args, "--output", "json", namespace=namespace).stdout)

    def apply_objects(
        self, objects: Iterable[dict[str, Any]], namespace: str | None = None
    ) -> None:
        self(
            "apply",
            "--server-side",
            "--filename",
            "-",
            namespace=namespace,
            stdin=yaml.safe_dump_all(list(objects)),
        )


@dataclass
class ControlPlane:
    directory: Path
    kubectl: Kubectl
    components: list[Component] = field(default_factory=list)

    def start(self, binaries: dict[str, Path]) -> None:
        etcd_port, peer_port, api_port, kwok_port = (_free_port() for _ in range(4))
        token = secrets.token_hex(16)
        pki = self.directory / "pki"
        pki.mkdir()
        _service_account_keys(pki)
        (pki / "tokens.csv").write_text(f"{token},admin,admin,system:masters\n")
        _write_kubeconfig(self.kubectl.kubeconfig, f"https://127.0.0.1:{api_port}", token)
        kubeconfig = str(self.kubectl.kubeconfig)
        client = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
        ]
        self._launch(
            "etcd",
            binaries,
            f"--data-dir={self.directory / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
        )
        self._launch(
            "kube-apiserver",
            binaries,
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--cert-dir={pki}",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
        )
        self._wait_ready(f"https://127.0.0.1:{api_port}/readyz", token)
        self._launch(
            "kube-controller-manager",
            binaries,
            *client,
            f"--service-account-private-key-file={pki / 'sa.key'}",
            "--controllers=*",
            # kwok renews the fake nodes' heartbeats; on a loaded machine one can come late, and
            # the node controller would then mark the node and its pods not ready mid-test.
            "--node-monitor-grace-period=10m",
        )
        self._launch("kube-scheduler", binaries, *client)
        stages = self.directory / "kwok-stages.yaml"
        stages.write_text(yaml.safe_dump_all(kwok_stages()))
        self._launch(
            "kwok",
            binaries,
            f"--kubeconfig={kubeconfig}",
            f"--config={stages}",
            f"--server-address=127.0.0.1:{kwok_port}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
        )
        self.kubectl.apply_objects(fake_node(name) for name in NODES)
        self._wait_nodes_ready()
        self.kubectl.apply_objects(cert_manager_crds())
        # The Gateway API's, for the HTTPRoutes of `web:` (route: httproute).
        self.kubectl.apply_objects(gateway_api.crd_documents())
        # CloudNativePG's, for the Cluster of `database:`.
        self.kubectl.apply_objects(cloudnative_pg.crd_documents())
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")

    def _launch(self, name: str, binaries: dict[str, Path], *args: str) -> None:
        log = self.directory / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(binaries[name]), *args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                # Its own session: a Ctrl-C to pytest stops it through teardown, in order, and
                # anything it leaves behind is found by session id.
                start_new_session=True,
            )
        self.components.append(Component(name, process, log))

    def check_running(self) -> None:
        for component in self.components:
            component.check_running()

    def _wait_ready(self, url: str, token: str) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the API server's own self-signed serving cert
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self.check_running()
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as response:
                    if response.read().strip() == b"ok":
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{url} not ok after {START_TIMEOUT:.0f}s", pytrace=False)
            time.sleep(0.5)

    def _wait_nodes_ready(self) -> None:
        self.check_running()
        self.kubectl(
            "wait", "--for=condition=Ready", "node", *NODES, f"--timeout={START_TIMEOUT:.0f}s"
        )

    def stop(self) -> list[str]:
        """Stop every component, newest first; returns the ones that had to be killed."""
        killed = []
        for component in reversed(self.components):
            process = component.process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    killed.append(component.name)
        return killed


def _service_account_keys(directory: Path) -> None:
    """The key pair service-account tokens are signed with (no token is ever mounted here, but
    kube-apiserver and the controller manager refuse to start without one)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing_tool("openssl is not installed; it makes the test cluster's service-account key")
    key, public = directory / "sa.key", directory / "sa.pub"
    subprocess.run(
        [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [openssl, "pkey", "-in", key, "-pubout", "-out", public], check=True, capture_output=True
    )


def _write_kubeconfig(path: Path, server: str, token: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": {"server": server, "insecure-skip-tls-verify": True}}
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


def fake_node(name: str) -> dict[str, Any]:
    # ephemeral-storage too: the gateways request it, and a node without it fits no gateway pod.
    capacity = {"cpu": "32", "memory": "256Gi", "ephemeral-storage": "1Ti", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_ANNOTATION: "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def cert_manager_crds() -> list[dict[str, Any]]:
    """cert-manager's CRDs without metadata labels and annotations: the files carry Helm
    template text there (``app: '{{ template "cert-manager.name" . }}'``), which the API
    server refuses as label values."""
    crds = []
    for document in cert_manager.crd_documents():
        crd = dict(document)
        crd["metadata"] = {"name": document["metadata"]["name"]}
        crds.append(crd)
    return crds


def find_binaries() -> dict[str, Path]:
    missing = [name for name in COMPONENTS if not os.access(BIN / name, os.X_OK)]
    if missing:
        missing_tool(f"{', '.join(missing)} not in {BIN}: {INSTALL_HINT}")
    return {name: BIN / name for name in COMPONENTS}


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kubernetes_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """The session's control plane (started on first use)."""
    binaries = find_binaries()
    kubectl_binary = shutil.which("kubectl")
    if kubectl_binary is None:
        missing_tool("kubectl is not installed")
    directory = tmp_path_factory.mktemp("kubernetes")
    plane = ControlPlane(
        directory, Kubectl(kubectl_binary, directory / "kubeconfig", directory / "kubectl-cache")
    )
    try:
        plane.start(binaries)
        yield plane
    finally:
        killed = plane.stop()
        left = session_processes({component.process.pid for component in plane.components})
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        problems = [f"{name} ignored SIGTERM for {STOP_TIMEOUT:.0f}s" for name in killed]
        problems += [f"process {pid} still running: {_command_line(pid)}" for pid in left]
        if problems:
            pytest.fail("the test cluster did not stop cleanly:\n" + "\n".join(problems))


@pytest.fixture
def kubectl(kubernetes_cluster: ControlPlane) -> Iterator[Kubectl]:
    """kubectl bound to the test cluster; the test fails if it leaves a process running."""
    kubernetes_cluster.check_running()
    before = child_processes(os.getpid())
    yield kubernetes_cluster.kubectl
    left = child_processes(os.getpid()) - before
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    if left:
        pytest.fail(
            "the test left processes running:\n"
            + "\n".join(f"  {pid}: {_command_line(pid)}" for pid in sorted(left)),
            pytrace=False,
        )
    kubernetes_cluster.check_running()


_namespace_numbers = itertools.count()


def namespace_object(name: str, restricted: bool) -> dict[str, Any]:
    labels = {NAMESPACE_LABEL: name}
    if restricted:
        labels |= {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


@pytest.fixture
def new_namespace(kubectl: Kubectl) -> Iterator[Callable[..., str]]:
    """``new_namespace(restricted=True, name=None)``: a namespace for this test (deleted after
    it, with the PersistentVolumes made for it); ready once its default ServiceAccount exists,
    which Pod admission requires."""
    created: list[str] = []

    def create(restricted: bool = True, name: str | None = None) -> str:
        chosen = name or f"test-{os.getpid()}-{next(_namespace_numbers)}"
        kubectl.apply_objects([namespace_object(chosen, restricted)])
        created.append(chosen)
        deadline = time.monotonic() + START_TIMEOUT
        while kubectl("get", "serviceaccount", "default", namespace=chosen, check=False).returncode:
            if time.monotonic() > deadline:
                pytest.fail(f"namespace {chosen} got no default ServiceAccount", pytrace=False)
            time.sleep(0.2)
        return chosen

    yield create
    for name in created:
        kubectl("delete", "namespace", name, "--wait=false")
        kubectl(
            "delete", "persistentvolume", "--selector", f"{NAMESPACE_LABEL}={name}", "--wait=false"
        )


# --- what a tree needs from the cluster before it can run ---------------------------------


def _stateful_sets(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in objects if item.get("kind") == "StatefulSet"]


def persistent_volumes(namespace: str, objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One hostPath PersistentVolume per claim the StatefulSets in ``objects`` will make
    (``<template>-<statefulset>-<ordinal>``), bound in advance to it: no provisioner runs, and
    pre-binding keeps tests from taking each other's volumes."""
    volumes = []
    for stateful_set in _stateful_sets(objects):
        name, spec = stateful_set["metadata"]["name"], stateful_set["spec"]
        for template in spec.get("volumeClaimTemplates") or []:
            claim_spec = template["spec"]
            for ordinal in range(spec.get("replicas", 1)):
                claim = f"{template['metadata']['name']}-{name}-{ordinal}"
                volume = f"{namespace}-{claim}"
                volumes.append(
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolume",
                        "metadata": {"name": volume, "labels": {NAMESPACE_LABEL: namespace}},
                        "spec": {
                            "capacity": {"storage": claim_spec["resources"]["requests"]["storage"]},
                            "accessModes": claim_spec["accessModes"],
                            "storageClassName": claim_spec.get("storageClassName", ""),
                            "persistentVolumeReclaimPolicy": "Retain",
                            # Never touched: kwok runs no containers.
                            "hostPath": {"path": f"/nonexistent/{volume}"},
                            "claimRef": {"namespace": namespace, "name": claim},
                        },
                    }
                )
    return volumes


def _secret_references(pod_spec: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """(Secret name, keys) for every Secret a pod template mounts or reads."""
    for volume in pod_spec.get("volumes") or []:
        sources = [volume, *((volume.get("projected") or {}).get("sources") or [])]
        for source in sources:
            secret = source.get("secret")
            if secret:
                name = secret.get("secretName") or secret.get("name")
                yield name, [item["key"] for item in secret.get("items") or []]
    for container in (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or []):
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if reference:
                yield reference["name"], [reference["key"]]


def user_secrets(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Secrets a user creates before applying (admin password, keystore password): every
    Secret the pod templates use that no cert-manager Certificate in ``objects`` issues, with
    the keys they read."""
    items = list(objects)
    issued = {item["spec"]["secretName"] for item in items if item.get("kind") == "Certificate"}
    keys: dict[str, set[str]] = {}
    for stateful_set in _stateful_sets(items):
        for name, wanted in _secret_references(stateful_set["spec"]["template"]["spec"]):
            if name not in issued:
                keys.setdefault(name, set()).update(wanted or ["password"])
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "type": "Opaque",
            "stringData": {key: secrets.token_hex(12) for key in sorted(wanted)},
        }
        for name, wanted in sorted(keys.items())
    ]


def prepare_namespace(kubectl: Kubectl, namespace: str, objects: list[dict[str, Any]]) -> None:
    """Create what ``objects`` need from the cluster in ``namespace``: the user's Secrets and a
    volume for every claim."""
    needed = user_secrets(objects)
    if needed:
        kubectl.apply_objects(needed, namespace=namespace)
    volumes = persistent_volumes(namespace, objects)
    if volumes:
        kubectl.apply_objects(volumes)
