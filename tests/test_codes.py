"""The diagnostic codes: one table, the README's copy of it, and codes never reused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emitter.codes import CODES, RETIRED, Code, Severity, table
from emitter.diagnostics import error, warning

ROOT = Path(__file__).parent.parent
CODE = re.compile(r"\bIS\d{3}\b")


def readme_table() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Diagnostics", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| IS")]
    found = []
    for row in rows:
        code, severity, summary = (cell.strip() for cell in row.strip("|").split(" | ", 2))
        found.append((code, severity, summary))
    return found


def test_the_readme_table_is_the_codes_table() -> None:
    expected = [(c.code, str(c.severity), c.summary) for c in CODES.values()]
    assert readme_table() == expected


def test_every_code_the_source_uses_is_listed_and_every_listed_code_is_used() -> None:
    used: set[str] = set()
    for path in (ROOT / "src" / "emitter").rglob("*.py"):
        if path.name != "codes.py":
            used |= set(CODE.findall(path.read_text(encoding="utf-8")))
    assert used <= set(CODES), f"codes used but not listed: {sorted(used - set(CODES))}"
    assert set(CODES) <= used, f"codes listed but never raised: {sorted(set(CODES) - used)}"
    assert not used & set(RETIRED), "a retired code is in use again"


def test_codes_are_numbered_by_severity() -> None:
    for entry in CODES.values():
        expected = Severity.WARNING if entry.code.startswith("IS2") else Severity.ERROR
        assert entry.severity is expected, entry


def test_a_retired_or_repeated_code_is_refused() -> None:
    retired = next(iter(RETIRED))
    with pytest.raises(ValueError, match="retired"):
        table(Code(retired, Severity.ERROR, "a new problem under an old number"))
    with pytest.raises(ValueError, match="twice"):
        table(Code("IS900", Severity.ERROR, "one"), Code("IS900", Severity.ERROR, "two"))


def test_a_diagnostic_needs_a_listed_code_of_its_severity() -> None:
    assert error("IS101", "redundant", "x").code == "IS101"
    with pytest.raises(ValueError, match="IS999"):
        error("IS999", "", "an unlisted code")
    with pytest.raises(ValueError, match="IS201"):
        error("IS201", "", "a warning's code as an error")
    with pytest.raises(ValueError, match="IS101"):
        warning("IS101", "", "an error's code as a warning")
