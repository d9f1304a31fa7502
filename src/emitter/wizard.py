"""The interactive wizard ``create NAME`` runs when given neither --arch nor -f.

It asks what ``create`` has flags for, in the flags' terms, and only what the flags left open:
flags > wizard answers > defaults. The flags it is given were checked before it runs, by the
same code as on every other path (``flags.py``), so a bad ``--edge-role`` is the same exit 2
with or without the wizard. Before anything is written the user sees a summary, the flags'
values in it, and confirms it (``confirm``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from emitter.architectures import ARCHITECTURES, Architecture
from emitter.diagnostics import UsageError
from emitter.targets import registry

if TYPE_CHECKING:
    from emitter.ir import Stack

NO_ROLE = "none"
MAX_REPLICAS = 10000
TRANSPORTS = (
    ("ssl", "ssl: port 8060, certificates from a stack CA, still no clicks"),
    ("plain", "plain: port 8088, no SSL (isolated demo networks only)"),
)


def _target_choices() -> tuple[tuple[str, str], ...]:
    """Each registered target with its one-line description, then all of them."""
    every = "both" if len(registry.names()) == 2 else "every target"
    return (
        *((target.name, f"{target.name}: {target.description}") for target in registry.targets()),
        (registry.ALL, f"{registry.ALL}: {every}"),
    )


def _require_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "no --arch or -f given, and no terminal for the wizard: pass "
            "--arch basic|scale-out|hub-and-spoke (and --redundant ROLE), or -f STACK_FILE"
        )


def _ask(question: Any) -> Any:
    answer = question.ask()
    if answer is None:  # Ctrl-C / Ctrl-D
        raise KeyboardInterrupt
    return answer


def run_wizard(name: str, flags: dict[str, Any], implied: str | None) -> dict[str, Any]:
    """Answers, under the flags' names, to the questions the flags in ``flags`` left open
    (``target`` among them). The flags were checked before (``flags.check_before_wizard``),
    which also found the architecture they imply (``implied``, None: ask for it)."""
    _require_terminal()
    import questionary

    answers: dict[str, Any] = {}
    architecture_name = implied
    if architecture_name is None:
        architecture_name = _ask(
            questionary.select(
                f"Architecture for {name}?",
                choices=[
                    questionary.Choice(f"{arch.name}: {arch.summary}", value=arch.name)
                    for arch in ARCHITECTURES.values()
                ],
            )
        )
    else:
        print(f"Architecture: {architecture_name} (from the options given)")
    answers["architecture"] = architecture_name
    architecture = ARCHITECTURES[architecture_name]
    option = architecture.replica_option
    if option is not None and flags.get(option) is None:
        answers[option] = _count(questionary, architecture, option)
    if flags.get("redundant") is None:
        answers["redundant"] = _redundancy(questionary, architecture)
    if flags.get("edge_role") is None:
        answers["edge_role"] = _edge_role(questionary, architecture)
    if flags.get("transport") is None:
        answers["transport"] = _select(questionary, "Gateway Network transport?", TRANSPORTS)
    if flags.get("target") is None:
        answers["target"] = _select(questionary, "What should it generate?", _target_choices())
    return answers


def _count(questionary: Any, architecture: Architecture, option: str) -> int:
    minimum = 1 if option == "frontends" else 0
    tier = architecture.replicated_role
    noun = f"{tier.name} gateways" if tier else option
    text = _ask(
        questionary.text(
            f"How many {noun} ({option})?",
            default=str(architecture.default_replicas),
            validate=lambda value: (
                (value.isdigit() and minimum <= int(value) <= MAX_REPLICAS)
                or f"a whole number from {minimum} to {MAX_REPLICAS}"
            ),
        )
    )
    return int(text)


def _redundancy(questionary: Any, architecture: Architecture) -> str:
    role = architecture.workhorse
    pair = _ask(
        questionary.confirm(
            f"Run the {role} role as a redundant master/backup pair ({role} and {role}-backup)?",
            default=False,
        )
    )
    return role if pair else NO_ROLE


def _edge_role(questionary: Any, architecture: Architecture) -> str:
    default = architecture.default_edge_role or NO_ROLE
    choices = [
        questionary.Choice(f"the {role} role", value=role) for role in architecture.role_names
    ]
    choices.append(questionary.Choice("none: every gateway runs the standard edition", NO_ROLE))
    return str(
        _ask(
            questionary.select(
                "Which role runs the Edge edition?",
                choices=choices,
                default=next(choice for choice in choices if choice.value == default),
            )
        )
    )


def _select(questionary: Any, question: str, options: Iterable[tuple[str, str]]) -> str:
    choices = [questionary.Choice(title, value=value) for value, title in options]
    return str(_ask(questionary.select(question, choices=choices)))


def confirm(summary: list[str], where: str) -> bool:
    """Print ``summary`` and ask before writing to ``where``."""
    import questionary

    print("\n".join(summary))
    return bool(_ask(questionary.confirm(f"Write the project to {where}?", default=True)))


def summary(stack: Stack, targets: tuple[str, ...], accept_eula: bool | None) -> list[str]:
    """What ``create`` is about to write, in a few lines (tiers shown as ranges)."""
    architecture = ARCHITECTURES[stack.architecture]
    gateways = []
    for tier in stack.tiers:
        if tier.replicated:
            count = len(tier.gateways)
            gateways.append(
                f"{tier.role}-0..{tier.role}-{count - 1}" if count else f"no {tier.role}s"
            )
        else:
            gateways.extend(_node(stack, name) for name in tier.gateways)
    edge = sorted({g.role for g in stack.gateways if g.edition == "edge"}) or [NO_ROLE]
    port = stack.gateway_network.port
    eula = "accepted for every gateway (accept_eula: true)" if accept_eula else "not recorded"
    return [
        f"Summary of {stack.name}:",
        f"  architecture  {architecture.name}: {architecture.summary}",
        f"  gateways      {', '.join(gateways)}",
        f"  Edge edition  {', '.join(edge)}",
        f"  transport     {stack.transport} (Gateway Network port {port})",
        f"  targets       {', '.join(targets)}",
        f"  Ignition EULA {eula}",
    ]


def _node(stack: Stack, name: str) -> str:
    gateway = stack.gateway(name)
    if gateway is None or gateway.redundancy is None:
        return name
    return f"{name} ({gateway.redundancy.role})"
