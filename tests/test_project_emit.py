"""`emit` in a created project: it keeps to the targets stack.yaml records, and it keeps
POST-SETUP.md current in the same commit as targets/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from emitter.documents import post_setup
from emitter.pipeline import prepare
from emitter.spec import load_stack_file
from emitter.targets import registry

from .conftest import GOLDEN, Result, read_tree

Cli = Callable[..., Result]


def create(cli: Cli, parent: Path, *args: str) -> Path:
    result = cli("create", "plant", *args, "-o", str(parent))
    assert result.exit_code == 0, result.stderr
    return parent / "plant"


def recorded_targets(project: Path) -> list[str]:
    targets: list[str] = yaml.safe_load((project / "stack.yaml").read_text())["targets"]
    return targets


# --- the project's targets ----------------------------------------------------------------------


def test_emit_keeps_a_compose_project_compose_only(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "basic", "--transport", "ssl")
    assert recorded_targets(project) == ["compose"]
    stack = project / "stack.yaml"
    stack.write_text(stack.read_text().replace("memory_mb: 2048", "memory_mb: 3072"))
    result = cli("emit", str(stack))
    assert result.exit_code == 0, result.stderr
    assert "compose: wrote" in result.stdout and "kubernetes" not in result.stdout
    assert sorted(p.name for p in (project / "targets").iterdir()) == ["compose"]
    check = cli("emit", str(stack), "--check")
    assert check.exit_code == 0, check.stdout
    assert "kubernetes" not in check.stdout


def test_create_records_its_targets_and_a_stack_file_carries_them(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path / "a", "--arch", "basic", "--target", "all")
    assert recorded_targets(project) == list(registry.names())
    dry = cli("create", "plant", "--arch", "basic", "--target", "k8s", "--dry-run")
    assert yaml.safe_load(dry.stdout)["targets"] == ["kubernetes"]
    # -f keeps the file's targets unless --target says otherwise.
    again = create(cli, tmp_path / "b", "-f", str(project / "stack.yaml"))
    assert recorded_targets(again) == list(registry.names())
    assert sorted(p.name for p in (again / "targets").iterdir()) == list(registry.names())
    narrowed = create(cli, tmp_path / "c", "-f", str(project / "stack.yaml"), "--target", "k8s")
    assert recorded_targets(narrowed) == ["kubernetes"]
    assert sorted(p.name for p in (narrowed / "targets").iterdir()) == ["kubernetes"]
    assert not (narrowed / "compose.yaml").exists()


def test_target_narrows_or_adds_for_one_run(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "basic", "--target", "all", "--transport", "ssl")
    stack = project / "stack.yaml"
    stack.write_text(stack.read_text().replace("memory_mb: 2048", "memory_mb: 3072"))
    kubernetes_before = read_tree(project / "targets" / "kubernetes")
    # Narrowed: only Compose is rewritten; Kubernetes stays as it was, and --check says so.
    narrowed = cli("emit", str(stack), "--target", "compose")
    assert narrowed.exit_code == 0, narrowed.stderr
    assert read_tree(project / "targets" / "kubernetes") == kubernetes_before
    assert cli("emit", str(stack), "--target", "compose", "--check").exit_code == 0
    assert cli("emit", str(stack), "--check").exit_code == 1
    assert cli("emit", str(stack)).exit_code == 0
    assert cli("emit", str(stack), "--check").exit_code == 0
    # Added for one run: the target is written, stack.yaml is not changed, and a later emit
    # without --target leaves it alone.
    compose_only = create(cli, tmp_path / "compose", "--arch", "basic", "--transport", "ssl")
    stack = compose_only / "stack.yaml"
    recorded = stack.read_text()
    added = cli("emit", str(stack), "--target", "k8s")
    assert added.exit_code == 0, added.stderr
    assert "kubernetes is not in the stack file's `targets:`" in added.stderr
    assert stack.read_text() == recorded
    assert (compose_only / "targets" / "kubernetes" / "kustomization.yaml").is_file()
    stack.write_text(recorded.replace("memory_mb: 2048", "memory_mb: 3072"))
    kubernetes_before = read_tree(compose_only / "targets" / "kubernetes")
    assert cli("emit", str(stack)).exit_code == 0
    assert read_tree(compose_only / "targets" / "kubernetes") == kubernetes_before


def test_a_stack_file_without_targets_keeps_the_emitted_ones(cli: Cli, tmp_path: Path) -> None:
    """A project from 0.1 has no `targets:`: emit keeps to the trees it finds beside the stack
    file, and a stack file with no trees beside it gets every target (0.1's default)."""
    project = tmp_path / "old"
    project.mkdir()
    stack = project / "stack.yaml"
    shutil.copy(GOLDEN / "basic-redundant" / "stack.yaml", stack)
    assert "targets" not in yaml.safe_load(stack.read_text())
    assert cli("emit", str(stack), "--target", "compose").exit_code == 0
    result = cli("emit", str(stack))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (project / "targets").iterdir()) == ["compose"]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(stack, fresh / "stack.yaml")
    assert cli("emit", str(fresh / "stack.yaml")).exit_code == 0
    assert sorted(p.name for p in (fresh / "targets").iterdir()) == list(registry.names())


