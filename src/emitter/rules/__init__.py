"""Every rule a stack must satisfy, in one place, one small function per rule.

Each rule reads the explicit stack file and the IR and yields diagnostics with a stable code,
the dotted path into the stack file, and a hint. ``check`` runs them all, in the order of
``RULES``, so a user sees every problem at once. The codes, their severity and summary are the
table in ``codes.py``.

The rules of the stack's shape live in this package by concern (``names``, ``image``,
``topology``, ``pairs``); a feature's rules live next to the feature (e.g.
``restore.restore_rules``). A feature adds its rules by one import below and one entry in
``RULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from emitter.advice import eula_rule, plain_transport_rule, spokes_rule
from emitter.database import database_rules
from emitter.diagnostics import Diagnostic, Severity
from emitter.gateway_settings import settings_rules
from emitter.ir import Stack
from emitter.licensing import license_rules
from emitter.modules import module_rules
from emitter.mqtt import mqtt_rules
from emitter.restore import restore_rules
from emitter.rules.image import image_problem, pinned_image, release_problem
from emitter.rules.names import (
    MAX_STACK_NAME,
    gateway_name_problem,
    gateway_names,
    max_gateway_name,
    name_problem,
    network_names,
    stack_name,
    stack_name_problem,
    volumes,
)
from emitter.rules.pairs import (
    PAIR_NODES_MAY_DIFFER,
    pair_matches_redundant,
    pair_nodes_agree,
    pair_peers,
)
from emitter.rules.topology import (
    TIER_MEMBERS_MAY_DIFFER,
    connections,
    counts_apply,
    counts_match,
    edge_role,
    edge_role_problem,
    host_ports,
    redundant_role,
    redundant_role_problem,
    replica_option_problem,
    replicated_tiers,
    roles_known,
)
from emitter.spec import StackSpec
from emitter.targets.kubernetes.active_rules import active_rules
from emitter.tool import check_tool
from emitter.web import web_rules

__all__ = [
    "MAX_STACK_NAME",
    "PAIR_NODES_MAY_DIFFER",
    "RULES",
    "TIER_MEMBERS_MAY_DIFFER",
    "Rule",
    "check",
    "edge_role_problem",
    "gateway_name_problem",
    "image_problem",
    "max_gateway_name",
    "name_problem",
    "redundant_role_problem",
    "release_problem",
    "replica_option_problem",
    "stack_name_problem",
]

Rule = Callable[[StackSpec, Stack], Iterator[Diagnostic]]

RULES: tuple[Rule, ...] = (
    stack_name,
    pinned_image,
    check_tool,
    gateway_names,
    network_names,
    roles_known,
    redundant_role,
    edge_role,
    pair_peers,
    pair_matches_redundant,
    pair_nodes_agree,
    host_ports,
    volumes,
    connections,
    replicated_tiers,
    counts_apply,
    counts_match,
    settings_rules,
    spokes_rule,
    plain_transport_rule,
    eula_rule,
    license_rules,
    module_rules,
    restore_rules,
    mqtt_rules,
    web_rules,
    active_rules,
    database_rules,
)


def check(spec: StackSpec, stack: Stack, strict: bool = False) -> list[Diagnostic]:
    """Run every rule; with ``strict`` warnings become errors."""
    found = [diagnostic for rule in RULES for diagnostic in rule(spec, stack)]
    if strict:
        found = [d.promoted() if d.severity is Severity.WARNING else d for d in found]
    return found
