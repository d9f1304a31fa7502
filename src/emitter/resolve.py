"""The only resolver: stack file -> explicit stack file -> resolved IR.

``expand`` fills every default so that the stack file says exactly what runs (this is what
``--dry-run`` prints and ``create`` records). ``lower`` turns an explicit stack file into the
IR, deciding once every fact the targets share. Neither raises on a stack that breaks the
rules: ``rules/`` reports those, all together.
"""

from __future__ import annotations

import re
from typing import Any

from emitter import mqtt
from emitter.architectures import ARCHITECTURES, BACKUP_SUFFIX, Architecture, RoleShape
from emitter.database import ENGINES
from emitter.gateway_settings import RoleSettings
from emitter.image import read_release
from emitter.ir import (
    Database,
    DatabaseConnection,
    Gateway,
    GatewayNetworkLink,
    GatewayNetworkSettings,
    IgnitionRelease,
    Module,
    MqttBroker,
    PublicAddress,
    Redundancy,
    Restore,
    Stack,
    Tier,
    WebRoute,
)
from emitter.spec import DEFAULT_MEMORY_MB, FIRST_HTTP_PORT, GatewaySpec, RedundancySpec, StackSpec
from emitter.vocabulary import Edition, NodeRole, TransportName

NO_ROLE = "none"
PLAIN_PORT = 8088
SSL_PORT = 8060
HEAP_PERCENT = 75
ADMIN_USERNAME = "admin"


def expand(spec: StackSpec) -> StackSpec:
    """Return the explicit form of ``spec``: every default filled, every gateway listed."""
    architecture = ARCHITECTURES[spec.architecture]
    replicas = replica_count(spec, architecture)
    edge_role = (
        spec.edge_role
        if spec.edge_role is not None
        else (architecture.default_edge_role or NO_ROLE)
    )
    # `redundant: none` says "no pair" as `--redundant none` does; the explicit form is null.
    redundant = None if spec.redundant == NO_ROLE else spec.redundant
    if spec.gateways is None:
        gateways = derive_gateways(architecture, replicas, redundant, edge_role)
    else:
        gateways = [
            gateway
            if gateway.volume
            else gateway.model_copy(update={"volume": f"{gateway.name}-data"})
            for gateway in spec.gateways
        ]
    return spec.model_copy(
        update={
            # A count for a tier the architecture lacks stays as given, for IS126 to report.
            "frontends": replicas if architecture.replica_option == "frontends" else spec.frontends,
            "spokes": replicas if architecture.replica_option == "spokes" else spec.spokes,
            "redundant": redundant,
            "edge_role": edge_role,
            "gateways": gateways,
            "mqtt": mqtt.expand(
                spec.mqtt,
                tuple(dict.fromkeys([*architecture.role_names, *(g.role for g in gateways)])),
            ),
            "database": database_defaults(spec),
        }
    )


def database_defaults(spec: StackSpec) -> Any:
    """The database with its engine's pinned release filled in (an unknown engine: IS150)."""
    database = spec.database
    if database is None or database.version is not None or database.engine not in ENGINES:
        return database
    return database.model_copy(update={"version": ENGINES[database.engine].default_version})


def replica_count(spec: StackSpec, architecture: Architecture) -> int:
    if architecture.replica_option == "frontends" and spec.frontends is not None:
        return spec.frontends
    if architecture.replica_option == "spokes" and spec.spokes is not None:
        return spec.spokes
    return architecture.default_replicas


def gateway_names(role: RoleShape, replicas: int, redundant: str | None) -> list[str]:
    """Names of a role's gateways: ``spoke-0..N-1`` for a replicated tier (the names Kubernetes
    gives a StatefulSet's pods), ``<role>`` plus ``<role>-backup`` for a redundant workhorse."""
    if role.replicated:
        return [f"{role.name}-{index}" for index in range(replicas)]
    if redundant == role.name:
        return [role.name, role.name + BACKUP_SUFFIX]
    return [role.name]


def derive_gateways(
    architecture: Architecture, replicas: int, redundant: str | None, edge_role: str
) -> list[GatewaySpec]:
    names = {role.name: gateway_names(role, replicas, redundant) for role in architecture.roles}
    gateways: list[GatewaySpec] = []
    for role in architecture.roles:
        members = names[role.name]
        # Gateways that connect to a redundant role connect to both nodes, so they survive a failover.
        connections = [target for other in role.connects_to for target in names[other]]
        paired = not role.replicated and len(members) == 2
        for index, name in enumerate(members):
            redundancy = None
            own_connections = list(connections)
            if paired:
                is_master = index == 0
                redundancy = RedundancySpec(
                    role=NodeRole.MASTER if is_master else NodeRole.BACKUP,
                    peer=members[1] if is_master else members[0],
                )
                if not is_master:
                    # The backup also opens an ordinary Gateway Network connection to its master.
                    own_connections.append(members[0])
            gateways.append(
                GatewaySpec(
                    name=name,
                    role=role.name,
                    edition=Edition.EDGE if role.name == edge_role else Edition.STANDARD,
                    http_port=FIRST_HTTP_PORT + len(gateways),
                    memory_mb=DEFAULT_MEMORY_MB,
                    volume=f"{name}-data",
                    networks=list(role.networks),
                    connections=own_connections,
                    redundancy=redundancy,
                )
            )
    return gateways


