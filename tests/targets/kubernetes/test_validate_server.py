"""``validate --server``: a server-side dry run on the current kubeconfig context.

Against the real API server of ``tests/engines/kubernetes.py`` (cert-manager's CRDs installed,
namespaces under Pod Security ``restricted``): a golden SSL tree is accepted and nothing is
persisted; what the server refuses (a namespace that does not exist, a change to an immutable
StatefulSet field of a running tree) fails the file with the server's message; what it warns
about (Pod Security) is a warning that ``--strict`` fails. Without kubectl, a context or an
answering cluster, ``--server`` is a usage error with a code and a hint, before any output.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from emitter.yamlio import dump_yaml

from ...engines.kubernetes import Kubectl
from ...support import cert_manager
from ...support.validate_cli import Run, valid_manifests, validate
from ...support.validators import require_tool
from .test_cluster import REFUSED, apply_tree, golden_files, write_tree

NewNamespace = Callable[..., str]
SSL_CASE = "scale-out-redundant-ssl"


def validate_on(kubectl: Kubectl, *args: str | Path) -> Run:
    """``validate --server`` with the test cluster as the current context."""
    return validate(
        "--server",
        *args,
        env={"KUBECONFIG": str(kubectl.kubeconfig), "KUBECACHEDIR": str(kubectl.cache)},
    )


def stateful_set_file(tree: Path) -> Path:
    return next(path for path in sorted(tree.glob("*.yaml")) if "_statefulset_" in path.name)


# --- on a real API server ------------------------------------------------------------------


@pytest.mark.engine
def test_a_golden_ssl_tree_is_accepted_and_nothing_persisted(
    kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    namespace = new_namespace()
    tree = write_tree(golden_files(SSL_CASE), tmp_path / "kubernetes", namespace)
    objects = len(list(tree.glob("*.yaml"))) - 1  # all but the kustomization
    run = validate_on(kubectl, tree, "--strict", "--crd", cert_manager.CRDS)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert (
        f"server dry-run on context 'test' (Kubernetes v1.34.2): {objects} objects accepted"
        in run.stdout
    )
    assert "warning" not in run.stdout
    listed = kubectl.json("get", "statefulsets,certificates,issuers", namespace=namespace)
    assert listed["items"] == []  # a dry run persists nothing


@pytest.mark.engine
def test_a_namespace_that_does_not_exist_is_refused(kubectl: Kubectl, tmp_path: Path) -> None:
    tree = write_tree(golden_files("basic"), tmp_path / "kubernetes", "nowhere-to-be-found")
    run = validate_on(kubectl, tree)
    assert run.exit_code == 1, run.stdout + run.stderr
    line = run.line("kustomization.yaml")
    assert "FAIL: server dry-run (context test): Error from server (NotFound)" in line
    assert 'namespaces "nowhere-to-be-found" not found' in run.stdout
    assert "): FAIL: 1 of 1 applies refused" in run.stdout
    assert "validation failed: 1 of" in run.stderr


@pytest.mark.engine
def test_a_change_to_an_immutable_field_of_a_running_tree_is_refused(
    kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    """What ``emit --check`` calls out as impossible to apply in place, the dry run proves."""
    namespace = new_namespace()
    tree = write_tree(golden_files("scale-out-redundant"), tmp_path / "kubernetes", namespace)
    applied = apply_tree(kubectl, tree)
    assert applied.returncode == 0, applied.stderr
    assert validate_on(kubectl, tree).exit_code == 0  # unchanged: accepted

    path = stateful_set_file(tree)
    document = yaml.safe_load(path.read_text())
    claim = document["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
    claim["storage"] = "7Gi"
    path.write_text(dump_yaml(document))  # quotes `Y`, which Kubernetes reads as a boolean
    run = validate_on(kubectl, tree)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert path.name in run.line(path.name) and ": ok" in run.line(path.name)  # schema-valid
    assert "FAIL: server dry-run (context test):" in run.line("kustomization.yaml")
    assert REFUSED in run.stdout


@pytest.mark.engine
def test_a_pod_security_warning_is_a_warning_and_fails_strict(
    kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    namespace = new_namespace()
    files = golden_files("basic")
    name = next(path for path in files if "_statefulset_" in path)
    document = yaml.safe_load(files[name])
    del document["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]
    files[name] = dump_yaml(document)
    tree = write_tree(files, tmp_path / "kubernetes", namespace)

    run = validate_on(kubectl, tree)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert 'warning: server dry-run (context test): would violate PodSecurity "restricted' in (
        run.stdout
    )
    strict = validate_on(kubectl, tree, "--strict")
    assert strict.exit_code == 1
    assert "files with warnings" in strict.stderr


# --- without a cluster ---------------------------------------------------------------------


def _kubeconfig(path: Path, server: str | None) -> Path:
    config: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server or "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    }
    if server is not None:
        config["current-context"] = "ctx"
    path.write_text(yaml.safe_dump(config))
    return path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port  # closed again when the block ends: nothing listens there


def _check_refusal(run: Run, code: str, hint: str) -> None:
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.stdout == ""  # refused before any file was checked
    assert f"error {code} " in run.stderr
    assert f"  hint: {hint}" in run.stderr


def test_without_kubectl(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    run = validate(valid_manifests(tmp_path / "tree"), "--server", env={"PATH": str(empty)})
    _check_refusal(run, "IS301", "install kubectl")


def test_without_a_current_context(tmp_path: Path) -> None:
    require_tool("kubectl")
    kubeconfig = _kubeconfig(tmp_path / "config", None)
    run = validate(
        valid_manifests(tmp_path / "tree"), "--server", env={"KUBECONFIG": str(kubeconfig)}
    )
    _check_refusal(run, "IS302", "create the cluster first")
    assert "current-context is not set" in run.stderr


def test_with_a_cluster_that_does_not_answer(tmp_path: Path) -> None:
    require_tool("kubectl")
    port = _closed_port()
    kubeconfig = _kubeconfig(tmp_path / "config", f"https://127.0.0.1:{port}")
    run = validate(
        valid_manifests(tmp_path / "tree"),
        "--server",
        env={"KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(tmp_path / "cache")},
    )
    _check_refusal(run, "IS303", "start the cluster")
    assert "context 'ctx' does not answer" in run.stderr
    assert f"127.0.0.1:{port} was refused" in run.stderr
