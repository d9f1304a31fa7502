"""The resolved stack: the one intermediate representation every target lowers.

Everything a target needs is decided here, once, by ``resolve.py``: which gateways exist,
who is master and who is backup, who connects to whom on which port, which networks each
gateway joins. Targets read these facts; they never re-derive them. Domain nouns only:
no Compose or Kubernetes words.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from emitter.vocabulary import ArchitectureName, Edition, NodeRole, TransportName


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GatewayNetworkLink(_Frozen):
    """An outgoing Gateway Network connection."""

    target: str  # gateway name: the Compose service name and the Kubernetes Service name
    port: int
    ssl: bool


class Redundancy(_Frozen):
    """A node's place in a master/backup pair: the four keys that form the pair.

    ``redundancy.noderole``, ``redundancy.gan.host``, ``redundancy.gan.port`` and
    ``redundancy.gan.enableSsl`` in the node's ``data/redundancy.xml``. Nothing else sets the
    role (no environment variable does), so these are seeded on first boot and re-asserted on
    every later one.
    """

    role: NodeRole
    peer: str
    master_host: str  # empty on the master: the backup connects to the master, never the reverse
    port: int
    ssl: bool


class PublicAddress(_Frozen):
    """The address users reach a gateway at behind a proxy (runtime arguments -a, -h, -s)."""

    host: str
    http_port: int
    https_port: int


class Module(_Frozen):
    """A third-party module (.modl), pinned by its checksum (emitter.modules)."""

    name: str
    path: str | None  # in the repository, relative to the stack file's directory
    url: str | None
    sha256: str
    id: str  # the module id of its module.xml


class Restore(_Frozen):
    """A gateway backup the gateway restores once, on the first start of an empty volume."""

    path: str | None  # relative to the stack file's directory
    url: str | None
    sha256: str
    disabled: bool
    # Where the restore is written in the stack file (``roles.<role>.restore``).
    where: str


class Gateway(_Frozen):
    name: str
    role: str
    edition: Edition
    system_name: str
    http_port: int
    memory_mb: int
    heap_mb: int
    volume: str
    networks: tuple[str, ...]
    connections: tuple[GatewayNetworkLink, ...]
    redundancy: Redundancy | None
    # Position within a replicated tier (``spoke-3`` -> 3); None for a single gateway.
    replica: int | None
    # Where this gateway sits in the stack file, for diagnostics.
    path: str
    # The secret holding its leased license key and activation token (a name, never a value).
    license: str | None = None
    # The operator's settings: its role's, overridden by the gateway's own.
    timezone: str | None = None
    environment: tuple[tuple[str, str], ...] = ()  # extra variables, sorted by name
    jvm_args: tuple[str, ...] = ()
    public_address: PublicAddress | None = None
    # Its role's third-party modules, and the built-in modules it keeps (None: every one).
    modules: tuple[Module, ...] = ()
    modules_enabled: tuple[str, ...] | None = None
    # Its role's backup, on the gateway that restores it (a pair's master, a single gateway).
    restore: Restore | None = None
    # The web host a TLS-terminating proxy routes to this gateway (emitter.web): the gateway
    # then trusts the proxy's forwarded headers; its public address defaults to this host.
    web_host: str | None = None
    # The names of its role's database connections: it reaches the database, and (unless it is
    # a pair's backup, which receives them from its master) has them written before it starts.
    database_connections: tuple[str, ...] = ()


class WebRoute(_Frozen):
    """One web host and the gateways behind it (emitter.web)."""

    host: str
    key: str  # the role or backup gateway it is written under in ``web.hosts``
    role: str
    # Who serves it: one gateway; a replicated tier's members; or a pair, master first.
    gateways: tuple[str, ...]
    replicated: bool  # spread over a replicated tier's members
    # A pair behind one host: the master serves, the backup takes over when the master is down.
    failover: bool
    path: str  # where it sits in the stack file


class DatabaseConnection(_Frozen):
    """A connection the gateways of one role get to the stack's database."""

    role: str
    name: str


