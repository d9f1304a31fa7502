"""Which web hosts reach a pair's active node on Kubernetes, and rule IS167.

A role's host reaches whichever node of its pair is active (``active.py``); a backup's own host
(``web.hosts.<backup>``) still reaches the backup alone. Kept apart from ``active.py``, which
builds the objects with the Kubernetes client's models: the rules run for every target, and must
not load them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from emitter.diagnostics import Diagnostic, error

if TYPE_CHECKING:
    from emitter.ir import Stack, WebRoute
    from emitter.spec import StackSpec

API_SERVER_CIDRS_PATH = "kubernetes.web.api_server_cidrs"


def active_master(stack: Stack, route: WebRoute) -> str | None:
    """The master of the pair a role's host reaches through its active node; None for any other
    host (a single gateway, a replicated tier, a backup's own host)."""
    masters = {master.name for master, _ in stack.pairs}
    if route.replicated or route.key != route.role or route.gateways[0] not in masters:
        return None
    return route.gateways[0]


def active_masters(stack: Stack) -> tuple[str, ...]:
    """The masters of every pair whose role has a host, in the order of the hosts."""
    found = (active_master(stack, route) for route in stack.web)
    return tuple(dict.fromkeys(name for name in found if name is not None))


def active_rules(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    """IS167: the markers must reach the API server through the gateways' egress policy."""
    options = getattr(spec, "kubernetes", None)
    if options is None or (spec.targets is not None and "kubernetes" not in spec.targets):
        return
    masters = active_masters(stack)
    if not masters or (options.web is not None and options.web.api_server_cidrs):
        return
    yield error(
        "IS167",
        API_SERVER_CIDRS_PATH,
        f"the host of pair {masters[0]!r} reaches its active node: a marker beside each node "
        "labels the active pod through the Kubernetes API, and the gateways' egress policy "
        "admits no API server address",
        "list the API server's addresses as CIDRs, e.g. `api_server_cidrs: [172.18.0.2/32]`: "
        "`kubectl get endpoints kubernetes -n default` shows them (a managed cluster's "
        "control-plane range may be in its provider's console)",
    )
