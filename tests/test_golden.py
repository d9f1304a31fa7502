"""Golden trees: for every case, the explicit stack file and every target's whole output tree.

Refresh with `pytest --update-golden` and review the result as a diff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from emitter.pipeline import prepare, render
from emitter.spec import dump_stack, load_stack_file
from emitter.targets import registry

from .conftest import GOLDEN

CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "stack.yaml").is_file())

GoldenTree = Callable[[Mapping[str, str], Path, bool], None]


@pytest.mark.parametrize("case", CASES)
def test_explicit_stack_file(case: str, golden_tree: GoldenTree, update_golden: bool) -> None:
    resolved = prepare(load_stack_file(GOLDEN / case / "stack.yaml"))
    golden_tree(
        {"stack.yaml": dump_stack(resolved.explicit)},
        GOLDEN / case / "expected" / "dry-run",
        update_golden,
    )


@pytest.mark.parametrize("target", registry.names())
@pytest.mark.parametrize("case", CASES)
def test_target_tree(case: str, target: str, golden_tree: GoldenTree, update_golden: bool) -> None:
    resolved = prepare(load_stack_file(GOLDEN / case / "stack.yaml"))
    emission = render(resolved, (target,))[target]
    golden_tree(emission.files, GOLDEN / case / "expected" / target, update_golden)
