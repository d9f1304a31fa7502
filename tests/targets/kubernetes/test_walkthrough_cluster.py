"""The Kubernetes walkthroughs, run verbatim against a real API server.

The deploy blocks of a created project's POST-SETUP.md (and the README's Kubernetes example)
are run command by command from the directory they are written for, with only the password
the user would choose filled in, against ``tests/engines/kubernetes.py``'s control plane. The
last command, the watch, must then show every gateway pod of the overlay Running, in the
namespace the walkthrough watches. The only help the test gives is what a real cluster has of
its own: a volume for each claim (no provisioner runs here).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ...conftest import Result
from ...engines.kubernetes import NAMESPACE_LABEL, Kubectl, persistent_volumes
from ...support import walkthrough
from ...support.validators import kustomize_build

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "placeholder-secret-value"
TIMEOUT = 240.0  # generous: a loaded 2-core machine slows every controller

# (create flags, deploy block): the first block deploys dev, the second production. Stack names
# differ from the other cluster tests': a namespace being deleted cannot be created again.
SHAPES = {
    "basic": ("--arch", "basic", "--redundant", "none"),
    "scale-out-redundant": ("--arch", "scale-out", "--redundant", "backend", "--frontends", "2"),
    "hub-and-spoke-redundant-ssl": (
        *("--arch", "hub-and-spoke", "--redundant", "hub", "--spokes", "2"),
        *("--transport", "ssl"),
    ),
}
RUNS = {
    "basic-production": ("basic", 1),
    "scale-out-redundant-dev": ("scale-out-redundant", 0),
    "hub-and-spoke-redundant-ssl-dev": ("hub-and-spoke-redundant-ssl", 0),
    "hub-and-spoke-redundant-ssl-production": ("hub-and-spoke-redundant-ssl", 1),
}


def shell_environment(kubectl: Kubectl) -> dict[str, str]:
    """The user's shell, pointed at the test cluster: kubectl finds it through KUBECONFIG."""
    return dict(
        os.environ,
        KUBECONFIG=str(kubectl.kubeconfig),
        KUBECACHEDIR=str(kubectl.cache),
        PATH=f"{Path(kubectl.binary).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )


def is_watch(command: walkthrough.Command) -> bool:
    return command.argv[:1] == ("kubectl",) and "get" in command.argv and "-w" in command.argv


def expected_pods(objects: list[dict[str, Any]]) -> set[str]:
    return {
        f"{item['metadata']['name']}-{ordinal}"
        for item in objects
        if item["kind"] == "StatefulSet"
        for ordinal in range(item["spec"].get("replicas", 1))
    }


class Deployment:
    """One walkthrough block run against the cluster; remembers what to clean up."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl
        self.environment = shell_environment(kubectl)
        self.namespaces: list[str] = []  # the namespaces the applied overlays deploy into
        self.created: set[str] = set()
        self.objects: list[dict[str, Any]] = []

    def run(self, block: list[walkthrough.Command], cwd: Path) -> tuple[list[str], Path]:
        """Every command of ``block`` but the final watch, which is returned with its cwd."""
        *steps, watch = block
        assert is_watch(watch), f"the walkthrough ends with {watch.line!r}, not a watch"
        for command in steps:
            argv = walkthrough.with_placeholder(command.argv, PASSWORD)
            if argv[0] == "cd":
                cwd = cwd / argv[1]
                continue
            if command.applied_overlay:
                self._storage_for(cwd / command.applied_overlay)
            self._remember_namespaces(command, cwd)
            if argv[0] == "ignition-stack":
                argv = [sys.executable, "-m", "emitter", *argv[1:]]
            done = subprocess.run(
                argv, cwd=cwd, env=self.environment, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, f"`{command.line}` failed:\n{done.stderr}"
            if argv[0] == "kubectl":
                assert done.stderr == "", f"`{command.line}` warned:\n{done.stderr}"
        return walkthrough.with_placeholder(watch.argv, PASSWORD), cwd

    def _storage_for(self, overlay: Path) -> None:
        """What the cluster's provisioner would do: a volume for every claim of the overlay."""
        self.objects = [item for item in yaml.safe_load_all(kustomize_build(overlay)) if item]
        namespaces = {item["metadata"].get("namespace") for item in self.objects} - {None}
        assert len(namespaces) == 1, namespaces
        namespace = namespaces.pop()
        self.namespaces.append(namespace)
        self.kubectl.apply_objects(persistent_volumes(namespace, self.objects))

    def _remember_namespaces(self, command: walkthrough.Command, cwd: Path) -> None:
        """Every namespace a command may create, to delete it after the test."""
        named = [command.namespace] if command.namespace else []
        if command.argv[:3] == ("kubectl", "create", "namespace"):
            named.append(command.argv[3])
        if command.applied_file:
            document = yaml.safe_load((cwd / command.applied_file).read_text(encoding="utf-8"))
            named.append(document["metadata"]["name"])
        self.created.update(named)

    def clean_up(self) -> None:
        for namespace in sorted(self.created | set(self.namespaces)):
            self.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
            self.kubectl(
                "delete",
                "persistentvolume",
                "--selector",
                f"{NAMESPACE_LABEL}={namespace}",
                "--wait=false",
                check=False,
            )


def watch_until_running(
    argv: list[str], cwd: Path, environment: dict[str, str], pods: set[str]
) -> set[str]:
    """Run the walkthrough's watch as written until every pod in ``pods`` shows Running;
    returns the pods it showed Running."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running: set[str] = set()
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            words = line.split()
            if len(words) >= 3 and words[2] == "Running":
                running.add(words[0])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not pods <= running and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)
        assert process.stderr is not None
        errors = process.stderr.read()
        process.stderr.close()
    assert pods <= running, (
        f"`{' '.join(argv)}` never showed {sorted(pods - running)} Running:\n"
        + "".join(lines)
        + errors
    )
    return running


def check_deployed(kubectl: Kubectl, deployment: Deployment, watch: list[str], cwd: Path) -> None:
    watched = walkthrough.Command(" ".join(watch), tuple(watch)).namespace
    assert watched is not None and deployment.namespaces == [watched], (
        f"the walkthrough applies into {deployment.namespaces} and watches {watched}"
    )
    live = kubectl.json("get", "namespace", watched)["metadata"]["labels"]
    assert live.get("pod-security.kubernetes.io/enforce") == "restricted", live
    pods = expected_pods(deployment.objects)
    assert pods, "the overlay runs no gateway"
    watch_until_running(watch, cwd, deployment.environment, pods)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_post_setup_kubernetes_steps_run_verbatim(
    run: str, cli: Callable[..., Result], kubectl: Kubectl, tmp_path: Path
) -> None:
    shape, index = RUNS[run]
    name = f"walk-{shape}"
    created = cli("create", name, *SHAPES[shape], "--target", "all", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    project = tmp_path / name
    block = walkthrough.kubernetes_blocks((project / "POST-SETUP.md").read_text())[index]
    deployment = Deployment(kubectl)
    try:
        watch, cwd = deployment.run(block, project)
        check_deployed(kubectl, deployment, watch, cwd)
    finally:
        deployment.clean_up()


def test_readme_kubernetes_steps_run_verbatim(kubectl: Kubectl, tmp_path: Path) -> None:
    (block,) = walkthrough.kubernetes_blocks((ROOT / "README.md").read_text())
    deployment = Deployment(kubectl)
    try:
        watch, cwd = deployment.run(block, tmp_path)
        check_deployed(kubectl, deployment, watch, cwd)
    finally:
        deployment.clean_up()
