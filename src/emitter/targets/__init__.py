"""Targets: each lowers the IR into files, as a pure function (no I/O, no clock, no randomness).

Each target is one record (``registry.Target``) in its own package, registered below; the rest
of the tool asks the registry. The records import their emitters and validators only when
used, so ``--version`` and ``--help`` stay instant and ``validate`` loads no emitter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emitter.targets import registry
from emitter.targets.registry import Emission, Target, target_names

if TYPE_CHECKING:  # pydantic models: ``validate`` imports this module and needs neither
    from emitter.ir import Stack
    from emitter.spec import StackSpec
    from emitter.validation import TargetValidator, ValidateOptions

__all__ = [
    "Emission",
    "Target",
    "drift_notes",
    "emit",
    "options_of",
    "registry",
    "target_names",
    "validators",
]


def _register_built_in() -> None:
    # The order of ``--target all``, of POST-SETUP.md's sections and of a stack file's
    # `targets:`; each validator claims files by content in this order too (Compose's claim
    # is the narrower one).
    from emitter.targets.compose import TARGET as COMPOSE
    from emitter.targets.kubernetes import TARGET as KUBERNETES

    for target in (COMPOSE, KUBERNETES):
        registry.register(target)


_register_built_in()


def options_of(name: str, spec: StackSpec) -> Any:
    """The target's options from the stack file (its model's defaults when the key is
    absent), or None for a target without options."""
    options = registry.get(name).options
    if options is None:
        return None
    value = getattr(spec, options.key, None)
    return options.model()() if value is None else value


def emit(name: str, stack: Stack, options: Any) -> Emission:
    """The target's files, after the rule every target shares: the stack's pinned files (a
    module, a restored backup) in a form the target can use. An error there: no files."""
    from emitter.diagnostics import has_errors
    from emitter.pinned_file import target_rules

    target = registry.get(name)
    found = target_rules(stack, target, options)
    if has_errors(found):
        return Emission(files={}, diagnostics=found)
    emission = target.emit(stack, options)
    return Emission(emission.files, (*found, *emission.diagnostics))


def drift_notes(name: str, path: str, before: str | None, after: str | None) -> list[str]:
    """What a reviewer must know about a change of ``path`` (None: absent before or after)
    beyond its diff: fields the platform cannot update in place, objects left behind, services
    recreated together."""
    notes = registry.get(name).drift_notes
    return notes(path, before, after) if notes else []


def validators(options: ValidateOptions) -> list[TargetValidator]:
    """Every target's validator for one ``validate`` run (a bad flag is a usage error here)."""
    return [target.validator(options) for target in registry.targets() if target.validator]
