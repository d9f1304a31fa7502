"""Every rule of the stack's database (IS150-IS155, IS209, IS210), tripped through the real
command line with its code, path and hint; and what the resolved stack decides once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emitter.pipeline import prepare
from emitter.spec import stack_from_data

from .conftest import Result
from .test_rules import assert_diagnostic, explicit, run_stack

Cli = Callable[..., Result]
IMAGE_81 = "inductiveautomation/ignition:8.1.48"


def with_database(database: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = explicit("scale-out", "backend", frontends=2)
    data["database"] = database
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("database", "code", "path", "words"),
    [
        ({"engine": "oracle", "connections": [{"role": "backend"}]}, "IS150", "database.engine",
         ("'oracle' is not supported", "postgres")),
        ({"connections": [{"role": "historian"}]}, "IS151", "database.connections[0].role",
         ("'historian'", "no gateway", "backend")),
        ({"connections": [{"role": "backend"}, {"role": "backend"}]}, "IS152",
         "database.connections[1].name", ("two connections named 'postgres'", "its own `name`")),
        ({"name": "Plant-DB", "connections": [{"role": "backend"}]}, "IS153", "database.name",
         ("not a lowercase SQL name",)),
        ({"owner": "1user", "connections": [{"role": "backend"}]}, "IS153", "database.owner",
         ("not a lowercase SQL name",)),
        ({"version": "latest", "connections": [{"role": "backend"}]}, "IS153", "database.version",
         ("not a release major.minor", "17.5")),
        ({"connections": [{"role": "backend", "name": "../etc"}]}, "IS153",
         "database.connections[0].name", ("not a plain name",)),
    ],
)  # fmt: skip
def test_each_error_through_the_command_line(
    cli: Cli,
    tmp_path: Path,
    database: dict[str, Any],
    code: str,
    path: str,
    words: tuple[str, ...],
) -> None:
    result = run_stack(cli, tmp_path, with_database(database))
    assert_diagnostic(result, code, path, *words)
    assert not (tmp_path / "out").exists()


def test_a_gateway_named_like_the_database_is_refused(cli: Cli, tmp_path: Path) -> None:
    data = with_database({"connections": [{"role": "backend"}]})
    data["gateways"][0]["name"] = "postgres"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS154", "gateways[0].name", "taken by the database"
    )


def test_a_volume_and_a_network_of_the_database_are_refused(cli: Cli, tmp_path: Path) -> None:
    data = with_database({"connections": [{"role": "backend"}]})
    data["gateways"][0]["volume"] = "postgres-data"
    data["gateways"][1]["networks"] = ["postgres"]
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS154", "gateways[0].volume", "volume (Compose)")
    assert_diagnostic(result, "IS154", "gateways[1].networks[0]", "own network")


def test_a_narrowed_module_list_must_keep_the_driver(cli: Cli, tmp_path: Path) -> None:
    data = with_database(
        {"connections": [{"role": "backend"}]},
        roles={"backend": {"modules_enabled": ["com.inductiveautomation.perspective"]}},
    )
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS155",
        "roles.backend.modules_enabled",
        "com.inductiveautomation.jdbc.postgresql",
        "add `com.inductiveautomation.jdbc.postgresql`",
    )


def test_a_module_list_with_the_driver_passes(cli: Cli, tmp_path: Path) -> None:
    data = with_database(
        {"connections": [{"role": "backend"}]},
        roles={"backend": {"modules_enabled": ["com.inductiveautomation.jdbc.postgresql"]}},
        transport="ssl",
    )
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "IS155" not in result.stderr


def test_ignition_8_1_warns_that_the_connection_is_a_post_setup_step(
    cli: Cli, tmp_path: Path
) -> None:
    data = with_database({"connections": [{"role": "backend"}]}, image=IMAGE_81)
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result, "IS209", "database.connections", "no file-based configuration", exit_code=0
    )
    (tmp_path / "strict").mkdir()
    strict = run_stack(cli, tmp_path / "strict", data, "--strict")
    assert strict.exit_code == 1


def test_a_database_without_connections_warns(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, with_database({}))
    assert_diagnostic(result, "IS210", "database.connections", "no gateway", exit_code=0)


def test_the_resolved_stack_decides_versions_and_who_connects() -> None:
    spec = stack_from_data(with_database({"connections": [{"role": "backend", "name": "history"}]}))
    resolved = prepare(spec)
    assert resolved.explicit.database is not None
    assert resolved.explicit.database.version == "17.5"  # the pin, written into the stack file
    database = resolved.stack.database
    assert database is not None
    assert (database.engine, database.name, database.owner) == ("postgres", "ignition", "ignition")
    connected = {g.name: g.database_connections for g in resolved.stack.gateways}
    assert connected == {
        "frontend-0": (),
        "frontend-1": (),
        "backend": ("history",),
        "backend-backup": ("history",),
    }


def test_kubernetes_database_options_without_a_database_are_refused(
    cli: Cli, tmp_path: Path
) -> None:
    data = explicit("basic")
    data["kubernetes"] = {"database": {"instances": 2}}
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS156", "kubernetes.database", "no `database:`"
    )
