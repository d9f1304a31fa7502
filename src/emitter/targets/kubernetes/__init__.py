"""Kubernetes target: a kustomize base of StatefulSets whose init containers seed each
gateway's data volume, with the master and backup of a pair as two StatefulSets.

``TARGET`` is its record; ``NAME`` and ``emit`` load the emitter (and the Kubernetes client's
models) on first use, so ``validate``, which imports only
``emitter.targets.kubernetes.validation``, never pays for them.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from emitter.targets.kubernetes.extras import require
from emitter.targets.kubernetes.names import (
    ACTIVE_SUFFIX,
    HEADLESS_SUFFIX,
    MAX_GATEWAY_NAME,
    POD_INDEX,
    POD_NAME,
)
from emitter.targets.registry import (
    NameLimits,
    PinnedFiles,
    Refusal,
    Target,
    ValidateFlag,
    lazy,
    stack_options,
)

if TYPE_CHECKING:
    from emitter.ir import Stack
    from emitter.targets.registry import Emission

__all__ = ["NAME", "TARGET", "emit"]


def _import_models_without_the_client() -> None:
    """Let ``kubernetes.client.models`` import without running ``kubernetes/__init__.py``.

    That ``__init__`` imports the API clients, kubeconfig loaders and watch/stream helpers
    (with urllib3, requests and oauthlib): over 100 ms of every ``--target k8s`` run, for
    code the emitter never calls; it only builds model objects. The package is registered
    unexecuted, so its sub-packages import as usual. Nothing changes when something has
    already imported ``kubernetes`` the ordinary way.
    """
    if "kubernetes" in sys.modules:
        return
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.submodule_search_locations is None:
        return
    sys.modules["kubernetes"] = importlib.util.module_from_spec(spec)


def __getattr__(name: str) -> Any:
    if name not in ("NAME", "emit"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Before the emitter imports the client's models: without the extra, say which to install.
    # (``validate`` imports only the validation package, which asks for what it needs itself.)
    require("kubernetes", "the Kubernetes target")
    # Only now: the registry loads this package for every command, and nothing but the
    # emitter should find ``kubernetes`` registered unexecuted.
    _import_models_without_the_client()
    from emitter.targets.kubernetes import manifest

    return getattr(manifest, name)


def _emit(stack: Stack, options: Any) -> Emission:
    emit: Any = __getattr__("emit")
    result: Emission = emit(stack, options)
    return result


def _downloads_blocked(options: Any) -> bool:
    """The gateways' egress NetworkPolicy lets a pod reach DNS and the stack's links only,
    unless ``kubernetes.egress_cidrs`` / ``egress_namespaces`` name more."""
    return not (options.egress_cidrs or options.egress_namespaces)


_EGRESS_HINT = (
    "add the {server} server's address range to `kubernetes.egress_cidrs` (e.g. "
    "`kubernetes: {{egress_cidrs: [203.0.113.0/24]}}`), or serve the {files} from inside "
    "the cluster and list its namespace in `kubernetes.egress_namespaces`"
)
_BLOCKED = (
    "egress NetworkPolicy allows only DNS and the stack's Gateway Network links: the "
    "download fails and the pod stays in Init"
)
# A pod cannot mount a repository file (a ConfigMap holds at most 1 MiB): both features
# download theirs in the pod's init container, under the gateways' egress policy.
PINNED_FILES = PinnedFiles(
    refuses_path={
        "modules": Refusal(
            "module {name} comes from the repository (`path`), which a Kubernetes pod cannot "
            "mount (a ConfigMap holds at most 1 MiB)",
            "publish the .modl where the cluster can download it over https and give its "
            "`url` (with the same sha256) instead of `path`",
        ),
        "restore": Refusal(
            "the restore has no `url`: a repository file cannot reach a Kubernetes pod (a "
            "ConfigMap holds at most 1 MiB; a gateway backup is larger)",
            "publish the backup at an https URL the cluster reaches and give it as `url` "
            "(allow its address in `kubernetes.egress_cidrs`), pinned by the same `sha256`",
        ),
    },
    downloads_blocked=_downloads_blocked,
    blocked_download={
        "modules": Refusal(
            "the gateways of role {role} download their modules over https when they start, "
            "but their " + _BLOCKED,
            _EGRESS_HINT.format(server="module", files="modules"),
        ),
        "restore": Refusal(
            "gateway {gateway} downloads its backup (`restore.url`) over https on its first "
            "start, but its " + _BLOCKED,
            _EGRESS_HINT.format(server="backup", files="backup"),
        ),
    },
)

TARGET = Target(
    name="kubernetes",
    title="Kubernetes",
    description="a kustomize base and overlays",
    emit=_emit,
    aliases=("k8s",),
    options=stack_options("emitter.targets.kubernetes.options", key="kubernetes", order=0),
    drift_notes=lazy("emitter.targets.kubernetes.drift:drift_notes"),
    project_files=lazy("emitter.targets.kubernetes.overlays:overlay_files"),
    post_setup=lazy("emitter.targets.kubernetes.guide:section"),
    pair_access=lazy("emitter.targets.kubernetes.guide:pair_access"),
    ci_steps=lazy("emitter.targets.kubernetes.ci:steps"),
    ci_validate_step=lazy("emitter.targets.kubernetes.ci:validate_step"),
    extra="kubernetes",
    validator=lazy("emitter.targets.kubernetes.validation:validator"),
    validate_flags=(
        ValidateFlag("kubernetes_version", "Kubernetes version to validate against (X.Y)."),
        ValidateFlag(
            "crd",
            "CustomResourceDefinitions (e.g. cert-manager's) to validate custom resources "
            "against; repeatable.",
            kind="paths",
            metavar="FILE|DIR",
        ),
        ValidateFlag(
            "server",
            "Also dry-run the Kubernetes files on the cluster of the current kubeconfig "
            "context (kubectl apply --dry-run=server).",
            kind="switch",
        ),
    ),
    limits=NameLimits(
        max_gateway_name=MAX_GATEWAY_NAME,
        letter_first="they name Kubernetes Services",
        suffixes=(HEADLESS_SUFFIX, ACTIVE_SUFFIX),
        variables=frozenset({POD_INDEX, POD_NAME}),
    ),
    pinned_files=PINNED_FILES,
)
