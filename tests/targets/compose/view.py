"""The Compose project, read back: every gateway service (bootstrap and PKI services left out)."""

from __future__ import annotations

from typing import Any

import yaml

from emitter.ir import Stack
from tests.targets.views import node, redundancy_pairing


def view(files: dict[str, str], _: Stack) -> dict[str, Any]:
    services = yaml.safe_load(files["compose.yaml"])["services"]
    found: dict[str, Any] = {}
    for name, service in services.items():
        if service["labels"]["io.ignition-stack.component"] != "gateway":
            continue
        redundancy = files.get(f"gateways/{name}/redundancy.xml")
        found[name] = node(
            service["environment"], service["command"][1], redundancy_pairing(redundancy)
        )
    return found
