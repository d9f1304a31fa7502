"""The architectures ignition-stack knows, as data.

Every other module asks this table which roles an architecture has, which one is the
workhorse that may be made redundant, and which are replicated tiers that scale out instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoleShape:
    """One role of an architecture.

    Attributes:
        name: the role name; also the name of its gateway (or the prefix of its replicas).
        replicated: True for a tier of identical gateways that scales out horizontally
            (``frontend``, ``spoke``); such a tier never fails over, so it is never redundant.
        networks: the networks its gateways join.
        connects_to: roles its gateways open Gateway Network connections to.
    """

    name: str
    replicated: bool
    networks: tuple[str, ...]
    connects_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Architecture:
    name: str
    summary: str
    roles: tuple[RoleShape, ...]
    workhorse: str
    replica_option: str | None = None
    default_replicas: int = 0
    default_edge_role: str | None = None

    def role(self, name: str) -> RoleShape | None:
        return next((role for role in self.roles if role.name == name), None)

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(role.name for role in self.roles)

    @property
    def replicated_role(self) -> RoleShape | None:
        return next((role for role in self.roles if role.replicated), None)


ARCHITECTURES: dict[str, Architecture] = {
    architecture.name: architecture
    for architecture in (
        Architecture(
            name="basic",
            summary="one gateway",
            roles=(RoleShape("gateway", replicated=False, networks=("gateways",)),),
            workhorse="gateway",
        ),
        Architecture(
            name="scale-out",
            summary="N frontend gateways in front of one backend gateway",
            roles=(
                RoleShape(
                    "frontend",
                    replicated=True,
                    networks=("frontend", "backend"),
                    connects_to=("backend",),
                ),
                RoleShape("backend", replicated=False, networks=("backend",)),
            ),
            workhorse="backend",
            replica_option="frontends",
            default_replicas=1,
        ),
        Architecture(
            name="hub-and-spoke",
            summary="one hub gateway with N spoke gateways (Edge by default)",
            roles=(
                RoleShape("hub", replicated=False, networks=("gateways",)),
                RoleShape("spoke", replicated=True, networks=("gateways",), connects_to=("hub",)),
            ),
            workhorse="hub",
            replica_option="spokes",
            default_replicas=3,
            default_edge_role="spoke",
        ),
    )
}

BACKUP_SUFFIX = "-backup"
