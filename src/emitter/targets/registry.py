"""The target contract: each target is one ``Target`` record, registered here once.

Everything outside ``emitter/targets/`` asks the registry instead of naming a target: the CLI's
``--target`` choices, the stack file's ``targets:`` and option keys, what ``create`` adds to a
project, the sections of POST-SETUP.md, the steps of the scaffolded CI workflow, ``validate``'s
validators and the names the rules keep free. A record holds plain data and small functions
that import their target's heavy modules only when called, so loading the registry costs
nothing that ``--help`` or ``--version`` would notice (no pydantic, no YAML, no client models).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from emitter.diagnostics import Diagnostic, UsageError

if TYPE_CHECKING:
    from emitter.ir import Gateway, Stack
    from emitter.validation import TargetValidator, ValidateOptions

# ``--target all``: every registered target.
ALL = "all"


@dataclass(frozen=True)
class Emission:
    """What a target produced: relative POSIX path -> text, plus target-specific diagnostics."""

    files: dict[str, str]
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class StackOptions:
    """A target's own key in ``stack.yaml``: ``field()`` gives the pydantic annotation and
    ``Field`` of that key and ``model()`` the options model (its defaults when the key is
    absent). ``order`` places the key among the targets' keys of a written stack file."""

    key: str
    model: Callable[[], type[Any]]
    field: Callable[[], tuple[Any, Any]]
    order: int = 0


def stack_options(module: str, key: str, order: int = 0) -> StackOptions:
    """The options key ``key`` whose ``module`` has ``model()`` and ``stack_field()``."""
    return StackOptions(key, lazy(f"{module}:model"), lazy(f"{module}:stack_field"), order)


@dataclass(frozen=True)
class PairAccess:
    """How POST-SETUP.md tells a user to reach a pair's master on one target: ``alone`` when
    the project has only this target, ``among`` when it lists several (joined by "; ");
    ``port`` is the local port the master answers on; ``own_ports``: each node has its own."""

    alone: str
    among: str
    port: int
    own_ports: bool


@dataclass(frozen=True)
class ValidateFlag:
    """An option of ``validate`` that concerns one target's files: ``--<name>`` (``_`` as
    ``-``); its value reaches the target's validator as ``ValidateOptions.flags[name]``, None
    (or False) when not given. ``kind``: ``text``, ``paths`` (repeatable) or ``switch``."""

    name: str
    help: str
    kind: Literal["text", "paths", "switch"] = "text"
    metavar: str | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class NameLimits:
    """The names a target derives from gateway names, which the rules keep free, and the
    longest gateway name it can use."""

    max_gateway_name: int | None = None
    # Why gateway names start with a letter on this target (None: they need not).
    letter_first: str | None = None
    # Names the target derives by appending these to a gateway name.
    suffixes: tuple[str, ...] = ()
    # Names the target takes for services and volumes of its own.
    names: frozenset[str] = frozenset()
    # Volume names the target derives from every gateway name (with ``transport: ssl``).
    volume_suffixes: tuple[str, ...] = ()
    # Environment variables the target sets in a gateway's container (an operator may not).
    variables: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Refusal:
    """A diagnostic's words for a pinned file this target cannot use as written: ``message``
    may name ``{name}`` (a module's name), ``{role}`` and ``{gateway}`` (quoted); ``hint`` is
    taken as written."""

    message: str
    hint: str


