"""The contract of the official Ignition image, shared by every target.

Paths, user, ports, environment variables and runtime arguments of
``inductiveautomation/ignition`` (8.3). Both targets give a gateway the same environment and
the same health checks; only how they are wired differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from emitter.ir import Gateway, Stack
from emitter.vocabulary import TransportName

INSTALL_DIR = "/usr/local/bin/ignition"
DATA_DIR = f"{INSTALL_DIR}/data"
# Where a seeding step mounts the volume it fills (the image's own data/ stays the source).
SEED_MOUNT = "/data"
# Where the scripts of this tool are mounted, in both targets.
SCRIPTS_DIR = "/ignition-stack"
SEED_SCRIPT = "seed-data-volume.sh"
REDUNDANCY_KEYS_SCRIPT = "redundancy-keys.sh"
START_SCRIPT = "start-gateway.sh"
INSTALL_CERTIFICATES_SCRIPT = "install-gateway-network-certificates.sh"
PKI_SCRIPT = "gateway-network-pki.sh"
HEALTH_SCRIPT = "gateway-health.sh"
REDUNDANCY_FILE = "redundancy.xml"
USER_ID = 2003
HTTP_PORT = 8088
HTTPS_PORT = 8043
GAN_SSL_PORT = 8060
ADMIN_PASSWORD_FILE = "/run/secrets/gateway-admin-password"


def script(name: str) -> str:
    """The text of one of the shell scripts shipped in ``emitter/assets``."""
    return resources.files("emitter").joinpath("assets", name).read_text(encoding="utf-8")


def environment(stack: Stack, gateway: Gateway) -> dict[str, str]:
    """The gateway's environment, sorted by name for stable output."""
    settings = stack.gateway_network
    variables = {
        "ACCEPT_IGNITION_EULA": "Y",
        "DISABLE_QUICKSTART": "true",
        "IGNITION_EDITION": gateway.edition.value,
        "GATEWAY_ADMIN_USERNAME": stack.admin_username,
        # The password is read from a mounted secret file, never from the environment.
        "GATEWAY_ADMIN_PASSWORD_FILE": ADMIN_PASSWORD_FILE,
        "GATEWAY_NETWORK_ENABLED": "true",
        "GATEWAY_NETWORK_ALLOWINCOMING": _flag(settings.allow_incoming),
        "GATEWAY_NETWORK_SECURITYPOLICY": settings.security_policy,
        "GATEWAY_NETWORK_REQUIRESSL": _flag(settings.require_ssl),
        "GATEWAY_NETWORK_REQUIRETWOWAYAUTH": _flag(settings.require_two_way_auth),
    }
    for index, link in enumerate(gateway.connections):
        variables[f"GATEWAY_NETWORK_{index}_HOST"] = link.target
        variables[f"GATEWAY_NETWORK_{index}_PORT"] = str(link.port)
        variables[f"GATEWAY_NETWORK_{index}_ENABLESSL"] = _flag(link.ssl)
    if gateway.timezone is not None:
        # IA docs 8.3, "Platform Environment Variables": TZ, a tz database name.
        variables["TZ"] = gateway.timezone
    # The operator's own (the rules keep the names above out of it); ours win regardless.
    return dict(sorted({**dict(gateway.environment), **variables}.items()))


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class CertificateFiles:
    """Where a target mounts a gateway's Gateway Network certificates for the seeding step
    (``transport: ssl``): the stack CA certificate, the gateway's PKCS12 keystore, and the file
    holding that keystore's password (None: Ignition's own ``metro``). ``ready``: the keystore
    already is what Ignition reads (the Compose PKI issues it so), and is installed as it is."""

    ca_certificate: str
    keystore: str
    keystore_password_file: str | None = None
    ready: bool = False


def node_environment(redundancy_file: str | None) -> dict[str, str]:
    """What the seeding step, the gateway's start script and its health check are told about the
    node's place in a pair: where its own redundancy.xml is (``redundancy_file``, a file name in
    ``SCRIPTS_DIR``; None outside a pair). The health check reads the role it must have there."""
    if redundancy_file is None:
        return {}
    return {"NODE_REDUNDANCY_XML": f"{SCRIPTS_DIR}/{redundancy_file}"}


def seed_environment(
    redundancy_file: str | None, certificates: CertificateFiles | None = None
) -> dict[str, str]:
    """Environment of the seeding step (Compose bootstrap service, Kubernetes init container)."""
    variables = {
        "SEED_SOURCE": DATA_DIR,
        "SEED_VOLUME": SEED_MOUNT,
        "SEED_OWNER": f"{USER_ID}:{USER_ID}",
        **node_environment(redundancy_file),
    }
    if certificates is not None:
        variables["GAN_CA_CERT"] = certificates.ca_certificate
        variables["GAN_KEYSTORE"] = certificates.keystore
        if certificates.keystore_password_file is not None:
            variables["GAN_KEYSTORE_PASSWORD_FILE"] = certificates.keystore_password_file
        if certificates.ready:
            variables["GAN_KEYSTORE_FORMAT"] = "metro"
    return dict(sorted(variables.items()))


