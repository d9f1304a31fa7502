"""``validate --server``: a server-side dry run against the cluster of the current kubeconfig
context (``kubectl apply --dry-run=server``), for CI that has a cluster (kind, k3d).

The API server does everything a real apply does except persist: admission (Pod Security,
quotas, webhooks), field validation against the CRDs really installed there, and, for objects
that already exist, the checks of an update (immutable fields). A kustomization is applied as
a whole (``-k``), as Argo CD / Flux apply it; a manifest outside every kustomization on its own
(``-f``). What the server refuses is a failure of the file, what it warns about a warning.

A missing kubectl (IS301), no current context (IS302) or a cluster that does not answer (IS303)
is a usage error (exit 2) before anything is checked: the dry run could not run, which is
neither a pass nor a failure of the files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from emitter.diagnostics import UsageError, error
from emitter.targets.kubernetes.validation.kustomize import KUSTOMIZATION_NAMES
from emitter.targets.kubernetes.validation.objects import KubernetesReport

REQUEST_TIMEOUT = "60s"
KUBECTL_TIMEOUT = 300
_DRY_RUN_SUFFIX = "(server dry run)"


@dataclass(frozen=True)
class Cluster:
    kubectl: str
    context: str
    server_version: str


def _kubectl(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 1, "", f"no answer in {KUBECTL_TIMEOUT}s")
    except OSError as exc:
        return subprocess.CompletedProcess(argv, 1, "", str(exc))


def _refuse(code: str, message: str, hint: str) -> UsageError:
    return UsageError(message, [error(code, "", message, hint)])


def connect() -> Cluster:
    """kubectl, its current context, and the cluster's version; a usage error when any is
    missing."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise _refuse(
            "IS301",
            "validate --server needs kubectl, and it is not on PATH",
            "install kubectl (https://kubernetes.io/docs/tasks/tools/), or leave out --server",
        )
    current = _kubectl([kubectl, "config", "current-context"])
    context = current.stdout.strip()
    if current.returncode != 0 or not context:
        raise _refuse(
            "IS302",
            "validate --server needs a current kubeconfig context, and there is none"
            f" ({(current.stderr.strip() or 'empty').splitlines()[-1]})",
            "create the cluster first (`kind create cluster` and `k3d cluster create` set the "
            "context), or `kubectl config use-context NAME`; KUBECONFIG chooses the file",
        )
    version = _kubectl(
        [kubectl, "version", "--output", "json", f"--request-timeout={REQUEST_TIMEOUT}"]
    )
    try:
        server = json.loads(version.stdout)["serverVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        said = (version.stderr.strip() or "no answer").splitlines()[-1]
        raise _refuse(
            "IS303",
            f"the cluster of kubeconfig context {context!r} does not answer: {said}",
            "start the cluster (or `kubectl config use-context` one that runs), or leave out "
            "--server",
        ) from None
    return Cluster(kubectl, context, str(server))


def _targets(reports: list[KubernetesReport]) -> list[tuple[KubernetesReport, list[str]]]:
    """(report, kubectl apply arguments): each kustomization as a whole, each manifest outside
    every kustomization's directory on its own."""
    kustomizations = [
        report
        for report in reports
        if report.path.name in KUSTOMIZATION_NAMES and not report.failures
    ]
    directories = [report.path.parent.resolve() for report in kustomizations]
    targets = [(report, ["--kustomize", str(report.path.parent)]) for report in kustomizations]
    for report in reports:
        if report.path.name in KUSTOMIZATION_NAMES or not report.is_kubernetes or report.failures:
            continue
        where = report.path.resolve()
        if any(directory in where.parents for directory in directories):
            continue
        targets.append((report, ["--filename", str(report.path)]))
    return targets


def _apply(cluster: Cluster, report: KubernetesReport, what: list[str]) -> int:
    """Dry-run one kustomization or file; what the server says lands in ``report``. Returns
    how many objects it accepted."""
    run = _kubectl(
        [
            cluster.kubectl,
            "apply",
            "--dry-run=server",
            f"--request-timeout={REQUEST_TIMEOUT}",
            *what,
        ]
    )
    accepted = sum(1 for line in run.stdout.splitlines() if line.endswith(_DRY_RUN_SUFFIX))
    prefix = f"server dry-run (context {cluster.context})"
    for line in run.stderr.splitlines():
        text = line.strip()
        if text.startswith("Warning:"):
            report.warnings.append(f"{prefix}: {text.removeprefix('Warning:').strip()}")
        elif text:
            report.failures.append(f"{prefix}: {text}")
    if run.returncode != 0 and not report.failures:
        report.failures.append(f"{prefix}: kubectl apply exited with {run.returncode}")
    return accepted


def dry_run(cluster: Cluster, reports: list[KubernetesReport]) -> str:
    """Dry-run every kustomization and loose manifest; returns the summary line."""
    name = f"server dry-run on context {cluster.context!r} (Kubernetes {cluster.server_version})"
    targets = _targets(reports)
    if not targets:
        return f"{name}: nothing to apply"
    accepted = 0
    refused = 0
    for report, what in targets:
        before = len(report.failures)
        accepted += _apply(cluster, report, what)
        refused += len(report.failures) > before
    if refused:
        return f"{name}: FAIL: {refused} of {len(targets)} applies refused, {accepted} objects accepted"
    return f"{name}: {accepted} objects accepted"