class Database(_Frozen):
    """The stack's database (emitter.database): what runs, and who connects to it."""

    engine: str  # a key of database.ENGINES
    version: str  # major.minor: the images' tag
    name: str  # the database
    owner: str  # the user that owns it; the gateways connect as this user
    connections: tuple[DatabaseConnection, ...]


class Tier(_Frozen):
    """A role's gateways. A replicated tier is N identical gateways; otherwise one gateway each."""

    role: str
    replicated: bool
    gateways: tuple[str, ...]


class GatewayNetworkSettings(_Frozen):
    """Incoming Gateway Network policy, the same on every gateway of the stack."""

    security_policy: str
    require_ssl: bool
    require_two_way_auth: bool
    allow_incoming: bool
    port: int  # 8088 for the plain link, 8060 for SSL


class DataLayout(_Frozen):
    """Where one Ignition release keeps the files this tool writes into a gateway's data
    volume, relative to its root (``data/``). The rows are ``image.RELEASES``, with sources."""

    # The Gateway Network's folder: its {server,client}/security/pki/trusted/certs/ hold the
    # certificates the gateway trusts for incoming and outgoing connections.
    gateway_network: str
    # The gateway's Gateway Network keystore (PKCS12, password metro, private key metro-key).
    metro_keystore: str
    # The folder of file-based database connections (8.3); None: the release has none (8.1).
    database_connections: str | None = None


class IgnitionRelease(_Frozen):
    """The Ignition release the stack's image runs, read from its tag."""

    series: str  # major.minor: the row of image.RELEASES, e.g. "8.1"
    version: str  # as the tag names it: "8.1.48", or "8.3" for the floating minor tag
    layout: DataLayout


class MqttBroker(_Frozen):
    """An MQTT broker beside the gateways (``mqtt:``; emitter.mqtt)."""

    broker: str  # a row of mqtt.BROKERS: `mosquitto`
    image: str
    host: str  # the name the gateways dial (``tcp://<host>:<port>``)
    port: int
    username: str
    # The roles whose gateways may reach the listener, and those gateways by name.
    roles: tuple[str, ...]
    clients: tuple[str, ...]
    # The Kubernetes Secret that holds its password (a name, never the value).
    password_secret: str


class Stack(_Frozen):
    name: str
    architecture: ArchitectureName
    redundant: str | None
    transport: TransportName
    image: str
    # None when the image's tag names no supported release: rule IS128 then stops the stack
    # before any target runs, so a target always finds one here.
    release: IgnitionRelease | None
    gateways: tuple[Gateway, ...]
    tiers: tuple[Tier, ...]
    networks: tuple[str, ...]
    gateway_network: GatewayNetworkSettings
    admin_username: str
    # Every system name is this prefix plus a gateway name (a backup uses its master's name).
    system_name_prefix: str
    admin_password_secret: str  # name of the secret that holds the admin password (never its value)
    # With SSL on Kubernetes: the Secret holding the password of cert-manager's keystores.
    keystore_password_secret: str
    # The optional MQTT broker.
    mqtt: MqttBroker | None = None
    # The web hosts, in stack-file order (empty: no web access through a proxy).
    web: tuple[WebRoute, ...] = ()
    # The stack's database; None without one, or while a rule (IS150) stops the stack.
    database: Database | None = None

    def gateway(self, name: str) -> Gateway | None:
        return next((gateway for gateway in self.gateways if gateway.name == name), None)

    @property
    def pairs(self) -> tuple[tuple[Gateway, Gateway], ...]:
        """(master, backup) for every pair whose master names an existing backup."""
        found = []
        for gateway in self.gateways:
            redundancy = gateway.redundancy
            if redundancy is not None and redundancy.role is NodeRole.MASTER:
                peer = self.gateway(redundancy.peer)
                if peer is not None:
                    found.append((gateway, peer))
        return tuple(found)
