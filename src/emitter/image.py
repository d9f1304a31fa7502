"""The contract of the official Ignition image, shared by every target.

Paths, user, ports, environment variables and runtime arguments of
``inductiveautomation/ignition`` 8.1 and 8.3. What differs between the two releases is the table
``RELEASES`` and nothing else; the rest holds for both. Both targets give a gateway the same
environment and the same health checks; only how they are wired differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from emitter import database, licensing, modules, restore
from emitter.ir import DataLayout, Gateway, IgnitionRelease, Stack
from emitter.reference import parse_image_reference
from emitter.vocabulary import TransportName


@dataclass(frozen=True)
class Release:
    """One supported Ignition release series: its oldest supported patch, why, and where it
    keeps the files this tool writes."""

    oldest_patch: int
    oldest_reason: str
    layout: DataLayout


# The releases this tool supports, keyed by major.minor: the one place where 8.1 and 8.3 differ.
# Paths are relative to the data volume (data/). Sources: the official Helm chart
# (github.com/inductiveautomation/ignition-helm-chart), whose commit 60a5783 ("feat: baseline
# 8.3.0 compatibility", chart 0.1.0 for appVersion 8.1.49 -> 0.2.0 for 8.3.0) moved exactly these
# paths; docs/research/gateway-contents.md section 6 has the table with its sources.
RELEASES: dict[str, Release] = {
    "8.1": Release(
        # GATEWAY_NETWORK_ENABLED, _ALLOWINCOMING, _SECURITYPOLICY, _REQUIRESSL and
        # _REQUIRETWOWAYAUTH, which pair the gateways with no click, are read by the image from
        # 8.1.32 on: the minimum versions of the environment-variable model in IA's kindling
        # (package io.github.inductiveautomation.kindling.docker.model; docs/research/
        # gateway-contents.md section 1). The rest needs less: DISABLE_QUICKSTART 8.1.23 (same
        # model), the trusted-certs folders below 8.1.14 (before: certificates/gateway_network/,
        # thirdgen88/ignition-docker 8.1/accept-gwnetwork.sh; gateway-contents.md section 6).
        oldest_patch=32,
        oldest_reason=(
            "the first 8.1 image that reads the Gateway Network settings "
            "(GATEWAY_NETWORK_SECURITYPOLICY, _REQUIRESSL, _REQUIRETWOWAYAUTH) the pair is "
            "formed with"
        ),
        layout=DataLayout(
            # Helm chart 0.1.0, ignition/scripts/prepare-gan-certificates.sh,
            # populateGanCaCertificate: "${IGNITION_DATA_DIR}/gateway-network/{server,client}/
            # security/pki/trusted/certs/" (the lines commit 60a5783 replaced).
            gateway_network="gateway-network",
            # Same script, populateGanKeystore: "${IGNITION_DATA_DIR}/local/metro-keystore",
            # a PKCS12 keystore, password metro, alias metro-key (the lines 60a5783 replaced).
            metro_keystore="local/metro-keystore",
        ),
    ),
    "8.3": Release(
        oldest_patch=0,
        oldest_reason="",
        layout=DataLayout(
            # Helm chart 0.2.1 (appVersion 8.3.3) at 8305540, ignition/scripts/
            # prepare-gan-certificates.sh, populateGanCaCertificate: "${IGNITION_DATA_DIR}/config/
            # local/ignition/gateway-network/{server,client}/security/pki/trusted/certs/" (as
            # commit 60a5783 wrote it). IA's 8.3 manual page "Gateway Network Certificates and
            # SSL" still shows data/gateway-network/; the chart, which IA tests against 8.3, wins.
            gateway_network="config/local/ignition/gateway-network",
            # Same script, populateGanKeystore: "${IGNITION_DATA_DIR}/config/local/ignition/
            # gateway-network/keystore/metro-keystore.pfx" (commit 60a5783).
            metro_keystore="config/local/ignition/gateway-network/keystore/metro-keystore.pfx",
            # docs/research/around-gateways.md §1.1: `config/resources/<collection>/ignition/
            # database-connection/<name>/`, seeded and read VALID on 8.3.6 (knorr's seeding
            # matrix); `external`, the collection a gateway backup restore leaves alone (83-api
            # README; inferred, see §1.1).
            database_connections="config/resources/external/ignition/database-connection",
        ),
    ),
}
# An official tag is major.minor.patch (8.3.6) or the floating major.minor (8.3); a mirror may add
# a suffix after '-' or '_' (8.3.6-custom_1).
_VERSION_TAG = re.compile(r"(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:[-_][\w.-]*)?")


class ReleaseTooOld(ValueError):
    """The tag names a supported series, but a patch older than the oldest one supported."""

    def __init__(self, reason: str, oldest: str) -> None:
        super().__init__(reason)
        self.oldest = oldest


def supported_releases() -> str:
    """The supported releases, as a diagnostic names them: "8.1 (8.1.32 or later) and 8.3"."""
    names = [
        f"{series} ({series}.{row.oldest_patch} or later)" if row.oldest_patch else series
        for series, row in RELEASES.items()
    ]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def read_release(image: str) -> IgnitionRelease:
    """The Ignition release an image reference runs, from its tag; ``ValueError`` says why there
    is none. A digest alone does not say which release it is, so the tag must be there too
    (``repo:8.3.6@sha256:...``: Docker and Kubernetes pull by the digest then, and ignore the tag).
    A floating ``8.1`` tag is the newest 8.1 patch, which is past the oldest one supported."""
    reference = parse_image_reference(image)
    if reference.tag is None:
        raise ValueError(
            "it is pinned by digest alone, and a digest does not say which Ignition release it is"
        )
    match = _VERSION_TAG.fullmatch(reference.tag)
    if match is None:
        raise ValueError(
            f"its tag {reference.tag!r} does not name an Ignition release (major.minor[.patch], e.g. 8.3.6)"
        )
    series = f"{int(match['major'])}.{int(match['minor'])}"
    row = RELEASES.get(series)
    if row is None:
        raise ValueError(
            f"its tag {reference.tag!r} is Ignition {series}, which ignition-stack does not support"
        )
    patch = match["patch"]
    version = series if patch is None else f"{series}.{int(patch)}"
    if patch is not None and int(patch) < row.oldest_patch:
        oldest = f"{series}.{row.oldest_patch}"
        raise ReleaseTooOld(
            f"its tag {reference.tag!r} is Ignition {version}, older than {oldest}, "
            f"{row.oldest_reason}",
            oldest,
        )
    return IgnitionRelease(series=series, version=version, layout=row.layout)


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
    variables.update(licensing.environment(gateway))
    if stack.release is not None:
        variables.update(modules.environment(stack.release.series, gateway))
    if gateway.modules:
        variables["NODE_MODULES_DIR"] = modules.MODULES_DIR
    variables.update(restore.gateway_environment(gateway))
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


def release(stack: Stack) -> IgnitionRelease:
    """The stack's Ignition release, for a target or a document."""
    if stack.release is None:
        # Rule IS128 stops such a stack before any target runs or any document is written.
        raise ValueError(f"image {stack.image!r} names no supported Ignition release")
    return stack.release


