"""The interactive wizard ``create NAME`` runs when given neither --arch nor -f."""

from __future__ import annotations

import sys
from typing import Any

from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import UsageError


def run_wizard(name: str) -> dict[str, Any]:
    """Ask for the stack's shape; answers use the same names as the flags."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "no --arch or -f given, and no terminal for the wizard: pass "
            "--arch basic|scale-out|hub-and-spoke (and --redundant ROLE), or -f STACK_FILE"
        )
    import questionary

    def ask(question: Any) -> Any:
        answer = question.ask()
        if answer is None:  # Ctrl-C / Ctrl-D
            raise KeyboardInterrupt
        return answer

    architecture_name = ask(
        questionary.select(
            f"Architecture for {name}?",
            choices=[
                questionary.Choice(f"{arch.name}: {arch.summary}", value=arch.name)
                for arch in ARCHITECTURES.values()
            ],
        )
    )
    architecture = ARCHITECTURES[architecture_name]
    answers: dict[str, Any] = {"architecture": architecture_name, "redundant": None}
    option = architecture.replica_option
    if option is not None:
        minimum = 1 if option == "frontends" else 0
        text = ask(
            questionary.text(
                f"How many {option}?",
                default=str(architecture.default_replicas),
                validate=lambda value: (
                    (value.isdigit() and minimum <= int(value) <= 10000)
                    or f"a whole number from {minimum} to 10000"
                ),
            )
        )
        answers[option] = int(text)
    workhorse = architecture.workhorse
    if ask(questionary.confirm(f"Enable redundancy for the {workhorse} gateway?", default=False)):
        answers["redundant"] = workhorse
    answers["transport"] = ask(
        questionary.select(
            "Gateway Network transport?",
            choices=[
                questionary.Choice(
                    "plain: port 8088, no SSL (isolated demo networks only)", value="plain"
                ),
                questionary.Choice(
                    "ssl: port 8060, certificates from a stack CA, still no clicks", value="ssl"
                ),
            ],
        )
    )
    return answers
