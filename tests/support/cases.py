"""The stacks the suite runs every target on: the golden cases, ``tests/golden/<case>/``.

Every test that wants "each architecture, with and without its pair" takes its cases from here,
so a new golden case reaches all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = tuple(sorted(path.name for path in GOLDEN.iterdir() if (path / "stack.yaml").is_file()))


def stack_file(case: str) -> Path:
    return GOLDEN / case / "stack.yaml"


def stack_data(case: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(stack_file(case).read_text(encoding="utf-8"))
    return data


def expected(case: str, part: str) -> Path:
    """The golden directory of one part of a case's output (a target, ``dry-run``, ...)."""
    return GOLDEN / case / "expected" / part


def shapes() -> dict[str, tuple[str, str | None]]:
    """(architecture, redundant role) of each golden case of the plain transport, by case:
    every architecture, with and without its pair."""
    found: dict[str, tuple[str, str | None]] = {}
    for case in CASES:
        data = stack_data(case)
        shape = (data["architecture"], data.get("redundant"))
        if data.get("transport", "plain") == "plain" and shape not in found.values():
            found[case] = shape
    return found


# The cases of `transport: ssl` (certificates, cert-manager's custom resources).
SSL_CASES = tuple(case for case in CASES if stack_data(case).get("transport") == "ssl")