def gateway_network_settings(transport: TransportName) -> GatewayNetworkSettings:
    """Zero-click policy: every gateway accepts incoming connections without approval.

    Plain: no SSL at all (demo only; see docs/security.md). SSL: certificates signed by the
    stack CA are pre-trusted everywhere, and two-way auth makes them the gate instead of an
    approval click.
    """
    ssl = transport is TransportName.SSL
    return GatewayNetworkSettings(
        security_policy="Unrestricted",
        require_ssl=ssl,
        require_two_way_auth=ssl,
        allow_incoming=True,
        port=SSL_PORT if ssl else PLAIN_PORT,
    )


def lower(spec: StackSpec) -> Stack:
    """Explicit stack file -> IR. ``spec`` must come from ``expand``."""
    assert spec.gateways is not None, "lower() takes the output of expand()"
    architecture = ARCHITECTURES[spec.architecture]
    settings = gateway_network_settings(spec.transport)
    by_name = {gateway.name: gateway for gateway in spec.gateways}
    prefix = f"{spec.name}-"

    def system_name(gateway: GatewaySpec) -> str:
        # A backup takes its master's system name when it pairs; giving it a different one
        # is what to avoid, so both nodes of a pair carry the master's name.
        redundancy = gateway.redundancy
        if (
            redundancy is not None
            and redundancy.role is NodeRole.BACKUP
            and redundancy.peer in by_name
        ):
            return prefix + redundancy.peer
        return prefix + gateway.name

    routes = web_routes(spec, architecture)
    hosts = {name: route.host for route in routes for name in route.gateways}
    gateways = []
    for index, gateway in enumerate(spec.gateways):
        redundancy = None
        if gateway.redundancy is not None:
            is_backup = gateway.redundancy.role is NodeRole.BACKUP
            redundancy = Redundancy(
                role=gateway.redundancy.role,
                peer=gateway.redundancy.peer,
                master_host=gateway.redundancy.peer if is_backup else "",
                port=settings.port,
                ssl=settings.require_ssl,
            )
        gateways.append(
            Gateway(
                name=gateway.name,
                role=gateway.role,
                edition=gateway.edition,
                system_name=system_name(gateway),
                http_port=gateway.http_port,
                memory_mb=gateway.memory_mb,
                heap_mb=gateway.memory_mb * HEAP_PERCENT // 100,
                volume=gateway.volume or f"{gateway.name}-data",
                networks=tuple(gateway.networks),
                connections=tuple(
                    GatewayNetworkLink(target=target, port=settings.port, ssl=settings.require_ssl)
                    for target in gateway.connections
                ),
                redundancy=redundancy,
                replica=replica_index(architecture, gateway),
                path=f"gateways[{index}]",
                license=gateway.license.secret if gateway.license else None,
                **operator_settings(
                    (spec.roles or {}).get(gateway.role), gateway, hosts.get(gateway.name)
                ),
                restore=restore_of(spec, architecture, gateway),
                web_host=hosts.get(gateway.name),
                database_connections=tuple(
                    connection.name
                    for connection in (spec.database.connections if spec.database else ())
                    if connection.role == gateway.role
                ),
            )
        )

    return Stack(
        name=spec.name,
        architecture=spec.architecture,
        redundant=spec.redundant,
        transport=spec.transport,
        image=spec.image,
        release=release_of(spec.image),
        gateways=tuple(gateways),
        tiers=tiers_of(architecture, gateways),
        networks=tuple(
            dict.fromkeys(network for gateway in gateways for network in gateway.networks)
        ),
        gateway_network=settings,
        admin_username=ADMIN_USERNAME,
        system_name_prefix=prefix,
        admin_password_secret=f"{spec.name}-gateway-admin",
        keystore_password_secret=f"{spec.name}-gateway-network-keystore",
        mqtt=broker_of(spec, gateways),
        web=routes,
        database=database_of(spec),
    )


def database_of(spec: StackSpec) -> Database | None:
    """The stack's database; None without one, or with an engine rule IS150 refuses."""
    database = spec.database
    if database is None or database.engine not in ENGINES:
        return None
    return Database(
        engine=database.engine,
        version=database.version or ENGINES[database.engine].default_version,
        name=database.name,
        owner=database.owner,
        connections=tuple(
            DatabaseConnection(role=connection.role, name=connection.name)
            for connection in database.connections
        ),
    )


def broker_of(spec: StackSpec, gateways: list[Gateway]) -> MqttBroker | None:
    """The MQTT broker, and the gateways that may reach it: those of its roles."""
    settings = spec.mqtt
    if settings is None:
        return None
    roles = tuple(settings.roles or ())
    return MqttBroker(
        broker=settings.broker,
        image=settings.image or mqtt.BROKERS[settings.broker].default_image,
        host=mqtt.HOST,
        port=mqtt.PORT,
        username=settings.username,
        roles=roles,
        clients=tuple(gateway.name for gateway in gateways if gateway.role in roles),
        password_secret=mqtt.password_secret(spec.name),
    )


