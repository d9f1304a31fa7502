"""Names the Kubernetes target derives: the headless Service of a StatefulSet and a pair's
Service of its active node (its record reserves the suffixes, so no gateway is named like one),
and the environments ``create`` scaffolds an overlay for, with the namespace each deploys into.
POST-SETUP.md's commands use the same function, so they name the namespace the overlay really
sets (and creates)."""

from __future__ import annotations

HEADLESS_SUFFIX = "-headless"
# A pair's Service of its active node (``active.py``): ``<master>-active``.
ACTIVE_SUFFIX = "-active"
# A StatefulSet's pods carry a controller-revision-hash label "<name>-<10 chars>", which must
# fit in 63 characters; 52 is the longest gateway name Kubernetes accepts everywhere.
MAX_GATEWAY_NAME = 52
# Variables a gateway container gets from the downward API (the record reserves them).
POD_NAME = "POD_NAME"
POD_INDEX = "POD_INDEX"

ENVIRONMENTS = ("dev", "production")
PRODUCTION = "production"


def overlay_namespace(stack: str, environment: str) -> str:
    """``<stack>`` for production (the base's own namespace), ``<stack>-<environment>`` else."""
    return stack if environment == PRODUCTION else f"{stack}-{environment}"
