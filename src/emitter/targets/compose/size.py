"""How big a Compose stack may grow before one Docker host is the wrong place for it.

Compose runs every gateway on one host: each is a JVM with its own memory (``memory_mb``), a
one-shot bootstrap service and a published host port. Past a few dozen gateways that host
needs more memory than a machine usually has, and a Kubernetes cluster (one StatefulSet per
replicated tier) is the target that scales; the warning says why and suggests it.
"""

from __future__ import annotations

from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import Diagnostic, warning
from emitter.ir import Stack

# 50 gateways at the default 2 GiB each is 100 GiB of memory on one host.
MAX_COMPOSE_GATEWAYS = 50


def size_warnings(stack: Stack) -> tuple[Diagnostic, ...]:
    count = len(stack.gateways)
    if count <= MAX_COMPOSE_GATEWAYS:
        return ()
    memory_gib = sum(gateway.memory_mb for gateway in stack.gateways) / 1024
    ports = sorted(gateway.http_port for gateway in stack.gateways)
    option = ARCHITECTURES[stack.architecture].replica_option
    return (
        warning(
            "IS203",
            option or "gateways",
            f"{count} gateways ({2 * count} Compose services with their bootstrap one-shots) "
            f"is more than one Docker host runs sensibly (above {MAX_COMPOSE_GATEWAYS}): Compose "
            f"starts them all on this host, needing {memory_gib:,.0f} GiB of memory together "
            f"and host ports {ports[0]}-{ports[-1]}",
            "generate Kubernetes instead (`--target k8s`; `ignition-stack emit --target k8s` "
            "for an existing project), where a replicated tier is one StatefulSet spread over "
            "the cluster's nodes",
        ),
    )
