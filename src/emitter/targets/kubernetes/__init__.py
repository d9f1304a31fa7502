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
from emitter.targets.registry import NameLimits, Target, ValidateFlag, lazy, stack_options

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
)
