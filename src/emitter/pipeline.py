"""The pipeline every command runs: spec -> resolve -> rules -> targets."""

from __future__ import annotations

from dataclasses import dataclass

from emitter import rules
from emitter.diagnostics import Diagnostic, StackInvalid, has_errors
from emitter.ir import Stack
from emitter.resolve import resolve
from emitter.spec import ComposeSpec, StackSpec
from emitter.targets import Emission, TargetOptions, emit


@dataclass(frozen=True)
class Resolved:
    explicit: StackSpec
    stack: Stack
    warnings: tuple[Diagnostic, ...]

    @property
    def options(self) -> TargetOptions:
        return TargetOptions(
            kubernetes=self.explicit.kubernetes, compose=self.explicit.compose or ComposeSpec()
        )


def prepare(spec: StackSpec, strict: bool = False) -> Resolved:
    """Resolve and check a stack; raise ``StackInvalid`` with every diagnostic on any error."""
    explicit, stack = resolve(spec)
    diagnostics = rules.check(explicit, stack, strict=strict)
    if has_errors(diagnostics):
        raise StackInvalid(diagnostics)
    return Resolved(explicit, stack, tuple(diagnostics))


def render(resolved: Resolved, targets: tuple[str, ...]) -> dict[str, Emission]:
    """Every requested target's files; target diagnostics that are errors stop the run."""
    emissions = {name: emit(name, resolved.stack, resolved.options) for name in targets}
    found = [d for emission in emissions.values() for d in emission.diagnostics]
    if has_errors(found):
        raise StackInvalid(found)
    return emissions