@dataclass(frozen=True)
class PinnedFiles:
    """How files pinned by checksum (``pinned_file.py``: a module's ``.modl``, a restore's
    ``.gwbk``) reach this target's gateways, per feature (``modules``, ``restore``). One rule,
    ``pinned_file.target_rules``, asks every requested target."""

    # Features whose file from the repository (``path``) this target cannot bring to a gateway.
    refuses_path: Mapping[str, Refusal] = field(default_factory=dict)
    # Features whose download (``url``) this target's seeding step does not make.
    refuses_url: Mapping[str, Refusal] = field(default_factory=dict)
    # The target's options -> True when the gateways cannot reach a download server (an
    # egress policy the options do not open); None: downloads are never blocked.
    downloads_blocked: Callable[[Any], bool] | None = None
    # Per feature, the warning for a download that ``downloads_blocked`` stops.
    blocked_download: Mapping[str, Refusal] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """One target: what the rest of the tool may know about it.

    ``emit`` lowers the IR into files (pure: no I/O); the other functions are optional parts
    of the contract, None when the target has nothing to add there.
    """

    name: str
    # What it is called in prose (``--help``): the platform it deploys to.
    title: str
    # One line: the wizard's choice and the --target help.
    description: str
    emit: Callable[[Stack, Any], Emission]
    aliases: tuple[str, ...] = ()
    options: StackOptions | None = None
    # What a reviewer must know about a change of a path (None: absent before or after)
    # beyond its diff: fields the platform cannot update in place, services recreated together.
    drift_notes: Callable[[str, str | None, str | None], list[str]] | None = None
    # Files ``create`` scaffolds once for a project with this target (path -> text).
    project_files: Callable[[Stack], dict[str, str]] | None = None
    # Paths below the project where ``create`` writes a random admin password (git-ignored).
    password_files: tuple[str, ...] = ()
    # More random passwords that only some stacks need (the MQTT broker's, the database's), by
    # stack: git-ignored files ``create`` writes once.
    stack_password_files: Callable[[Stack], tuple[str, ...]] | None = None
    # What ``create`` prints to start the stack (``{directory}``: the project directory).
    start_command: str | None = None
    # This target's section of POST-SETUP.md, as lines.
    post_setup: Callable[[Stack], list[str]] | None = None
    # How POST-SETUP.md's pair check reaches a pair's master.
    pair_access: Callable[[Stack, Gateway], PairAccess] | None = None
    # Steps of the scaffolded CI workflow, run after the drift check.
    ci_steps: Callable[[], list[dict[str, Any]]] | None = None
    # A schema-check step that replaces the default one (it checks every target's files).
    ci_validate_step: Callable[[], dict[str, Any]] | None = None
    # The pip extra of ignition-stack-emitter this target needs.
    extra: str | None = None
    # ``ignition-stack validate``'s part for this target's files, and its own flags.
    validator: Callable[[ValidateOptions], TargetValidator] | None = None
    validate_flags: tuple[ValidateFlag, ...] = ()
    limits: NameLimits = field(default_factory=NameLimits)
    pinned_files: PinnedFiles = field(default_factory=PinnedFiles)


def lazy(reference: str) -> Callable[..., Any]:
    """The function ``"module:name"``, imported when first called: a record's functions
    keep its target's heavy modules unloaded until they are needed."""
    module_name, _, name = reference.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module_name), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = reference
    return call


_TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Add a target; its name and aliases must be new."""
    taken = {name for known in _TARGETS.values() for name in (known.name, *known.aliases)}
    clashes = sorted({target.name, *target.aliases} & (taken | {ALL}))
    if clashes:
        raise ValueError(f"target name already taken: {', '.join(clashes)}")
    _TARGETS[target.name] = target
    return target


def unregister(name: str) -> None:
    del _TARGETS[name]


@contextmanager
def registered(target: Target) -> Iterator[Target]:
    """``target`` registered for the duration of a block (a test's own target)."""
    register(target)
    try:
        yield target
    finally:
        unregister(target.name)


def targets() -> tuple[Target, ...]:
    """Every target, in the order they were registered (the order of ``--target all``)."""
    return tuple(_TARGETS.values())


def names() -> tuple[str, ...]:
    return tuple(_TARGETS)


def get(name: str) -> Target:
    return _TARGETS[name]


def aliases() -> Mapping[str, str]:
    """Alias -> target name."""
    return {alias: target.name for target in _TARGETS.values() for alias in target.aliases}


def choices() -> tuple[str, ...]:
    """What ``--target`` accepts: each target's aliases and name, then ``all``."""
    return (*(n for target in _TARGETS.values() for n in (*target.aliases, target.name)), ALL)


def spelled() -> str:
    """The choices as a usage message lists them: ``compose, k8s (kubernetes), all``."""
    parts = [
        f"{target.aliases[0]} ({target.name})" if target.aliases else target.name
        for target in _TARGETS.values()
    ]
    return ", ".join([*parts, ALL])


def target_names(requested: str) -> tuple[str, ...]:
    """A ``--target`` value (a name, an alias or ``all``) -> target names, or a usage error."""
    if requested == ALL:
        return names()
    name = aliases().get(requested, requested)
    if name not in _TARGETS:
        raise UsageError(f"unknown target {requested!r}; use one of {spelled()}")
    return (name,)


def in_order(requested: Iterable[str]) -> tuple[str, ...]:
    """The registered targets among ``requested``, in registry order."""
    wanted = set(requested)
    return tuple(name for name in _TARGETS if name in wanted)
