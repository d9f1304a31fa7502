"""Every rule, tripped through the real command line: code, exit status and message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import rules
from emitter.ir import Gateway
from emitter.pipeline import prepare
from emitter.spec import StackSpec, dump_stack

from .conftest import Result

Cli = Callable[..., Result]


def explicit(architecture: str, redundant: str | None = None, **shape: Any) -> dict[str, Any]:
    """The explicit stack file `create --dry-run` would print, as data to break."""
    shape.setdefault("accept_eula", True)  # as create writes it
    spec = StackSpec(name="plant", architecture=architecture, redundant=redundant, **shape)  # type: ignore[arg-type]
    data: dict[str, Any] = yaml.safe_load(dump_stack(prepare(spec).explicit))
    return data


def gateway(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in data["gateways"] if g["name"] == name)
    return found


def run_stack(cli: Cli, tmp_path: Path, data: dict[str, Any] | str, *extra: str) -> Result:
    path = tmp_path / "stack.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return cli("emit", str(path), "--target", "compose", "--out", str(tmp_path / "out"), *extra)


def diagnostic_blocks(stderr: str) -> list[str]:
    """Each diagnostic with its hint line."""
    blocks: list[str] = []
    for line in stderr.splitlines():
        if line.startswith("  hint:") and blocks:
            blocks[-1] += "\n" + line
        elif line.startswith(("error ", "warning ")):
            blocks.append(line)
    return blocks


def assert_diagnostic(
    result: Result, code: str, path: str, *words: str, exit_code: int = 1
) -> None:
    assert result.exit_code == exit_code, result.stderr
    blocks = [
        block for block in diagnostic_blocks(result.stderr) if f" {code}" in block.split("\n")[0]
    ]
    assert blocks, f"{code} not reported:\n{result.stderr}"
    matching = [block for block in blocks if f" {path}:" in block.split("\n")[0] or not path]
    assert matching, f"{code} not reported at {path}:\n{result.stderr}"
    for word in words:
        assert any(word in line for line in matching), f"{word!r} missing from {matching}"
    assert "Traceback" not in result.stderr


# --- the stack file itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: [unclosed", ("not valid YAML", "line 1")),
        ("a: &x [1]\nb: *x\n", ("aliases are not allowed",)),
        ("name: a\nname: b\narchitecture: basic\n", ("duplicate key 'name'",)),
        ("- just\n- a list\n", ("must hold a mapping",)),
        ("", ("must hold a mapping",)),
    ],
)
def test_unreadable_stack_file_is_IS001(
    cli: Cli, tmp_path: Path, text: str, words: tuple[str, ...]
) -> None:
    assert_diagnostic(run_stack(cli, tmp_path, text), "IS001", "", *words)


def test_missing_stack_file_is_IS001(cli: Cli, tmp_path: Path) -> None:
    result = cli("emit", str(tmp_path / "nope.yaml"))
    assert_diagnostic(result, "IS001", "", "no stack file")


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"colour": "blue"}, "colour", ("unknown key",)),
        ({"architecture": "mesh"}, "architecture", ("basic",)),
        ({"transport": "carrier-pigeon"}, "transport", ("plain",)),
        ({"spokes": -1}, "spokes", ("greater than or equal to 0",)),
    ],
)
def test_shape_errors_are_IS002(
    cli: Cli, tmp_path: Path, change: dict[str, Any], path: str, words: tuple[str, ...]
) -> None:
    data = explicit("hub-and-spoke") | change
    assert_diagnostic(run_stack(cli, tmp_path, data), "IS002", path, *words)


@pytest.mark.parametrize(
    ("text", "path", "hint"),
    [
        ("name: plant\narchitecture: basic\nredundnat: gateway\n", "redundnat", "`redundant`"),
        ("name: plant\narchitecture: basic\ntransprot: ssl\n", "transprot", "`transport`"),
        (
            "name: plant\narchitecture: basic\nkubernetes:\n  storage: 5Gi\n",
            "kubernetes.storage",
            "`storage_size`",
        ),
        (
            "name: plant\narchitecture: basic\ngateways:\n"
            "- {name: gateway, role: gateway, http_port: 9088, memroy_mb: 4096}\n",
            "gateways[0].memroy_mb",
            "`memory_mb`",
        ),
    ],
)
def test_a_misspelt_key_gets_did_you_mean(
    cli: Cli, tmp_path: Path, text: str, path: str, hint: str
) -> None:
    assert_diagnostic(
        run_stack(cli, tmp_path, text), "IS002", path, "unknown key", f"did you mean {hint}?"
    )


def test_an_unknown_key_far_from_any_lists_the_keys(cli: Cli, tmp_path: Path) -> None:
    text = "name: plant\narchitecture: basic\nkubernetes:\n  zzz: 1\n"
    result = run_stack(cli, tmp_path, text)
    assert_diagnostic(
        result, "IS002", "kubernetes.zzz", "unknown key", "storage_size, storage_class"
    )
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        (
            "redundant",
            "yes",
            (
                "names the role to run as a master/backup pair",
                "'yes'",
                "scale-out (frontend, backend)",
                "`redundant: backend`",
            ),
        ),
        ("redundant", "false", ("'no'", "`redundant: none`")),
        ("edge_role", "on", ("names the role that runs the Edge edition", "`edge_role: none`")),
    ],
)
def test_a_yes_no_for_a_role_key_says_it_names_a_role(
    cli: Cli, tmp_path: Path, key: str, value: str, words: tuple[str, ...]
) -> None:
    text = f"name: plant\narchitecture: scale-out\n{key}: {value}\n"
    result = run_stack(cli, tmp_path, text)
    assert_diagnostic(result, "IS002", key, *words)
    assert "valid string" not in result.stderr


def test_redundant_none_in_a_file_means_no_pair(cli: Cli, tmp_path: Path) -> None:
    # The hint above offers `redundant: none`, as `--redundant none` does on the command line.
    result = run_stack(cli, tmp_path, "name: plant\narchitecture: basic\nredundant: none\n")
    assert result.exit_code == 0, result.stderr
    assert "backup" not in (tmp_path / "out" / "compose.yaml").read_text()


def test_gateway_shape_error_names_the_gateway_path(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["gateways"][0]["http_port"] = 70000
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS002", "gateways[0].http_port", "less than or equal"
    )


def test_missing_name_is_IS002(cli: Cli, tmp_path: Path) -> None:
    assert_diagnostic(
        run_stack(cli, tmp_path, "architecture: basic\n"), "IS002", "name", "required"
    )


# --- redundancy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "role", "valid"),
    [("scale-out", "frontend", "backend"), ("hub-and-spoke", "spoke", "hub")],
)
def test_redundant_replicated_tier_in_file_is_IS101(
    cli: Cli, tmp_path: Path, architecture: str, role: str, valid: str
) -> None:
    data = {"name": "plant", "architecture": architecture, "redundant": role}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS101", "redundant", "replicated tier", f"--redundant {valid}")


@pytest.mark.parametrize(
    ("architecture", "role", "valid"),
    [("scale-out", "frontend", "backend"), ("hub-and-spoke", "spoke", "hub")],
)
def test_redundant_replicated_tier_flag_is_usage_error(
    cli: Cli, tmp_path: Path, architecture: str, role: str, valid: str
) -> None:
    result = cli("create", "demo", "--arch", architecture, "--redundant", role, "-o", str(tmp_path))
    assert_diagnostic(result, "IS101", "--redundant", "replicated tier", f"'{valid}'", exit_code=2)
    assert not (tmp_path / "demo").exists()


def test_redundant_unknown_role_flag_is_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("create", "demo", "--arch", "basic", "--redundant", "backend", "-o", str(tmp_path))
    assert_diagnostic(result, "IS102", "--redundant", "no role 'backend'", "'gateway'", exit_code=2)


def test_replicated_gateway_with_redundancy_is_IS101(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", frontends=2)
    gateway(data, "frontend-0")["redundancy"] = {"role": "master", "peer": "frontend-1"}
    gateway(data, "frontend-1")["redundancy"] = {"role": "backup", "peer": "frontend-0"}
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS101", "gateways[0].redundancy", "never fails over"
    )


def test_architecture_change_keeps_redundant_role_and_rejects_it(cli: Cli, tmp_path: Path) -> None:
    """`create -f` onto another architecture: the old pair role must exist there."""
    first = cli(
        "create", "demo", "--arch", "scale-out", "--redundant", "backend", "-o", str(tmp_path)
    )
    assert first.exit_code == 0, first.stderr
    result = cli(
        "create",
        "demo2",
        "-f",
        str(tmp_path / "demo" / "stack.yaml"),
        "--arch",
        "hub-and-spoke",
        "-o",
        str(tmp_path),
    )
    # The file alone is valid; the --arch given with it makes it invalid: the command line's
    # mistake, exit 2 (tests/test_cli.py has the rule for every path).
    assert_diagnostic(
        result, "IS102", "redundant", "no role 'backend'", "--redundant hub", exit_code=2
    )
    assert "the options given make" in result.stderr
    assert not (tmp_path / "demo2").exists()
    fixed = cli(
        "create",
        "demo2",
        "-f",
        str(tmp_path / "demo" / "stack.yaml"),
        "--arch",
        "hub-and-spoke",
        "--redundant",
        "hub",
        "-o",
        str(tmp_path),
    )
    assert fixed.exit_code == 0, fixed.stderr
    assert (
        tmp_path / "demo2" / "targets" / "compose" / "gateways" / "hub-backup" / "redundancy.xml"
    ).is_file()


def test_peer_that_does_not_exist_is_IS103(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    data["gateways"] = [g for g in data["gateways"] if g["name"] != "gateway-backup"]
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result,
        "IS103",
        "gateways[0].redundancy.peer",
        "'gateway-backup' of 'gateway' does not exist",
    )


def test_peer_outside_any_pair_is_IS103(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    del gateway(data, "gateway-backup")["redundancy"]
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS103",
        "gateways[0].redundancy.peer",
        "is not part of a pair",
    )


def test_peer_naming_itself_is_IS103(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway")["redundancy"]["peer"] = "gateway"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS103", "gateways[0].redundancy.peer", "names itself"
    )


def test_peers_that_do_not_point_at_each_other_are_IS104(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", "backend")
    gateway(data, "backend")["redundancy"]["peer"] = "frontend-0"
    gateway(data, "frontend-0")["redundancy"] = {"role": "backup", "peer": "backend-backup"}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result,
        "IS104",
        "gateways[1].redundancy.peer",
        "pairs with 'frontend-0'",
        "must name each other as peer",
    )


def test_two_masters_are_IS105(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")["redundancy"]["role"] = "master"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS105", "gateways[0].redundancy.role", "both masters"
    )


def test_standard_master_with_edge_backup_is_IS106(cli: Cli, tmp_path: Path) -> None:
    data = explicit("hub-and-spoke", "hub")
    gateway(data, "hub-backup")["edition"] = "edge"
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result,
        "IS106",
        "gateways[1].redundancy",
        "a standard master ('hub') cannot pair with a edge backup ('hub-backup')",
        "fails over only to another Edge gateway",
    )


def test_edge_pair_is_accepted(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "create",
        "demo",
        "--arch",
        "hub-and-spoke",
        "--redundant",
        "hub",
        "--edge-role",
        "hub",
        "-o",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    compose = yaml.safe_load(
        (tmp_path / "demo" / "targets" / "compose" / "compose.yaml").read_text()
    )
    assert compose["services"]["hub"]["environment"]["IGNITION_EDITION"] == "edge"
    assert compose["services"]["hub-backup"]["environment"]["IGNITION_EDITION"] == "edge"


def test_redundant_role_without_pair_is_IS107(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["redundant"] = "gateway"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS107", "redundant", "no gateway of that role"
    )


def test_pair_without_redundant_role_is_IS107(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    data["redundant"] = None
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS107", "gateways[0].redundancy", "redundant role is None"
    )


# --- editions, names, ports, volumes, connections ---------------------------------------------


def test_unknown_edge_role_is_IS108(cli: Cli, tmp_path: Path) -> None:
    assert_diagnostic(
        run_stack(cli, tmp_path, explicit("basic") | {"edge_role": "spoke"}),
        "IS108",
        "edge_role",
        "no role 'spoke'",
    )
    flag = cli("create", "demo", "--arch", "basic", "--edge-role", "spoke", "-o", str(tmp_path))
    assert_diagnostic(flag, "IS108", "--edge-role", "no role 'spoke'", exit_code=2)


def test_edition_against_edge_role_is_IS109(cli: Cli, tmp_path: Path) -> None:
    data = explicit("hub-and-spoke")
    gateway(data, "spoke-1")["edition"] = "standard"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS109", "gateways[2].edition", "edge_role is 'spoke'"
    )


@pytest.mark.parametrize("name", ["Plant", "plant_a", "-plant", "a" * 41])
def test_bad_stack_name_is_IS110(cli: Cli, tmp_path: Path, name: str) -> None:
    assert_diagnostic(
        run_stack(cli, tmp_path, explicit("basic") | {"name": name}), "IS110", "name", "stack name"
    )
    flag = cli("create", "--arch", "basic", "-o", str(tmp_path), "--", name)
    assert_diagnostic(flag, "IS110", "name", "stack name", exit_code=2)


@pytest.mark.parametrize(
    ("name", "words"), [("Back_End", "DNS-1123"), ("g" * 53, "the limit is 52")]
)
def test_bad_gateway_name_is_IS110(cli: Cli, tmp_path: Path, name: str, words: str) -> None:
    data = explicit("basic")
    data["gateways"][0]["name"] = name
    data["gateways"][0]["volume"] = "data-volume"
    assert_diagnostic(run_stack(cli, tmp_path, data), "IS110", "gateways[0].name", words)


def test_duplicate_gateway_names_are_IS111(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")["name"] = "gateway"
    assert_diagnostic(run_stack(cli, tmp_path, data), "IS111", "gateways[1].name", "used 2 times")


def test_duplicate_host_ports_are_IS112(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", "backend")
    gateway(data, "backend-backup")["http_port"] = gateway(data, "backend")["http_port"]
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS112",
        "gateways[2].http_port",
        "already used by 'backend'",
    )


def test_connection_to_unknown_gateway_is_IS114(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out")
    gateway(data, "frontend-0")["connections"] = ["backend", "database"]
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS114",
        "gateways[0].connections[1]",
        "'database', which does not exist",
    )


def test_connection_to_itself_is_IS114(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out")
    gateway(data, "backend")["connections"] = ["backend"]
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS114", "gateways[1].connections[0]", "connects to itself"
    )


def test_connection_without_shared_network_is_IS115(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out")
    gateway(data, "frontend-0")["networks"] = ["frontend"]
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS115", "gateways[0].connections[0]", "share no network"
    )


def test_gateway_without_network_is_IS115(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["gateways"][0]["networks"] = []
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS115", "gateways[0].networks", "joins no network"
    )


def test_pair_without_shared_network_is_IS115(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", "backend")
    gateway(data, "backend-backup")["networks"] = ["frontend"]
    gateway(data, "backend-backup")["connections"] = []
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS115",
        "gateways[2].networks",
        "shares no network with its master",
    )


def test_misnamed_replica_is_IS116(cli: Cli, tmp_path: Path) -> None:
    data = explicit("hub-and-spoke")
    gateway(data, "spoke-2")["name"] = "spoke-7"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS116", "gateways[3].name", "must be named spoke-2"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("memory_mb", 4096), ("networks", ["gateways", "elsewhere"]), ("connections", [])],
)
def test_replicas_that_differ_are_IS116(
    cli: Cli, tmp_path: Path, field: str, value: object
) -> None:
    data = explicit("scale-out", frontends=2)
    gateway(data, "frontend-1")[field] = value
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS116",
        f"gateways[1].{field}",
        f"{field} of 'frontend-1' differs from 'frontend-0'",
        "are identical",
        f"give every frontend the same {field}",
    )


def test_replicas_may_differ_in_port_and_volume(cli: Cli, tmp_path: Path) -> None:
    data = explicit("hub-and-spoke")
    gateway(data, "spoke-1")["http_port"] = 9999
    gateway(data, "spoke-1")["volume"] = "elsewhere"
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "IS116" not in result.stderr


class GatewayOfALaterRelease(Gateway):
    """The IR with a per-gateway key added after the tier rule was written."""

    locale: str = "en_US"


def test_a_field_new_to_the_ir_must_agree_across_a_replicated_tier() -> None:
    """The tier rule lists what may differ, so a key nobody told it about is checked."""
    resolved = prepare(StackSpec(name="plant", architecture="hub-and-spoke", accept_eula=True))  # type: ignore[arg-type]
    locales = {"spoke-1": "fr_FR"}
    stack = resolved.stack.model_copy(
        update={
            "gateways": tuple(
                GatewayOfALaterRelease(
                    **gateway.model_dump(), locale=locales.get(gateway.name, "en_US")
                )
                for gateway in resolved.stack.gateways
            )
        }
    )
    found = [d for d in rules.check(resolved.explicit, stack) if d.code == "IS116"]
    assert [(d.path, d.message) for d in found] == [
        (
            "gateways[2].locale",
            "locale of 'spoke-1' differs from 'spoke-0'; the gateways of replicated tier "
            "'spoke' are identical",
        )
    ]


@pytest.mark.parametrize(
    "may_differ", [rules.TIER_MEMBERS_MAY_DIFFER, rules.PAIR_NODES_MAY_DIFFER], ids=["tier", "pair"]
)
def test_what_may_differ_names_only_gateway_fields(may_differ: frozenset[str]) -> None:
    """A name that is no IR field exempts nothing: a misspelling, or a field renamed since,
    would leave the real field checked by mistake."""
    assert may_differ <= set(Gateway.model_fields), may_differ - set(Gateway.model_fields)


def test_unknown_role_is_IS117(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["gateways"][0]["role"] = "historian"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS117", "gateways[0].role", "no role 'historian'"
    )


def test_count_that_disagrees_with_gateways_is_IS119(cli: Cli, tmp_path: Path) -> None:
    data = explicit("hub-and-spoke") | {"spokes": 5}
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS119", "spokes", "spokes is 5, but gateways lists 3"
    )


@pytest.mark.parametrize(
    ("architecture", "option", "hint"),
    [("basic", "spokes", "remove it"), ("scale-out", "spokes", "use `frontends`")],
)
def test_count_for_a_tier_the_architecture_lacks_is_IS126(
    cli: Cli, tmp_path: Path, architecture: str, option: str, hint: str
) -> None:
    """Before IS126 a basic stack with `spokes: 9` emitted one gateway and said nothing."""
    data = explicit(architecture) | {option: 9}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS126", option, f"{option} applies to the hub-and-spoke", hint)


def test_count_flag_for_a_tier_the_architecture_lacks_is_IS126(cli: Cli, tmp_path: Path) -> None:
    result = cli("create", "demo", "--arch", "basic", "--spokes", "2", "-o", str(tmp_path))
    assert_diagnostic(result, "IS126", "--spokes", "applies to the hub-and-spoke", exit_code=2)
    assert not (tmp_path / "demo").exists()


def test_flags_of_no_single_architecture_are_IS127(cli: Cli, tmp_path: Path) -> None:
    args = ("--redundant", "backend", "--spokes", "2", "-o", str(tmp_path))
    result = cli("create", "demo", *args)
    assert_diagnostic(result, "IS127", "--arch", "fit no single architecture", exit_code=2)


def test_a_new_architecture_drops_the_old_tier_count(cli: Cli, tmp_path: Path) -> None:
    """`create -f` with `--arch` derives the new shape: the file's `frontends` belonged to
    scale-out and is not carried into hub-and-spoke (where it would be IS126)."""
    stack = tmp_path / "in.yaml"
    stack.write_text(yaml.safe_dump(explicit("scale-out", frontends=2) | {"accept_eula": True}))
    result = cli("create", "demo", "-f", str(stack), "--arch", "hub-and-spoke", "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    written = yaml.safe_load((tmp_path / "demo" / "stack.yaml").read_text())
    assert (written["architecture"], written.get("frontends"), written["spokes"]) == (
        "hub-and-spoke",
        None,
        3,
    )


def test_shared_volume_is_IS120(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")["volume"] = "gateway-data"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS120", "gateways[1].volume", "already used by 'gateway'"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("memory_mb", 4096), ("networks", ["gateways", "elsewhere"])],
)
def test_pair_nodes_that_differ_are_IS123(
    cli: Cli, tmp_path: Path, field: str, value: object
) -> None:
    """Both nodes of a pair run the same gateway (one StatefulSet on Kubernetes)."""
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")[field] = value
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS123",
        f"gateways[1].{field}",
        "differs from its master 'gateway'",
    )


def test_pair_nodes_may_differ_in_port_and_volume(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")["http_port"] = 9999
    gateway(data, "gateway-backup")["volume"] = "elsewhere"
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "IS123" not in result.stderr


def test_every_problem_is_reported_together(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")["http_port"] = gateway(data, "gateway")["http_port"]
    gateway(data, "gateway-backup")["volume"] = "gateway-data"
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 1
    assert "IS112" in result.stderr and "IS120" in result.stderr
    assert not (tmp_path / "out").exists(), "nothing is written for an invalid stack"


# --- transport --------------------------------------------------------------------------------


def test_plain_transport_warns_on_every_emit(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, explicit("basic", "gateway"))
    assert result.exit_code == 0
    assert "warning IS201 transport:" in result.stderr and "demo-only" in result.stderr
    assert "--transport ssl" in result.stderr


def test_plain_transport_is_an_error_under_strict(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, explicit("basic", "gateway"), "--strict")
    assert_diagnostic(result, "IS201", "transport", "demo-only")
    assert not (tmp_path / "out").exists()
    created = cli(
        "create",
        "demo",
        "--arch",
        "basic",
        "--redundant",
        "gateway",
        "--strict",
        "-o",
        str(tmp_path),
    )
    assert_diagnostic(created, "IS201", "transport", "demo-only")


def test_plain_transport_warns_once_and_only_about_a_link(cli: Cli, tmp_path: Path) -> None:
    # One gateway and no pair: nothing travels over the Gateway Network, nothing to warn about.
    single = cli("create", "one", "--arch", "basic", "-o", str(tmp_path))
    assert single.exit_code == 0 and "IS201" not in single.stderr
    assert run_stack(cli, tmp_path, explicit("basic")).stderr == ""
    assert cli("create", "one", "--arch", "basic", "--strict", "--dry-run").exit_code == 0
    # A pair, or spokes linked to their hub: a plain link exists, and the warning shows once.
    for shape in (("basic", "--redundant", "gateway"), ("hub-and-spoke",)):
        linked = cli("create", "two", "--arch", *shape, "--dry-run")
        assert linked.exit_code == 0
        assert linked.stderr.count("IS201") == 1, linked.stderr


def test_plain_transport_is_silent_next_to_an_error(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    gateway(data, "gateway-backup")["http_port"] = gateway(data, "gateway")["http_port"]
    invalid = run_stack(cli, tmp_path, data)
    assert invalid.exit_code == 1 and "IS112" in invalid.stderr
    assert "IS201" not in invalid.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine\n")
    occupied = cli(
        "create", "taken", "--arch", "basic", "--redundant", "gateway", "-o", str(tmp_path)
    )
    assert occupied.exit_code == 1 and "already exists" in occupied.stderr
    assert "IS201" not in occupied.stderr


@pytest.mark.parametrize(
    ("architecture", "redundant", "old", "new", "words"),
    [
        ("scale-out", "backend", "backend-backup", "backend-headless", "ending in '-headless'"),
        ("basic", None, "gateway", "gateway-bootstrap", "ending in '-bootstrap'"),
        ("scale-out", None, "backend", "frontend", "replicated tier 'frontend'"),
    ],
)
def test_names_the_targets_derive_are_reserved_IS113(
    cli: Cli,
    tmp_path: Path,
    architecture: str,
    redundant: str | None,
    old: str,
    new: str,
    words: str,
) -> None:
    data = explicit(architecture, redundant)
    text = yaml.safe_dump(data, sort_keys=False).replace(f" {old}\n", f" {new}\n")
    index = [g["name"] for g in data["gateways"]].index(old)
    assert_diagnostic(run_stack(cli, tmp_path, text), "IS113", f"gateways[{index}].name", words)


def test_gateway_name_starting_with_a_digit_is_IS110(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["gateways"][0]["name"] = "1gateway"
    assert_diagnostic(
        run_stack(cli, tmp_path, data), "IS110", "gateways[0].name", "starts with a digit"
    )


def test_an_ssl_stack_prints_no_warning(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", "backend") | {"transport": "ssl"}
    result = run_stack(cli, tmp_path, data, "--strict")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


# --- extreme shapes ----------------------------------------------------------------------------


def test_a_hub_without_spokes_is_IS202(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "create", "lonely", "--arch", "hub-and-spoke", "--spokes", "0", "-o", str(tmp_path)
    )
    assert result.exit_code == 0, result.stderr
    assert_diagnostic(result, "IS202", "spokes", "hub alone", "--arch basic", exit_code=0)
    three = cli("create", "three", "--arch", "hub-and-spoke", "--dry-run")
    assert "IS202" not in three.stderr


def test_a_compose_stack_too_big_for_one_host_is_IS203(cli: Cli, tmp_path: Path) -> None:
    # 48 spokes and a redundant hub: 50 gateways, the most one host is asked to run quietly.
    limit = explicit("hub-and-spoke", "hub", spokes=48, transport="ssl")
    assert "IS203" not in run_stack(cli, tmp_path, limit).stderr
    data = explicit("hub-and-spoke", "hub", spokes=60, transport="ssl")
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result,
        "IS203",
        "spokes",
        "62 gateways (124 Compose services",
        "124 GiB of memory",
        "host ports 9088-9149",
        "--target k8s",
        exit_code=0,
    )
    path = tmp_path / "stack.yaml"
    kubernetes = cli("emit", str(path), "--target", "k8s", "--out", str(tmp_path / "k8s"))
    assert kubernetes.exit_code == 0 and "IS203" not in kubernetes.stderr
    strict = run_stack(cli, tmp_path, data, "--strict")
    assert_diagnostic(strict, "IS203", "spokes", "one Docker host")
    created = cli(
        "create", "huge", "--arch", "hub-and-spoke", "--spokes", "60", "-o", str(tmp_path)
    )
    assert created.exit_code == 0 and "warning IS203 spokes:" in created.stderr


# --- the Ignition EULA -------------------------------------------------------------------------


def test_create_records_the_eula_acceptance_and_says_so(cli: Cli, tmp_path: Path) -> None:
    dry = cli("create", "demo", "--arch", "basic", "--dry-run")
    assert "accept_eula: true" in dry.stdout.splitlines()
    created = cli("create", "demo", "--arch", "basic", "-o", str(tmp_path))
    assert created.exit_code == 0
    assert "accept_eula: true" in created.stdout and "ACCEPT_IGNITION_EULA=Y" in created.stdout
    assert created.stderr == "", "an explicit acceptance needs no warning"


def test_an_eula_not_accepted_is_IS125(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic") | {"accept_eula": False}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS125", "accept_eula", "does not start", "`accept_eula: true`")
    assert not (tmp_path / "out").exists()


def test_an_older_stack_file_without_accept_eula_is_IS204(cli: Cli, tmp_path: Path) -> None:
    older = "name: plant\narchitecture: basic\n"
    result = run_stack(cli, tmp_path, older)
    assert_diagnostic(
        result,
        "IS204",
        "accept_eula",
        "accepting it for you",
        "add `accept_eula: true`",
        exit_code=0,
    )
    assert_diagnostic(run_stack(cli, tmp_path, older, "--strict"), "IS204", "accept_eula")
