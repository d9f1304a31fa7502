"""The JSON target: ``gateways/<name>.json`` per gateway, with its environment and pairing keys."""

from __future__ import annotations

import json
from typing import Any

from emitter import image
from emitter.ir import Stack
from emitter.targets.registry import Emission, NameLimits, Target


def emit(stack: Stack, _: Any) -> Emission:
    files = {
        f"gateways/{gateway.name}.json": json.dumps(
            {
                "name": gateway.name,
                "system_name": gateway.system_name,
                "environment": image.environment(stack, gateway),
                "pairing": image.pairing_keys(gateway) or None,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
        for gateway in stack.gateways
    }
    return Emission(files=dict(sorted(files.items())))


def drift_notes(path: str, before: str | None, after: str | None) -> list[str]:
    """A gateway whose file goes away is no longer described anywhere."""
    if before is not None and after is None and path.startswith("gateways/"):
        return [f"{path}: the gateway leaves the stack"]
    return []


TARGET = Target(
    name="json",
    title="JSON",
    description="one JSON file per gateway (the test suite's own target)",
    emit=emit,
    aliases=("js",),
    drift_notes=drift_notes,
    limits=NameLimits(suffixes=("-json",)),
)
