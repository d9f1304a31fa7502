"""Targets: each lowers the IR into files, as a pure function (no I/O, no clock, no randomness).

A target module exposes ``NAME`` and ``emit(stack, options) -> Emission``, and its
``validation`` module ``validator(options)`` for ``ignition-stack validate``. They are imported
only when used, so ``--version`` and ``--help`` stay instant, and ``validate`` loads no emitter.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

from emitter.diagnostics import Diagnostic, UsageError

if TYPE_CHECKING:  # pydantic models: ``validate`` imports this module and needs neither
    from emitter.ir import Stack
    from emitter.spec import ComposeSpec, KubernetesSpec
    from emitter.validation import TargetValidator, ValidateOptions

TARGET_NAMES = ("compose", "kubernetes")
ALIASES = {"k8s": "kubernetes", "all": "all"}


@dataclass(frozen=True)
class TargetOptions:
    """Target-specific settings from the stack file."""

    kubernetes: KubernetesSpec = field(default_factory=lambda: _kubernetes_spec())
    compose: ComposeSpec = field(default_factory=lambda: _compose_spec())


def _kubernetes_spec() -> KubernetesSpec:
    from emitter.spec import KubernetesSpec

    return KubernetesSpec()


def _compose_spec() -> ComposeSpec:
    from emitter.spec import ComposeSpec

    return ComposeSpec()


@dataclass(frozen=True)
class Emission:
    """What a target produced: relative POSIX path -> text, plus target-specific diagnostics."""

    files: dict[str, str]
    diagnostics: tuple[Diagnostic, ...] = ()


class _TargetModule(Protocol):
    NAME: str

    def emit(self, stack: Stack, options: TargetOptions) -> Emission: ...


def target_names(requested: str) -> tuple[str, ...]:
    """``compose`` / ``k8s`` / ``kubernetes`` / ``all`` -> target names, or a usage error."""
    name = ALIASES.get(requested, requested)
    if name == "all":
        return TARGET_NAMES
    if name not in TARGET_NAMES:
        raise UsageError(f"unknown target {requested!r}; use one of compose, k8s (kubernetes), all")
    return (name,)


def emit(name: str, stack: Stack, options: TargetOptions) -> Emission:
    module = cast(_TargetModule, importlib.import_module(f"emitter.targets.{name}"))
    return module.emit(stack, options)


def drift_notes(name: str, path: str, before: str | None, after: str | None) -> list[str]:
    """What a reviewer must know about a change of ``path`` (None: absent before or after)
    beyond its diff: fields the platform cannot update in place, objects left behind, services
    recreated together. From the target's optional ``drift`` module."""
    try:
        module = importlib.import_module(f"emitter.targets.{name}.drift")
    except ModuleNotFoundError:
        return []
    notes: list[str] = module.drift_notes(path, before, after)
    return notes


# Each target's part of ``validate``, in the order they claim a file by its content (Compose's
# claim is the narrower one).
VALIDATORS = {
    "compose": "emitter.targets.compose.validation",
    "kubernetes": "emitter.targets.kubernetes.validation",
}


def validators(options: ValidateOptions) -> list[TargetValidator]:
    """Every target's validator for one ``validate`` run (a bad flag is a usage error here)."""
    made = []
    for module_name in VALIDATORS.values():
        module = importlib.import_module(module_name)
        made.append(cast("TargetValidator", module.validator(options)))
    return made
