"""The suite's own target behaves like any other from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.cases import stack_file
from tests.targets.registered import registered

from ...conftest import Result

Cli = Callable[..., Result]


def test_emit_check_shows_the_targets_own_note(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(stack_file("basic-redundant").read_text(encoding="utf-8"))
    with registered("json"):
        assert cli("emit", str(path), "--target", "js").exit_code == 0
        path.write_text(path.read_text().replace("redundant: gateway\n", ""))
        drifted = cli("emit", str(path), "--target", "json", "--check")
    assert drifted.exit_code == 1
    assert "note: gateways/gateway-backup.json: the gateway leaves the stack" in drifted.stdout


def test_an_unregistered_target_is_a_usage_error(cli: Cli) -> None:
    result = cli("emit", "--target", "json")
    assert result.exit_code == 2
    assert "'json' is not one of" in result.stderr