def layout(stack: Stack) -> DataLayout:
    """Where the stack's Ignition release keeps the files the seeding step writes."""
    return release(stack).layout


def seed_environment(
    stack: Stack,
    redundancy_file: str | None,
    certificates: CertificateFiles | None = None,
    gateway: Gateway | None = None,
) -> dict[str, str]:
    """Environment of the seeding step (Compose bootstrap service, Kubernetes init container);
    ``gateway`` (a tier's first on Kubernetes) for its modules."""
    variables = {
        "SEED_SOURCE": DATA_DIR,
        "SEED_VOLUME": SEED_MOUNT,
        "SEED_OWNER": f"{USER_ID}:{USER_ID}",
        **node_environment(redundancy_file),
    }
    if gateway is not None and gateway.modules:
        variables["SEED_MODULES"] = modules.seed_list(gateway)
        variables["SEED_MODULES_DIR"] = modules.MODULES_DIR
        variables["SEED_MODULES_MAX_BYTES"] = str(modules.MAX_BYTES)
    if certificates is not None:
        variables.update(gateway_network_locations(layout(stack)))
        variables["GAN_CA_CERT"] = certificates.ca_certificate
        variables["GAN_KEYSTORE"] = certificates.keystore
        if certificates.keystore_password_file is not None:
            variables["GAN_KEYSTORE_PASSWORD_FILE"] = certificates.keystore_password_file
        if certificates.ready:
            variables["GAN_KEYSTORE_FORMAT"] = "metro"
    return dict(sorted(variables.items()))


def gateway_network_locations(data: DataLayout) -> dict[str, str]:
    """Where install-gateway-network-certificates.sh puts the trusted CA and the keystore,
    relative to the data volume: the scripts take every release-dependent path from here."""
    return {"GAN_NETWORK_DIR": data.gateway_network, "GAN_METRO_KEYSTORE": data.metro_keystore}


