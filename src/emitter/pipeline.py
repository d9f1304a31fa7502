"""The pipeline every command runs: spec -> resolve -> rules -> targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emitter import rules
from emitter.diagnostics import Diagnostic, Severity, StackInvalid, has_errors
from emitter.ir import Stack
from emitter.resolve import resolve
from emitter.spec import StackSpec
from emitter.targets import Emission, emit, options_of


@dataclass(frozen=True)
class Resolved:
    explicit: StackSpec
    stack: Stack
    warnings: tuple[Diagnostic, ...]
    strict: bool = False

    def options(self, target: str) -> Any:
        """The stack file's options for ``target`` (its defaults when the key is absent)."""
        return options_of(target, self.explicit)


def prepare(spec: StackSpec, strict: bool = False) -> Resolved:
    """Resolve and check a stack; raise ``StackInvalid`` with every diagnostic on any error."""
    explicit, stack = resolve(spec)
    diagnostics = rules.check(explicit, stack, strict=strict)
    if has_errors(diagnostics):
        # Only what stops the command: its warnings show on the run after the errors are fixed.
        raise StackInvalid([d for d in diagnostics if d.severity is Severity.ERROR])
    return Resolved(explicit, stack, tuple(diagnostics), strict)


def render(resolved: Resolved, targets: tuple[str, ...]) -> dict[str, Emission]:
    """Every requested target's files; target diagnostics that are errors stop the run."""
    emissions = {name: emit(name, resolved.stack, resolved.options(name)) for name in targets}
    found = [d for emission in emissions.values() for d in emission.diagnostics]
    if resolved.strict:
        found = [d.promoted() for d in found]
    if has_errors(found):
        raise StackInvalid([d for d in found if d.severity is Severity.ERROR])
    return emissions


def warnings_of(resolved: Resolved, emissions: dict[str, Emission]) -> tuple[Diagnostic, ...]:
    """Every warning of a run: the stack's, then each target's (e.g. a stack too large for
    one host)."""
    return resolved.warnings + tuple(
        diagnostic for emission in emissions.values() for diagnostic in emission.diagnostics
    )
