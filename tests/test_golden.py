"""Golden trees: for every case, the explicit stack file, every target's whole output tree, and
what a user reads of a created project: its POST-SETUP.md and the warnings `create` prints.

Refresh with `pytest --update-golden` and review the result as a diff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from emitter.pipeline import prepare, render
from emitter.spec import dump_stack, load_stack_file
from tests.support.cases import CASES, expected, stack_file
from tests.targets.registered import ALL_TARGETS, golden_directory, registered

from .conftest import Result

GoldenTree = Callable[[Mapping[str, str], Path, bool], None]
Cli = Callable[..., Result]


@pytest.mark.parametrize("case", CASES)
def test_explicit_stack_file(case: str, golden_tree: GoldenTree, update_golden: bool) -> None:
    resolved = prepare(load_stack_file(stack_file(case)))
    golden_tree(
        {"stack.yaml": dump_stack(resolved.explicit)}, expected(case, "dry-run"), update_golden
    )


@pytest.mark.parametrize("target", ALL_TARGETS)
@pytest.mark.parametrize("case", CASES)
def test_target_tree(case: str, target: str, golden_tree: GoldenTree, update_golden: bool) -> None:
    with registered(target):
        resolved = prepare(load_stack_file(stack_file(case)))
        emission = render(resolved, (target,))[target]
    golden_tree(emission.files, golden_directory(case, target), update_golden)


@pytest.mark.parametrize("case", CASES)
def test_created_project_documents(
    case: str, cli: Cli, tmp_path: Path, golden_tree: GoldenTree, update_golden: bool
) -> None:
    """The created project (every target) as its user first reads it: POST-SETUP.md, and the
    diagnostics `create` prints (on stderr; its stdout has the project's path)."""
    created = cli(
        "create", "plant", "-f", str(stack_file(case)), "--target", "all", "-o", str(tmp_path)
    )
    assert created.exit_code == 0, created.stderr
    documents = {
        "POST-SETUP.md": (tmp_path / "plant" / "POST-SETUP.md").read_text(encoding="utf-8"),
        "diagnostics.txt": created.stderr,
    }
    golden_tree(documents, expected(case, "project"), update_golden)