def web_routes(spec: StackSpec, architecture: Architecture) -> tuple[WebRoute, ...]:
    """Who serves each web host: a role's single gateway, a replicated tier's members, a
    pair's master with its backup as the fallback (unless the backup has a host of its own),
    or the backup named by its own key. Keys that name nothing are left to rule IS162."""
    if spec.web is None:
        return ()
    members: dict[str, list[GatewaySpec]] = {}
    for gateway in spec.gateways or ():
        members.setdefault(gateway.role, []).append(gateway)
    backups = {
        gateway.name: gateway
        for gateway in spec.gateways or ()
        if gateway.redundancy is not None and gateway.redundancy.role is NodeRole.BACKUP
    }
    routes = []
    for key, host in spec.web.hosts.items():
        path = f"web.hosts.{key}"
        if key in backups:
            backup = backups[key]
            routes.append(
                WebRoute(
                    host=host,
                    key=key,
                    role=backup.role,
                    gateways=(key,),
                    replicated=False,
                    failover=False,
                    path=path,
                )
            )
            continue
        gateways = [gateway for gateway in members.get(key, ()) if gateway.name not in backups]
        if not gateways:
            continue
        shape = architecture.role(key)
        replicated = bool(shape and shape.replicated)
        names = [gateway.name for gateway in gateways]
        master = gateways[0].redundancy
        failover = (
            not replicated
            and master is not None
            and master.peer in backups
            and master.peer not in spec.web.hosts
        )
        if failover and master is not None:
            names.append(master.peer)
        routes.append(
            WebRoute(
                host=host,
                key=key,
                role=key,
                gateways=tuple(names),
                replicated=replicated,
                failover=failover,
                path=path,
            )
        )
    return tuple(routes)


def release_of(image: str) -> IgnitionRelease | None:
    """The Ignition release the image runs; None when its tag names none this tool supports
    (rules IS121, IS122 and IS128 say why)."""
    try:
        return read_release(image)
    except ValueError:
        return None


def operator_settings(
    role: RoleSettings | None, gateway: GatewaySpec, web_host: str | None = None
) -> dict[str, Any]:
    """A gateway's own settings over its role's: the time zone, JVM arguments and public
    address replace the role's; the environment is merged key by key. A routed gateway's
    public address is its web host on 80/443 unless the stack file gives one."""
    role = role or RoleSettings()
    address = gateway.public_address or role.public_address
    if address is None and web_host is not None:
        return {
            **operator_settings(role, gateway),
            "public_address": PublicAddress(host=web_host, http_port=80, https_port=443),
        }
    return {
        "timezone": gateway.timezone if gateway.timezone is not None else role.timezone,
        "environment": tuple(
            sorted({**(role.environment or {}), **(gateway.environment or {})}.items())
        ),
        "jvm_args": tuple(
            gateway.jvm_args if gateway.jvm_args is not None else role.jvm_args or ()
        ),
        "public_address": None if address is None else PublicAddress(**address.model_dump()),
        "modules": tuple(Module(**module.model_dump()) for module in role.modules or ()),
        "modules_enabled": None if role.modules_enabled is None else tuple(role.modules_enabled),
    }


def restore_of(spec: StackSpec, architecture: Architecture, gateway: GatewaySpec) -> Restore | None:
    """The role's backup on the gateway that restores it: a pair's master or a role's single
    gateway, never a backup (it takes everything from its master when it pairs) nor a replicated
    tier (rule IS148); None also while a rule (IS144, IS145) stops the stack."""
    settings = (spec.roles or {}).get(gateway.role)
    restore = settings.restore if settings else None
    shape = architecture.role(gateway.role)
    if restore is None or restore.sha256 is None or (shape is not None and shape.replicated):
        return None
    if gateway.redundancy is not None and gateway.redundancy.role is NodeRole.BACKUP:
        return None
    return Restore(
        path=restore.path,
        url=restore.url,
        sha256=restore.sha256,
        disabled=restore.disabled,
        where=f"roles.{gateway.role}.restore",
    )


def replica_index(architecture: Architecture, gateway: GatewaySpec) -> int | None:
    role = architecture.role(gateway.role)
    if role is None or not role.replicated:
        return None
    match = re.fullmatch(rf"{re.escape(role.name)}-(0|[1-9][0-9]*)", gateway.name)
    return int(match.group(1)) if match else None


def tiers_of(architecture: Architecture, gateways: list[Gateway]) -> tuple[Tier, ...]:
    roles = list(dict.fromkeys([*architecture.role_names, *(gateway.role for gateway in gateways)]))
    tiers = []
    for role_name in roles:
        members = tuple(gateway.name for gateway in gateways if gateway.role == role_name)
        if members:
            shape = architecture.role(role_name)
            tiers.append(
                Tier(role=role_name, replicated=bool(shape and shape.replicated), gateways=members)
            )
    return tuple(tiers)


def resolve(spec: StackSpec) -> tuple[StackSpec, Stack]:
    explicit = expand(spec)
    return explicit, lower(explicit)
