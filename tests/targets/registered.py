"""The targets the suite runs: the registered ones and the suite's own (``TEST_TARGETS``),
which tests register for their duration with ``registered()``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from emitter.targets import registry
from emitter.targets.registry import Target
from tests.support.cases import expected
from tests.targets.json.target import TARGET as JSON

TEST_TARGETS: dict[str, Target] = {JSON.name: JSON}
# Every target a target-wide test runs: the built-in ones, then the suite's own.
ALL_TARGETS = (*registry.names(), *TEST_TARGETS)
HERE = Path(__file__).parent


@contextmanager
def registered(*names: str) -> Iterator[None]:
    """The suite's own targets among ``names`` (all of them by default) registered for a block."""
    with ExitStack() as stack:
        for name in names or tuple(TEST_TARGETS):
            if name in TEST_TARGETS:
                stack.enter_context(registry.registered(TEST_TARGETS[name]))
        yield


def golden_directory(case: str, target: str) -> Path:
    """Where a target's golden tree of a case lives: a built-in target's beside the case, the
    suite's own targets' under their own directory (tests/targets/<name>/golden/<case>)."""
    if target in TEST_TARGETS:
        return HERE / target / "golden" / case
    return expected(case, target)


# Run in a fresh process instead of ``python -m emitter``: the same command line, with the
# suite's own targets registered.
MAIN_WITH_TEST_TARGETS = (
    "import sys\n"
    "from tests.targets.registered import registered\n"
    "from emitter.cli import main\n"
    "with registered():\n"
    "    main(sys.argv[1:])\n"
)
