"""Operating a pair: what `emit` says about changes that would take both nodes down, and the
upgrade and renewal steps POST-SETUP.md gives for the stack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from tests.conftest import Result

Cli = Callable[..., Result]


def create(cli: Cli, tmp_path: Path, *flags: str) -> Path:
    result = cli("create", "plant", *flags, "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    return tmp_path / "plant"


def set_image(project: Path, image: str) -> None:
    stack = project / "stack.yaml"
    data = yaml.safe_load(stack.read_text())
    data["image"] = image
    stack.write_text(yaml.safe_dump(data, sort_keys=False))


def test_emit_says_when_compose_would_recreate_a_pair_at_once(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "scale-out", "--redundant", "backend")
    set_image(project, "inductiveautomation/ignition:8.3.7")
    check = cli("emit", str(project / "stack.yaml"), "--check")
    assert check.exit_code == 1
    assert "backend, backend-backup: `docker compose up -d` would recreate" in check.stdout
    result = cli("emit", str(project / "stack.yaml"))
    assert result.exit_code == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if line.startswith("notice:")]
    assert len(notices) == 1, result.stderr
    assert "backend, backend-backup" in notices[0] and "'Upgrade the pair'" in notices[0]
    assert "frontend-0" not in notices[0], "only pair members are named"
    again = cli("emit", str(project / "stack.yaml"))
    assert "notice:" not in again.stderr, "nothing changes the second time"


def test_no_notice_when_the_pair_is_untouched(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "scale-out", "--redundant", "backend")
    stack = project / "stack.yaml"
    data = yaml.safe_load(stack.read_text())
    data["gateways"][0]["memory_mb"] = 3072  # frontend-0 only
    stack.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("emit", str(stack))
    assert result.exit_code == 0, result.stderr
    assert "notice:" not in result.stderr


def test_check_names_a_backup_stateful_set_left_from_the_0_1_layout(
    cli: Cli, tmp_path: Path
) -> None:
    """0.1 ran a backup as a StatefulSet of its own; the emit that moves it into its master's
    StatefulSet says it keeps running unless the apply prunes it."""
    project = create(
        cli, tmp_path, "--arch", "basic", "--redundant", "gateway", "--target", "kubernetes"
    )
    base = project / "targets" / "kubernetes"
    old = base / "apps_v1_statefulset_gateway-backup.yaml"
    old.write_text(
        yaml.safe_dump(
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "gateway-backup"}}
        )
    )
    manifest = base / ".ignition-stack-files"
    manifest.write_text(manifest.read_text() + old.name + "\n")
    check = cli("emit", str(project / "stack.yaml"), "--check")
    assert check.exit_code == 1
    assert "removes StatefulSet gateway-backup, which keeps running" in check.stdout
    assert "kubectl delete statefulset gateway-backup" in check.stdout
    result = cli("emit", str(project / "stack.yaml"))
    assert result.exit_code == 0, result.stderr
    assert "notice: apps_v1_statefulset_gateway-backup.yaml: removes StatefulSet" in result.stderr
    assert not old.exists()


def test_post_setup_upgrades_each_pair_backup_first(cli: Cli, tmp_path: Path) -> None:
    project = create(
        cli, tmp_path, "--arch", "hub-and-spoke", "--redundant", "hub", "--transport", "ssl"
    )
    text = (project / "POST-SETUP.md").read_text()
    section = text[text.index("## Upgrade the pair") :]
    commands = [line for line in section.splitlines() if line.startswith("docker compose")]
    assert commands[:5] == [
        "docker compose run --rm --no-deps hub-backup-bootstrap",
        "docker compose up -d --no-deps --wait hub-backup",
        "docker compose run --rm --no-deps hub-bootstrap",
        "docker compose up -d --no-deps --wait hub",
        "docker compose up -d --wait     # then everything else",
    ]
    assert "docker compose run --rm --no-deps gateway-network-pki" in section
    assert "Platform → System → Redundancy" in text
    assert "Config → System → Redundancy" not in text


def test_post_setup_names_reloader_as_a_prerequisite(cli: Cli, tmp_path: Path) -> None:
    project = create(
        cli,
        tmp_path,
        "--arch",
        "basic",
        "--redundant",
        "gateway",
        "--transport",
        "ssl",
        "--target",
        "kubernetes",
    )
    text = (project / "POST-SETUP.md").read_text()
    assert "**Reloader**" in text and "Without Reloader, nothing restarts the pods" in text
    assert "| `gateway-0` | `gateway` (master) |" in text
    assert "| `gateway-1` | `gateway-backup` (backup) |" in text
    assert "## Upgrade the pair" not in text, "a Compose section only"
