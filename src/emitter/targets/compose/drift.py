"""What a reviewer must know about a change of the Compose project beyond its diff.

``docker compose up -d`` recreates every service whose definition changed, all at the same
moment: a change to both nodes of a pair (a new image, a setting) takes the whole pair down at
once. POST-SETUP.md's "Upgrade the pair" section rolls it backup first instead.
"""

from __future__ import annotations

from typing import Any

import yaml

from emitter.targets.compose.project import (
    COMPONENT_LABEL,
    COMPOSE_FILE,
    GATEWAY_COMPONENT,
    REDUNDANCY_LABEL,
)


def drift_notes(path: str, before: str | None, after: str | None) -> list[str]:
    if path != COMPOSE_FILE or before is None or after is None:
        return []
    old, new = _services(before), _services(after)
    recreated = [
        name
        for name, service in new.items()
        if _is_pair_gateway(service) and name in old and old[name] != service
    ]
    if not recreated:
        return []
    return [
        f"{path}: changes {', '.join(sorted(recreated))}: `docker compose up -d` would recreate "
        "these pair members at the same moment; roll each pair backup first as POST-SETUP.md, "
        "'Upgrade the pair', shows"
    ]


def _is_pair_gateway(service: Any) -> bool:
    labels = service.get("labels") if isinstance(service, dict) else None
    return (
        isinstance(labels, dict)
        and REDUNDANCY_LABEL in labels
        and labels.get(COMPONENT_LABEL) == GATEWAY_COMPONENT
    )


def _services(text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    services = document.get("services") if isinstance(document, dict) else None
    return services if isinstance(services, dict) else {}