def test_targets_in_a_stack_file_are_checked(cli: Cli, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    for value, message in (
        ("[]", "at least 1 item"),
        ("[compose, compose]", "list each target once"),
        ("[k8s]", "'compose' or 'kubernetes'"),
    ):
        stack.write_text(f"name: plant\narchitecture: basic\ntargets: {value}\n")
        result = cli("emit", str(stack))
        assert result.exit_code == 1
        assert "error IS002 targets" in result.stderr and message in result.stderr


# --- POST-SETUP.md is generated output ---------------------------------------------------------


def expected_post_setup(project: Path) -> str:
    resolved = prepare(load_stack_file(project / "stack.yaml"))
    targets = tuple(resolved.explicit.targets or ())
    return post_setup(resolved.stack, targets)


def test_emit_keeps_post_setup_current_and_check_covers_it(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "hub-and-spoke", "--spokes", "3")
    stack = project / "stack.yaml"
    document = project / "POST-SETUP.md"
    assert document.read_text() == expected_post_setup(project)
    assert "POST-SETUP.md" in (project / ".ignition-stack-files").read_text()
    # The user switches to SSL and drops a spoke, as POST-SETUP.md itself advises.
    text = stack.read_text().replace("transport: plain", "transport: ssl")
    stack.write_text(text.replace("spokes: 3", "spokes: 2").split("\ngateways:")[0] + "\n")
    check = cli("emit", str(stack), "--check")
    assert check.exit_code == 1
    assert "POST-SETUP.md: " in check.stdout and "  changed: POST-SETUP.md" in check.stdout
    result = cli("emit", str(stack))
    assert result.exit_code == 0, result.stderr
    assert f"POST-SETUP.md: wrote {document}" in result.stdout
    assert document.read_text() == expected_post_setup(project)
    assert "spoke-2" not in document.read_text() and "`ssl`" in document.read_text()
    after = cli("emit", str(stack), "--check")
    assert after.exit_code == 0, after.stdout
    assert f"POST-SETUP.md: {document} is up to date" in after.stdout
    # A user who edits it is told, as for any generated file.
    document.write_text(document.read_text() + "my note\n")
    assert cli("emit", str(stack), "--check").exit_code == 1


def test_post_setup_from_an_older_release_is_taken_over(cli: Cli, tmp_path: Path) -> None:
    """0.1 wrote POST-SETUP.md without listing it anywhere; emit recognises it by its first
    line and rewrites it. A POST-SETUP.md someone else wrote is never overwritten."""
    project = create(cli, tmp_path, "--arch", "basic", "--transport", "ssl")
    (project / ".ignition-stack-files").unlink()
    document = project / "POST-SETUP.md"
    document.write_text("# POST-SETUP: plant\n\nwhat 0.1 wrote\n")
    result = cli("emit", str(project / "stack.yaml"))
    assert result.exit_code == 0, result.stderr
    assert document.read_text() == expected_post_setup(project)
    (project / ".ignition-stack-files").unlink()
    document.write_text("# Our own setup notes\n")
    refused = cli("emit", str(project / "stack.yaml"))
    assert refused.exit_code == 1
    assert "did not write: POST-SETUP.md" in refused.stderr
    assert document.read_text() == "# Our own setup notes\n"


def test_post_setup_changes_in_the_same_commit_as_targets(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "basic", "--transport", "ssl")
    stack = project / "stack.yaml"
    stack.write_text(stack.read_text().replace("memory_mb: 2048", "memory_mb: 3072"))
    before = read_tree(project / "targets")
    (project / "POST-SETUP.md").unlink()
    (project / "POST-SETUP.md").mkdir()  # in the way: the whole emit is refused
    result = cli("emit", str(stack))
    assert result.exit_code == 1
    assert "POST-SETUP.md (a directory is in the way)" in result.stderr
    assert read_tree(project / "targets") == before, "targets/ was not written without it"


def test_emit_with_out_writes_no_post_setup(cli: Cli, tmp_path: Path) -> None:
    project = create(cli, tmp_path, "--arch", "basic", "--transport", "ssl")
    before = (project / "POST-SETUP.md").read_text()
    stack = project / "stack.yaml"
    stack.write_text(stack.read_text().replace("memory_mb: 2048", "memory_mb: 3072"))
    out = tmp_path / "elsewhere"
    assert cli("emit", str(stack), "--out", str(out)).exit_code == 0
    assert not (out / "POST-SETUP.md").exists()
    assert (project / "POST-SETUP.md").read_text() == before


# --- notes on a change read the old tree by descriptor --------------------------------------------


@pytest.mark.parametrize("check", [True, False])
def test_change_notes_never_read_through_a_symlink(cli: Cli, tmp_path: Path, check: bool) -> None:
    """A generated file swapped for a symlink is not read to explain the change: only the
    tree writer's descriptor-based read (which refuses symlinks) feeds the notes."""
    project = create(cli, tmp_path, "--arch", "basic", "--target", "k8s", "--transport", "ssl")
    base = project / "targets" / "kubernetes"
    manifest = next(p for p in sorted(base.glob("*.yaml")) if "kind: StatefulSet" in p.read_text())
    # Outside the tree: the same StatefulSet with another volume size, which a note would call
    # out ("cannot update in place") if it were read.
    outside = tmp_path / "outside.yaml"
    outside.write_text(manifest.read_text().replace("storage: 3Gi", "storage: 99Gi"))
    assert outside.read_text() != manifest.read_text()
    manifest.unlink()
    manifest.symlink_to(outside)
    args = ["emit", str(project / "stack.yaml")] + (["--check"] if check else [])
    result = cli(*args)
    assert result.exit_code == 1
    assert "cannot update in place" not in result.stdout + result.stderr
    if not check:
        assert "refusing to replace symlink" in result.stderr
    assert "storage: 99Gi" in outside.read_text()


def test_a_named_pipe_in_place_of_a_generated_file_does_not_hang(tmp_path: Path) -> None:
    """The tree writer's reads never wait for a writer (in a process of its own, so that a
    regression fails instead of stalling the run)."""
    project = tmp_path / "plant"
    created = subprocess.run(
        [sys.executable, "-m", "emitter", "create", "plant", "--arch", "basic", "-o", tmp_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    (project / "POST-SETUP.md").unlink()
    os.mkfifo(project / "POST-SETUP.md")
    for extra in (["--check"], []):
        result = subprocess.run(
            [sys.executable, "-m", "emitter", "emit", project / "stack.yaml", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == (1 if extra else 0), result.stdout + result.stderr
    assert (project / "POST-SETUP.md").is_file()
