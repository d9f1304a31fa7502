"""Every rule of a restored gateway backup (IS144-IS149, IS208), tripped through the real
command line with its code, path and hint; hostile values give diagnostics, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare
from emitter.spec import StackSpec

from .conftest import Result
from .test_rules import assert_diagnostic, explicit, run_stack

Cli = Callable[..., Result]
SHA = "a" * 64


def with_restore(restore: dict[str, Any], role: str = "backend") -> dict[str, Any]:
    data = explicit("scale-out", "backend", frontends=2)
    data["roles"] = {role: {"restore": restore}}
    return data


@pytest.mark.parametrize(
    ("restore", "role", "code", "path", "words"),
    [
        ({"sha256": SHA}, "backend", "IS144", "roles.backend.restore", ("neither", "path:")),
        ({"path": "b.gwbk"}, "backend", "IS145", "roles.backend.restore.sha256", ("no `sha256`",)),
        (
            {"path": "b.gwbk", "sha256": "ABC"},
            "backend",
            "IS145",
            "roles.backend.restore.sha256",
            ("not 64 hex digits", "sha256sum"),
        ),
        (
            {"path": "../../etc/plant.gwbk", "sha256": SHA},
            "backend",
            "IS146",
            "roles.backend.restore.path",
            ("leaves the stack file's directory", "relative to stack.yaml"),
        ),
        (
            {"path": "/etc/passwd", "sha256": SHA},
            "backend",
            "IS146",
            "roles.backend.restore.path",
            ("absolute",),
        ),
        (
            {"path": "backups/../../x.gwbk", "sha256": SHA},
            "backend",
            "IS146",
            "roles.backend.restore.path",
            ("leaves",),
        ),
        (
            {"path": "backups/plant.zip", "sha256": SHA},
            "backend",
            "IS146",
            "roles.backend.restore.path",
            ("not a `.gwbk`",),
        ),
        (
            {"path": "b.gwbk", "url": "http://example.com/b.gwbk", "sha256": SHA},
            "backend",
            "IS147",
            "roles.backend.restore.url",
            ("not https",),
        ),
        (
            {"path": "b.gwbk", "url": "https://:bad@[x/b.gwbk", "sha256": SHA},
            "backend",
            "IS147",
            "roles.backend.restore.url",
            ("not a URL",),
        ),
        (
            {"path": "b.gwbk", "url": "https://example.com\n/b.gwbk", "sha256": SHA},
            "backend",
            "IS147",
            "roles.backend.restore.url",
            ("control character",),
        ),
        (
            {"path": "b.gwbk", "sha256": SHA},
            "frontend",
            "IS148",
            "roles.frontend.restore",
            ("replicated tier", "same gateway identity", "restore into the role"),
        ),
        ({"url": "https://example.com/b.gwbk", "sha256": SHA}, "backend", "IS149",
         "roles.backend.restore", ("no `path`", "network", "name it by `path`")),
    ],
)  # fmt: skip
def test_each_rule_through_the_command_line(
    cli: Cli,
    tmp_path: Path,
    restore: dict[str, Any],
    role: str,
    code: str,
    path: str,
    words: tuple[str, ...],
) -> None:
    assert_diagnostic(run_stack(cli, tmp_path, with_restore(restore, role)), code, path, *words)


def test_credentials_in_the_url_are_refused_and_never_echoed(cli: Cli, tmp_path: Path) -> None:
    url = "https://operator:hunter2secret@backups.example.com/b.gwbk"
    result = run_stack(cli, tmp_path, with_restore({"path": "b.gwbk", "url": url, "sha256": SHA}))
    assert_diagnostic(
        result,
        "IS147",
        "roles.backend.restore.url",
        "holds credentials",
        "without user or password",
    )
    assert "hunter2secret" not in result.stderr + result.stdout


def test_the_restore_variable_is_the_tools(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic", "gateway")
    data["roles"] = {"gateway": {"environment": {"GATEWAY_RESTORE_DISABLED": "true"}}}
    assert_diagnostic(
        run_stack(cli, tmp_path, data),
        "IS132",
        "roles.gateway.environment.GATEWAY_RESTORE_DISABLED",
        "`restore.disabled`",
    )


def test_kubernetes_needs_a_url(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    data = with_restore({"path": "backups/b.gwbk", "sha256": SHA})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("emit", str(path), "--target", "k8s", "--out", str(tmp_path / "out"))
    assert_diagnostic(
        result, "IS149", "roles.backend.restore", "1 MiB", "url", "kubernetes.egress_cidrs"
    )


@pytest.mark.parametrize(
    "value",
    ["x" * 100_000, "../" * 5000 + "a.gwbk", "\x00.gwbk", "C:\\plant.gwbk", "backups\\p.gwbk"],
)
def test_hostile_paths_give_diagnostics(cli: Cli, tmp_path: Path, value: str) -> None:
    result = run_stack(cli, tmp_path, with_restore({"path": value, "sha256": SHA}))
    assert_diagnostic(result, "IS146", "roles.backend.restore.path")
    assert len(result.stderr) < 5000, "a huge value is not echoed whole"


def test_restore_goes_to_the_master_only() -> None:
    spec = StackSpec(
        name="plant",
        architecture="scale-out",
        redundant="backend",
        roles={"backend": {"restore": {"path": "b.gwbk", "sha256": SHA}}},  # type: ignore[dict-item]
    )
    stack = prepare(spec).stack
    restoring = {g.name for g in stack.gateways if g.restore is not None}
    assert restoring == {"backend"}


def test_a_single_gateway_restores() -> None:
    spec = StackSpec(
        name="plant",
        architecture="basic",
        roles={"gateway": {"restore": {"path": "b.gwbk", "sha256": SHA}}},  # type: ignore[dict-item]
    )
    stack = prepare(spec).stack
    assert [g.name for g in stack.gateways if g.restore is not None] == ["gateway"]


def test_every_key_is_in_the_schema(cli: Cli) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    for key in ("restore", "sha256", "disabled", "https URL"):
        assert key in result.stdout, key


def _emit_kubernetes(cli: Cli, tmp_path: Path, data: dict[str, Any]) -> Result:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return cli("emit", str(path), "--target", "k8s", "--out", str(tmp_path / "out"))


def test_a_download_the_egress_policy_blocks_is_warned(cli: Cli, tmp_path: Path) -> None:
    data = with_restore({"url": "https://backups.example.com/b.gwbk", "sha256": SHA})
    result = _emit_kubernetes(cli, tmp_path, data)
    assert_diagnostic(
        result,
        "IS208",
        "roles.backend.restore",
        "'backend'",
        "downloads its backup",
        "egress NetworkPolicy",
        "kubernetes.egress_cidrs",
        "egress_namespaces",
        exit_code=0,
    )
    assert (tmp_path / "out" / "kustomization.yaml").is_file()
    assert result.stderr.count("IS208") == 1, "one warning for the one restoring gateway"


@pytest.mark.parametrize(
    "kubernetes", [{"egress_cidrs": ["203.0.113.0/24"]}, {"egress_namespaces": ["backups"]}]
)
def test_an_allowed_download_is_not_warned(
    cli: Cli, tmp_path: Path, kubernetes: dict[str, Any]
) -> None:
    data = with_restore({"url": "https://backups.example.com/b.gwbk", "sha256": SHA})
    data["kubernetes"] = kubernetes
    result = _emit_kubernetes(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "IS208" not in result.stderr


def test_compose_does_not_download_the_backup_so_is_not_warned(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "b.gwbk").write_bytes(b"backup")
    restore = {"path": "backups/b.gwbk", "url": "https://backups.example.com/b.gwbk"}
    data = with_restore({**restore, "sha256": SHA})
    data["targets"] = ["compose", "kubernetes"]
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    both = cli("emit", str(path), "--target", "all", "--out", str(tmp_path / "all"))
    assert both.exit_code == 0, both.stderr
    assert both.stderr.count("IS208") == 1, "the Kubernetes target's download only"
    compose = cli("emit", str(path), "--target", "compose", "--out", str(tmp_path / "compose"))
    assert compose.exit_code == 0, compose.stderr
    assert "IS208" not in compose.stderr


def test_a_refused_form_stops_before_the_egress_warning(cli: Cli, tmp_path: Path) -> None:
    """The Kubernetes target refuses a `path` backup (IS149) and writes nothing, whatever else
    it would warn about."""
    data = with_restore({"path": "backups/b.gwbk", "sha256": SHA})
    result = _emit_kubernetes(cli, tmp_path, data)
    assert_diagnostic(result, "IS149", "roles.backend.restore", "no `url`")
    assert "IS208" not in result.stderr
    assert not (tmp_path / "out" / "kustomization.yaml").exists()