def gateway_scripts(stack: Stack) -> tuple[str, ...]:
    """Every script a gateway's seeding step, start and health check use, sorted: what each
    target ships next to the gateway."""
    scripts = {*seed_scripts(stack), *start_scripts(), HEALTH_SCRIPT}
    if any(gateway.modules for gateway in stack.gateways):
        scripts.add(modules.SCRIPT)
    return tuple(sorted(scripts))


def seed_scripts(stack: Stack) -> tuple[str, ...]:
    """The scripts the seeding step runs; every target ships them side by side."""
    scripts = [SEED_SCRIPT, REDUNDANCY_KEYS_SCRIPT]
    if stack.transport is TransportName.SSL:
        scripts.append(INSTALL_CERTIFICATES_SCRIPT)
    if any(gateway.restore is not None for gateway in stack.gateways):
        scripts.append(restore.SCRIPT)
    if any(gateway.database_connections for gateway in stack.gateways):
        scripts.append(database.SCRIPT)
    return tuple(scripts)


def start_scripts() -> tuple[str, ...]:
    """The scripts the gateway container's entrypoint runs (``start_command``)."""
    return (START_SCRIPT, REDUNDANCY_KEYS_SCRIPT)


def start_command(gateway: Gateway | None = None) -> list[str]:
    """The gateway container's entrypoint: re-asserts the pairing keys on every start, then runs
    the image's own entrypoint with the gateway's arguments. A gateway with modules first has
    them copied into user-lib/modules (install-modules.sh, which then runs the start script)."""
    if gateway is not None and gateway.modules:
        return ["/bin/bash", f"{SCRIPTS_DIR}/{modules.SCRIPT}", "start"]
    return ["/bin/bash", f"{SCRIPTS_DIR}/{START_SCRIPT}"]


def seed_command(gateway: Gateway | None = None) -> list[str]:
    """The seeding step's entrypoint: a gateway with modules has them fetched and checked first
    (install-modules.sh, which then runs the seeding script)."""
    if gateway is not None and gateway.modules:
        return ["/bin/bash", f"{SCRIPTS_DIR}/{modules.SCRIPT}", "seed"]
    return ["/bin/bash", f"{SCRIPTS_DIR}/{SEED_SCRIPT}"]


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


def public_address_environment(gateway: Gateway) -> dict[str, str]:
    """The start script's variables for a node's own public address (``start-gateway.sh`` turns
    them into ``public_address_arguments``): for a Kubernetes pair whose two pods share one
    template but not one address."""
    address = gateway.public_address
    if address is None:
        return {}
    return {
        "NODE_PUBLIC_ADDRESS": address.host,
        "NODE_PUBLIC_HTTP_PORT": str(address.http_port),
        "NODE_PUBLIC_HTTPS_PORT": str(address.https_port),
    }


def public_address_arguments(gateway: Gateway) -> list[str]:
    """Entrypoint flags that set the gateway's public address and turn its auto-detection off
    (IA docs 8.3 "Docker Image Examples": ``-a localhost -h 9088 -s 9043``); none without one."""
    address = gateway.public_address
    if address is None:
        return []
    return ["-a", address.host, "-h", str(address.http_port), "-s", str(address.https_port)]


# The gateway bootstrap property the official Helm chart sets behind its Ingress
# (``_helpers.tpl`` ``ignition.ingress.useProxyForwardedHeader``, rendered after ``--``):
# the gateway takes the client's scheme, host and address from the proxy's X-Forwarded-*
# headers (docs/research/around-gateways.md §4.1).
PROXY_FORWARDED_HEADER = "gateway.useProxyForwardedHeader=true"


def proxy_arguments(gateways: tuple[Gateway, ...] | list[Gateway]) -> list[str]:
    """Gateway arguments (after ``--``) for gateways a TLS-terminating proxy routes to."""
    return [PROXY_FORWARDED_HEADER] if any(g.web_host for g in gateways) else []


def health_command() -> list[str]:
    """Readiness: RUNNING, and a pair member in its own role and paired (the README's health
    table). There is no liveness check: a gateway that is starting, syncing from its master or
    restoring a backup answers slowly for minutes, and restarting it then only makes it worse
    (the official Helm chart sets no liveness probe either)."""
    return ["/bin/bash", f"{SCRIPTS_DIR}/{HEALTH_SCRIPT}"]
