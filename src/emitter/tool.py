"""Which tool a project's CI installs: the ``tool:`` key of the stack file (``create
--tool-spec``), a pip requirement that must name this tool.

This tool is the distribution ``ignition-stack-emitter``. PyPI's ``ignition-stack`` is an
unrelated, Compose-only tool that installs a command of the same name, so a requirement naming
it would run the wrong tool in CI and is refused (IS124).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from emitter import __version__
from emitter.diagnostics import Diagnostic, error, preview
from emitter.targets import registry

if TYPE_CHECKING:
    from emitter.ir import Stack
    from emitter.spec import StackSpec

DISTRIBUTION = "ignition-stack-emitter"
OTHER_TOOL = "ignition-stack"
# Mirrors spec.TOOL_SPEC_PATTERN: one line, no pip option, no control characters.
_USABLE = re.compile(r"[^-\s][^\x00-\x1f\x7f]*")
MAX_LENGTH = 2000
# A requirement's leading project name (PEP 508); URLs and paths do not match it usefully.
_NAME = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:[=<>!~;@(]|$)")


def default_requirement(targets: Iterable[str] = ()) -> str:
    """The published release that wrote the files: another version may emit other bytes. A
    target may need an extra of the distribution (its record's ``extra``)."""
    extras = [extra for name in registry.in_order(targets) if (extra := registry.get(name).extra)]
    listed = f"[{','.join(extras)}]" if extras else ""
    return f"{DISTRIBUTION}{listed}=={__version__}"


def requirement(spec: StackSpec) -> str:
    return spec.tool or default_requirement()


def _project_name(text: str) -> str | None:
    if "://" in text.split("@")[0] or text.startswith((".", "/", "~")):
        return None  # a URL or a path: pip reads the name from what it fetches
    match = _NAME.match(text)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def tool_problem(text: str, path: str = "tool") -> Diagnostic | None:
    """Why ``text`` cannot be the requirement the CI workflow installs, if it cannot."""
    if len(text) > MAX_LENGTH or not _USABLE.fullmatch(text):
        return error(
            "IS124",
            path,
            f"{preview(text)!r} is not a pip requirement on one line",
            f"give a requirement, wheel URL or git URL, e.g. `{default_requirement()}` "
            "(no pip options, no line breaks, at most 2000 characters)",
        )
    if _project_name(text) == OTHER_TOOL:
        return error(
            "IS124",
            path,
            f"{preview(text)!r} names PyPI's `{OTHER_TOOL}`, a different tool with the same "
            "command name",
            f"this tool is the distribution `{DISTRIBUTION}`, e.g. `{default_requirement()}`",
        )
    return None


def check_tool(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    problem = None if spec.tool is None else tool_problem(spec.tool)
    if problem:
        yield problem
