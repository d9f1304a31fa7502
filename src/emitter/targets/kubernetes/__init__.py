"""Kubernetes target: a kustomize base of StatefulSets whose init containers seed each
gateway's data volume, with the master and backup of a pair as two StatefulSets.

``NAME`` and ``emit`` load the emitter (and the Kubernetes client's models) on first use, so
``validate``, which imports only ``emitter.targets.kubernetes.validation``, never pays for them.
"""

import importlib.util
import sys
from typing import Any

__all__ = ["NAME", "emit"]

from emitter.extras import require


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


# Before any module of this package imports the models (cheap: nothing is executed).
_import_models_without_the_client()


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Before the emitter imports the client's models: without the extra, say which to install.
    # (``validate`` imports only the validation package, which asks for what it needs itself.)
    require("kubernetes", "the Kubernetes target")
    from emitter.targets.kubernetes import manifest

    return getattr(manifest, name)
