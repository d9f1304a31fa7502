"""``create``'s topology flags (--redundant, --frontends, --spokes, --edge-role), checked by
the same code on every path: with --arch, over a stack file (-f), and before the wizard asks
anything or looks for a terminal. So a bad flag is the same diagnostic and exit 2 however
``create`` runs, and the user never answers questions for a command line that cannot work.
"""

from __future__ import annotations

from typing import Any

from emitter import rules
from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import Diagnostic, UsageError, error
from emitter.resolve import NO_ROLE

# The flags that name a role of the architecture, and the flags that count a replicated tier.
ROLE_FLAGS = ("redundant", "edge_role")
REPLICA_FLAGS = ("frontends", "spokes")


def _usage(diagnostic: Diagnostic) -> UsageError:
    return UsageError(diagnostic.message, [diagnostic])


def check_flags(architecture_name: str, flags: dict[str, Any]) -> None:
    """Flag values that cannot apply to the architecture are usage errors (exit 2), named
    like the stack file's rules."""
    architecture = ARCHITECTURES[architecture_name]
    redundant = flags.get("redundant")
    if redundant is not None and redundant != NO_ROLE:
        problem = rules.redundant_role_problem(architecture, redundant, path="--redundant")
        if problem:
            raise _usage(problem)
    edge_role = flags.get("edge_role")
    if edge_role is not None:
        problem = rules.edge_role_problem(architecture, edge_role, path="--edge-role")
        if problem:
            raise _usage(problem)
    for option in REPLICA_FLAGS:
        if flags.get(option) is not None:
            problem = rules.replica_option_problem(architecture, option, f"--{option}")
            if problem:
                raise _usage(problem)


def check_before_wizard(flags: dict[str, Any]) -> str | None:
    """Vet ``flags`` before the wizard runs; return the one architecture they imply
    (``--spokes`` -> hub-and-spoke), None when they leave it to the wizard."""
    unknown = {
        option: role
        for option, role in flags.items()
        if option in ROLE_FLAGS and role is not None and _role_of_no_architecture(option, role)
    }
    architecture = implied_architecture({k: v for k, v in flags.items() if k not in unknown})
    if architecture is not None:
        # Said about the architecture the other flags chose, as with --arch.
        check_flags(architecture, flags)
        return architecture
    for option, role in unknown.items():
        problem = _role_of_no_architecture(option, role)
        if problem:
            raise _usage(problem)
    return None


def implied_architecture(flags: dict[str, Any]) -> str | None:
    """The one architecture the given flags fit, None when they say nothing about it; a usage
    error when no architecture has them all. Every role flag must name a role of some
    architecture (``check_before_wizard`` leaves out those that do not)."""
    reasons: list[tuple[str, set[str]]] = []
    for option, value in flags.items():
        if value is None:
            continue
        if option in REPLICA_FLAGS:
            fits = {a.name for a in ARCHITECTURES.values() if a.replica_option == option}
        elif option in ROLE_FLAGS and value != NO_ROLE:
            fits = {a.name for a in ARCHITECTURES.values() if a.role(value) is not None}
        else:
            continue
        reasons.append((f"--{option.replace('_', '-')} {value}", fits))
    if not reasons:
        return None
    common = set.intersection(*(fits for _, fits in reasons))
    if len(common) == 1:
        return common.pop()
    if common:
        return None
    raise _usage(
        error(
            "IS127",
            "--arch",
            f"{' and '.join(reason for reason, _ in reasons)} fit no single architecture",
            f"pass --arch {'|'.join(ARCHITECTURES)} and the flags that architecture takes",
        )
    )


def _role_of_no_architecture(option: str, role: str) -> Diagnostic | None:
    """A role flag that names no role of any architecture: the code and path it has with
    --arch (IS102 --redundant, IS108 --edge-role), and every architecture's roles."""
    if role == NO_ROLE or any(a.role(role) for a in ARCHITECTURES.values()):
        return None
    roles = "; ".join(f"{a.name}: {', '.join(a.role_names)}" for a in ARCHITECTURES.values())
    if option == "redundant":
        pairs = ", ".join(f"{a.workhorse} ({a.name})" for a in ARCHITECTURES.values())
        return error(
            "IS102",
            "--redundant",
            f"no architecture has a role {role!r} to make redundant (the roles: {roles})",
            f"the redundant role is one of {pairs}: use `--redundant ROLE`, or "
            "`--redundant none` for no pair",
        )
    return error(
        "IS108",
        "--edge-role",
        f"no architecture has a role {role!r} to run the Edge edition (the roles: {roles})",
        "use one of those roles, or `none`",
    )
