"""No generated secret value in any emitted file: for every golden case, a project created with
every target, whose every file under the git-ignored secrets/ (the admin password, a database's
password) is searched for in every other file of the project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Result
from .support.cases import CASES, stack_file

Cli = Callable[..., Result]


@pytest.mark.parametrize("case", CASES)
def test_no_generated_secret_in_any_file(case: str, cli: Cli, tmp_path: Path) -> None:
    created = cli(
        "create", "plant", "-f", str(stack_file(case)), "--target", "all", "-o", str(tmp_path)
    )
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    files = {p.relative_to(project).as_posix(): p for p in project.rglob("*") if p.is_file()}
    secrets = {
        path: file.read_text().strip()
        for path, file in files.items()
        if path.startswith("secrets/")
    }
    assert "secrets/gateway-admin-password" in secrets
    if "database:" in stack_file(case).read_text():
        assert "secrets/database-password" in secrets
    for value in secrets.values():
        assert len(value) >= 24
    for path, file in files.items():
        if path.startswith("secrets/"):
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        for name, value in secrets.items():
            assert value not in text, f"{name}'s value is in {path}"
    assert not any(value in created.stdout + created.stderr for value in secrets.values())
