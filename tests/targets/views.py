"""What every target says about the gateways, in one shape, so the targets can be compared.

Each target has a view, ``tests/targets/<name>/view.py``, with ``view(files, stack)``: its
emitted files read back into, per gateway, the Gateway Network links, the system name, the
edition and the four pairing keys. The views are found by the registry's names, so a target
registered without one fails the suite.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from emitter.ir import Stack

View = Callable[[dict[str, str], Stack], dict[str, Any]]
PAIRING_KEYS = (
    "redundancy.noderole",
    "redundancy.gan.host",
    "redundancy.gan.port",
    "redundancy.gan.enableSsl",
)


def view_of(target: str) -> View:
    module = importlib.import_module(f"tests.targets.{target}.view")
    found: View = module.view
    return found


def properties(text: str) -> dict[str, str]:
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(text)
    return {entry.attrib["key"]: entry.text or "" for entry in root.iter("entry")}


def links(environment: dict[str, str]) -> list[tuple[str, str, str]]:
    found = []
    index = 0
    while f"GATEWAY_NETWORK_{index}_HOST" in environment:
        found.append(
            (
                environment[f"GATEWAY_NETWORK_{index}_HOST"],
                environment[f"GATEWAY_NETWORK_{index}_PORT"],
                environment[f"GATEWAY_NETWORK_{index}_ENABLESSL"],
            )
        )
        index += 1
    return found


def pairing(keys: dict[str, str] | None) -> tuple[str, ...] | None:
    """The four pairing keys, in order (None: not in a pair)."""
    if not keys:
        return None
    return tuple(keys[key] for key in PAIRING_KEYS)


def redundancy_pairing(redundancy_xml: str | None) -> tuple[str, ...] | None:
    return pairing(properties(redundancy_xml)) if redundancy_xml is not None else None


def node(
    environment: dict[str, str], system_name: str, keys: tuple[str, ...] | None
) -> dict[str, Any]:
    """One gateway as every view shows it."""
    return {
        "links": links(environment),
        "system_name": system_name,
        "edition": environment["IGNITION_EDITION"],
        "pairing": keys,
    }
