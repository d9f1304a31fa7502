"""The JSON target, read back."""

from __future__ import annotations

import json
from typing import Any

from emitter.ir import Stack
from tests.targets.views import node, pairing


def view(files: dict[str, str], _: Stack) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for text in files.values():
        gateway = json.loads(text)
        found[gateway["name"]] = node(
            gateway["environment"], gateway["system_name"], pairing(gateway["pairing"])
        )
    return found
