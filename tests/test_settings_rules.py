"""Every rule of the operator settings (IS131-IS137, and IS116/IS123 for what a tier's or a
pair's gateways must share), tripped through the real command line: code, path, message, hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Result
from .test_rules import assert_diagnostic, explicit, gateway, run_stack

Cli = Callable[..., Result]


def with_roles(**roles: dict[str, Any]) -> dict[str, Any]:
    data = explicit("scale-out", "backend", frontends=2)
    data["roles"] = roles
    return data


@pytest.mark.parametrize(
    ("roles", "code", "path", "words"),
    [
        ({"hub": {}}, "IS131", "roles.hub", ("no role 'hub'", "frontend, backend")),
        (
            {"backend": {"environment": {"TZ": "UTC"}}},
            "IS132",
            "roles.backend.environment.TZ",
            ("time zone", "use `timezone`"),
        ),
        (
            {"backend": {"environment": {"IGNITION_LICENSE_KEY_FILE": "/x"}}},
            "IS132",
            "roles.backend.environment.IGNITION_LICENSE_KEY_FILE",
            ("never from the stack file", "secret"),
        ),
        (
            {"backend": {"environment": {"GATEWAY_NETWORK_0_HOST": "x"}}},
            "IS132",
            "roles.backend.environment.GATEWAY_NETWORK_0_HOST",
            ("Gateway Network", "`transport`"),
        ),
        (
            {"backend": {"environment": {"ACCEPT_IGNITION_EULA_FILE": "/x"}}},
            "IS132",
            "roles.backend.environment.ACCEPT_IGNITION_EULA_FILE",
            ("EULA", "`accept_eula: true`"),
        ),
        (
            {"backend": {"environment": {"GATEWAY_ADMIN_PASSWORD": "x"}}},
            "IS132",
            "roles.backend.environment.GATEWAY_ADMIN_PASSWORD",
            ("admin account", "secret"),
        ),
        (
            {"backend": {"environment": {"IGNITION_EDITION": "edge"}}},
            "IS132",
            "roles.backend.environment.IGNITION_EDITION",
            ("edition",),
        ),
        (
            {"backend": {"environment": {"GATEWAY_MODULES_ENABLED": "x"}}},
            "IS132",
            "roles.backend.environment.GATEWAY_MODULES_ENABLED",
            ("the same on both nodes", "modules_enabled"),
        ),
        (
            {"backend": {"environment": {"POD_INDEX": "3"}}},
            "IS132",
            "roles.backend.environment.POD_INDEX",
            ("Kubernetes target",),
        ),
        (
            {"backend": {"environment": {"1BAD-NAME": "x"}}},
            "IS133",
            "roles.backend.environment.1BAD-NAME",
            ("not a variable name", "letters, digits"),
        ),
        (
            {"backend": {"environment": {"NUL": "a\x00b"}}},
            "IS133",
            "roles.backend.environment.NUL",
            ("control character",),
        ),
        (
            {"backend": {"environment": {"HUGE": "x" * 200_000}}},
            "IS133",
            "roles.backend.environment.HUGE",
            ("longer than 131071 bytes",),
        ),
        (
            {"frontend": {"timezone": "america/chicago"}},
            "IS134",
            "roles.frontend.timezone",
            ("not a time zone", "did you mean `America/Chicago`"),
        ),
        (
            {"frontend": {"timezone": "Mars/Olympus"}},
            "IS134",
            "roles.frontend.timezone",
            ("tz database",),
        ),
        (
            {"backend": {"jvm_args": ["-Dok=1", "gateway.useProxyForwardedHeader=true"]}},
            "IS135",
            "roles.backend.jvm_args[1]",
            ("does not start with `-`", "not JVM options"),
        ),
        (
            {"backend": {"jvm_args": ["-Xmx4g"]}},
            "IS136",
            "roles.backend.jvm_args[0]",
            ("sizes the Java heap", "`memory_mb`"),
        ),
        (
            {"backend": {"jvm_args": ["-XX:MaxRAMPercentage=90"]}},
            "IS136",
            "roles.backend.jvm_args[0]",
            ("memory_mb",),
        ),
        (
            {"backend": {"public_address": {"host": "scada example.com"}}},
            "IS137",
            "roles.backend.public_address.host",
            ("neither a DNS name", "scada.example.com"),
        ),
        (
            {"backend": {"public_address": {"host": "h", "https_port": 70000}}},
            "IS002",
            "roles.backend.public_address.https_port",
            ("65535",),
        ),
        (
            {"backend": {"environment": {"COUNT": 3}}},
            "IS002",
            "roles.backend.environment.COUNT",
            ("string",),
        ),
    ],
)
def test_a_roles_setting_is_checked_where_it_is_written(
    cli: Cli, tmp_path: Path, roles: dict[str, Any], code: str, path: str, words: tuple[str, ...]
) -> None:
    result = run_stack(cli, tmp_path, with_roles(**roles))
    assert_diagnostic(result, code, path, *words)
    # A role's setting is reported once, not once per gateway of the role.
    assert result.stderr.count(f" {code} ") == 1, result.stderr


def test_a_gateways_own_setting_is_checked_at_the_gateway(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    gateway(data, "gateway")["jvm_args"] = ["-Xms1g"]
    gateway(data, "gateway")["environment"] = {"TZ_FILE": "/etc/tz"}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS136", "gateways[0].jvm_args[0]", "heap")
    assert_diagnostic(result, "IS132", "gateways[0].environment.TZ_FILE", "use `timezone`")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("timezone", "UTC"),
        ("environment", {"A": "b"}),
        ("jvm_args", ["-Da=b"]),
    ],
)
def test_a_pairs_nodes_share_every_setting_but_the_public_address(
    cli: Cli, tmp_path: Path, setting: str, value: Any
) -> None:
    data = explicit("scale-out", "backend")
    gateway(data, "backend-backup")[setting] = value
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS123",
        f"gateways[2].{setting}",
        "differs from its master",
    )


def test_a_pairs_nodes_may_have_their_own_public_address(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", "backend")
    gateway(data, "backend")["public_address"] = {"host": "a.example.com"}
    gateway(data, "backend-backup")["public_address"] = {"host": "b.example.com"}
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("setting", "value"),
    [("timezone", "UTC"), ("public_address", {"host": "a.example.com"}), ("jvm_args", ["-Da"])],
)
def test_a_tiers_gateways_share_every_setting(
    cli: Cli, tmp_path: Path, setting: str, value: Any
) -> None:
    data = explicit("scale-out", frontends=2)
    gateway(data, "frontend-1")[setting] = value
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS116", f"gateways[1].{setting}", "identical"
    )


def test_a_misspelt_setting_under_a_role_names_the_key_it_means(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, with_roles(backend={"timezon": "UTC"}))
    assert_diagnostic(result, "IS002", "roles.backend.timezon", "unknown key", "`timezone`")
