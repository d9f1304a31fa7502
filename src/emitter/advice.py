"""Rules about running a valid stack, not about its shape: the demo-only plain transport,
the EULA the gateways are started with, a hub left without spokes. Part of ``rules.RULES``."""

from __future__ import annotations

from collections.abc import Iterator

from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import Diagnostic, error, warning
from emitter.ir import Stack
from emitter.spec import StackSpec
from emitter.vocabulary import TransportName


def plain_transport_rule(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    # Only a Gateway Network link carries anything over the plain transport: a stack without
    # one (a single gateway, no pair) has nothing to protect, so it gets no warning.
    linked = any(gateway.connections or gateway.redundancy for gateway in stack.gateways)
    if spec.transport is TransportName.PLAIN and linked:
        yield warning(
            "IS201",
            "transport",
            "plain Gateway Network transport (port 8088, no SSL, Unrestricted policy) is demo-only: "
            "redundancy replicates the whole gateway, projects, tags and secrets included, unencrypted",
            "use `--transport ssl` (transport: ssl) for anything beyond an isolated demo network; "
            "see docs/security.md",
        )


# Where the user learns what they accept: a gateway started without ACCEPT_IGNITION_EULA
# shows the EULA at commissioning, and the image's documentation describes the variable.
EULA_WHERE = (
    "Inductive Automation's Ignition EULA (a gateway started without ACCEPT_IGNITION_EULA "
    "shows it at commissioning; https://docs.inductiveautomation.com/docs/8.3/platform/docker-image)"
)


def eula_rule(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    """Every gateway is started with ACCEPT_IGNITION_EULA=Y: the stack file carries that
    acceptance, so it is never made for the user without a word."""
    if spec.accept_eula is False:
        yield error(
            "IS125",
            "accept_eula",
            "accept_eula is false, and the Ignition image does not start a gateway until its "
            "EULA is accepted (ACCEPT_IGNITION_EULA=Y)",
            f"read {EULA_WHERE}; set `accept_eula: true` to accept it for every gateway",
        )
    elif spec.accept_eula is None:
        yield warning(
            "IS204",
            "accept_eula",
            "the stack file does not say that you accept the Ignition EULA, yet every gateway "
            "is started with ACCEPT_IGNITION_EULA=Y (accepting it for you)",
            f"read {EULA_WHERE} and add `accept_eula: true` (`create` writes it)",
        )


def spokes_rule(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    architecture = ARCHITECTURES[spec.architecture]
    tier = architecture.replicated_role
    if architecture.replica_option != "spokes" or tier is None:
        return
    if not any(gateway.role == tier.name for gateway in stack.gateways):
        yield warning(
            "IS202",
            "spokes",
            "a hub-and-spoke stack with no spokes is a hub alone: nothing connects to it",
            "give it spokes (`spokes: 3`, `--spokes 3`), or use `architecture: basic` "
            "(`--arch basic`) for one gateway",
        )
