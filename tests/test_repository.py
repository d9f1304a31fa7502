"""The repository itself: README commands, CI entry point, and the committed reference output."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[str]:
    first_block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert first_block, "the README starts with a sh block of set-up commands"
    return [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_the_two_setup_commands() -> None:
    install, test = readme_commands()
    assert (
        "pip install ." in install
        and "ignition-stack create demo" in install
        and "--redundant" in install
    )
    assert (
        "pip install -e '.[test]'" in test and "tests/tools/install.sh" in test and "pytest" in test
    )


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    _, test = readme_commands()
    assert test in ci.splitlines(), ".ci/run must call the README's test command unchanged"
    assert "IGNITION_STACK_REQUIRE_TOOLS=1" in ci
