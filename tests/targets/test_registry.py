"""The registry is the one place that knows the targets: the command line, the rules and the
project files follow whatever is registered."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emitter import rules
from emitter.diagnostics import StackInvalid, UsageError
from emitter.pipeline import prepare
from emitter.spec import StackSpec
from emitter.targets import registry, target_names
from tests.targets.json.target import TARGET as JSON
from tests.targets.registered import registered

from ..conftest import Result

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[2]


def test_names_and_aliases_resolve_through_the_registry() -> None:
    assert target_names("k8s") == ("kubernetes",)
    assert target_names("all") == registry.names()
    with pytest.raises(UsageError, match="use one of compose, k8s \\(kubernetes\\), all"):
        target_names("nomad")
    with registered("json"):
        assert target_names("js") == ("json",)
        assert target_names("all")[-1] == "json"
        assert "js (json)" in registry.spelled()
    assert "json" not in registry.names()


def test_a_name_or_alias_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already taken: k8s"):
        registry.register(registry.Target("k8s", "Other", "other", JSON.emit))
    with pytest.raises(ValueError, match="already taken: all"):
        registry.register(registry.Target("all", "Other", "other", JSON.emit))


def test_rules_keep_a_registered_targets_names_free() -> None:
    """A gateway named like what a target derives is refused only while that target exists."""
    spec = StackSpec.model_validate(
        {
            "name": "plant",
            "architecture": "basic",
            "gateways": [
                {
                    "name": "gateway-json",
                    "role": "gateway",
                    "edition": "standard",
                    "http_port": 9088,
                    "volume": "gateway-data",
                    "networks": ["gateway"],
                }
            ],
        }
    )
    prepare(spec)
    with registered("json"), pytest.raises(StackInvalid) as raised:
        prepare(spec)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "IS113"
    assert "names ending in '-json'" in diagnostic.message


def test_the_longest_gateway_name_is_the_strictest_targets() -> None:
    assert rules.max_gateway_name() == min(
        t.limits.max_gateway_name for t in registry.targets() if t.limits.max_gateway_name
    )


def test_the_command_line_offers_what_is_registered(cli: Cli) -> None:
    assert "[compose|k8s|kubernetes|all]" in cli("emit", "--help").stdout
    # The help is built when the command line is loaded: with the suite's target registered first.
    code = (
        "from tests.targets.registered import registered\n"
        "with registered():\n"
        "    from emitter.cli import main\n"
        "    main(['create', '--help'])\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "js|json|all]" in shown.stdout
    assert "json: one JSON file per gateway" in " ".join(shown.stdout.split())
