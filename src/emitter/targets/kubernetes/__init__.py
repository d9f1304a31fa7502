"""Kubernetes target: a kustomize base of StatefulSets whose init containers seed each
gateway's data volume, with the master and backup of a pair as two StatefulSets."""

import importlib.util
import sys

from emitter.extras import require

# Before anything imports the client's models: without the extra, say which one to install.
require("kubernetes", "the Kubernetes target")


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


_import_models_without_the_client()

from emitter.targets.kubernetes.manifest import NAME, emit  # noqa: E402 - after the import hook above

__all__ = ["NAME", "emit"]
