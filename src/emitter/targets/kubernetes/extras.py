"""Optional parts of the install: the Kubernetes target lives in the ``kubernetes`` extra.

A Compose-only user installs ``ignition-stack-emitter`` alone; the Kubernetes client and the
bundled Kubernetes schemas (257 MB installed) come with ``ignition-stack-emitter[kubernetes]``.
Whatever needs them asks here first, so a missing extra is one clear message, not an
ImportError.
"""

from __future__ import annotations

import importlib.util

from emitter.diagnostics import EmitterError

KUBERNETES_EXTRA = "ignition-stack-emitter[kubernetes]"


class MissingExtra(EmitterError):
    """A target or check needs an optional dependency that is not installed (exit 1)."""


def require(module: str, purpose: str) -> None:
    """Raise ``MissingExtra`` unless ``module`` (from the kubernetes extra) is importable."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f"{purpose} needs the Kubernetes extra, which is not installed (no `{module}` "
            f"module): python -m pip install '{KUBERNETES_EXTRA}'"
        )