def gateway_scripts(stack: Stack) -> tuple[str, ...]:
    """Every script a gateway's seeding step, start and health check use, sorted: what each
    target ships next to the gateway."""
    return tuple(sorted({*seed_scripts(stack), *start_scripts(), HEALTH_SCRIPT}))


def seed_scripts(stack: Stack) -> tuple[str, ...]:
    """The scripts the seeding step runs; every target ships them side by side."""
    if stack.transport is TransportName.SSL:
        return (SEED_SCRIPT, REDUNDANCY_KEYS_SCRIPT, INSTALL_CERTIFICATES_SCRIPT)
    return (SEED_SCRIPT, REDUNDANCY_KEYS_SCRIPT)


def start_scripts() -> tuple[str, ...]:
    """The scripts the gateway container's entrypoint runs (``start_command``)."""
    return (START_SCRIPT, REDUNDANCY_KEYS_SCRIPT)


def start_command() -> list[str]:
    """The gateway container's entrypoint: re-asserts the pairing keys on every start, then runs
    the image's own entrypoint with the gateway's arguments."""
    return ["/bin/bash", f"{SCRIPTS_DIR}/{START_SCRIPT}"]


def redundancy_xml(gateway: Gateway) -> str | None:
    """The node's ``data/redundancy.xml``: a Java Properties XML document.

    The full Ignition 8.3 key set with its defaults (the seed verified to pair on 8.3.6), with
    the four pairing keys set for this node. None for a gateway outside any pair.
    """
    redundancy = gateway.redundancy
    if redundancy is None:
        return None
    entries = dict(_REDUNDANCY_DEFAULTS)
    entries.update(pairing_keys(gateway))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">',
        "<properties>",
        "<comment>Redundancy Settings</comment>",
        *(
            f'<entry key="{key}">{_xml_text(value)}</entry>'
            for key, value in sorted(entries.items())
        ),
        "</properties>",
    ]
    return "\n".join(lines) + "\n"


def pairing_keys(gateway: Gateway) -> dict[str, str]:
    """The four keys that form the pair; the seeding step re-asserts exactly these."""
    redundancy = gateway.redundancy
    if redundancy is None:
        return {}
    return {
        "redundancy.noderole": redundancy.role.value.capitalize(),
        "redundancy.gan.host": redundancy.master_host,
        "redundancy.gan.port": str(redundancy.port),
        "redundancy.gan.enableSsl": _flag(redundancy.ssl),
    }


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_REDUNDANCY_DEFAULTS = {
    "redundancy.activehistorylevel": "Full",
    "redundancy.autodetectlocalinterface": "true",
    "redundancy.bindinterface": "",
    "redundancy.gan.httpConnectTimeout": "10000",
    "redundancy.gan.httpReadTimeout": "60000",
    "redundancy.gan.pingMaxMissed": "10",
    "redundancy.gan.pingRate": "1000",
    "redundancy.gan.pingTimeout": "300",
    "redundancy.gan.receiveThreads": "5",
    "redundancy.gan.sendThreads": "5",
    "redundancy.gan.websocketTimeout": "10000",
    "redundancy.joinwaittime": "30000",
    "redundancy.masterrecoverymode": "Automatic",
    "redundancy.standbyactivitylevel": "Cold",
    "redundancy.sync.timeoutSecs": "60",
    "redundancy.useActiveUptimeToResolveConflict": "false",
}


def runtime_arguments(system_name: str) -> list[str]:
    """Entrypoint flags that come before ``--`` (the system name)."""
    return ["-n", system_name]


def public_address_arguments(gateway: Gateway) -> list[str]:
    """Entrypoint flags that set the gateway's public address and turn its auto-detection off
    (IA docs 8.3 "Docker Image Examples": ``-a localhost -h 9088 -s 9043``); none without one."""
    address = gateway.public_address
    if address is None:
        return []
    return ["-a", address.host, "-h", str(address.http_port), "-s", str(address.https_port)]


def health_command() -> list[str]:
    """Readiness: RUNNING, and a pair member in its own role and paired (the README's health
    table). There is no liveness check: a gateway that is starting, syncing from its master or
    restoring a backup answers slowly for minutes, and restarting it then only makes it worse
    (the official Helm chart sets no liveness probe either)."""
    return ["/bin/bash", f"{SCRIPTS_DIR}/{HEALTH_SCRIPT}"]
