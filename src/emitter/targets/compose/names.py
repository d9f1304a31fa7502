"""Names the Compose target derives from gateway names or takes for itself; its record lists
them so the rules keep gateway and volume names clear of them."""

from __future__ import annotations

# Each gateway's one-shot service that seeds its data volume.
BOOTSTRAP_SUFFIX = "-bootstrap"
# With `transport: ssl` the Compose target adds a PKI service, the CA's volume and one
# certificates volume per gateway (``certificates_volume``).
PKI_SERVICE = "gateway-network-pki"
CA_VOLUME = "gateway-network-ca"
CERTIFICATES_SUFFIX = "-certificates"
# A gateway's checked third-party modules: its bootstrap fills it, the gateway reads it.
MODULES_SUFFIX = "-modules"
# The Compose target's copy of the admin password, readable by the gateways' uid only.
ADMIN_PASSWORD_VOLUME = "gateway-admin-password"
# With `web:` the Compose target adds the Traefik service and its network (``WEB_PROXY``), the
# one-shot that prepares its certificates, and their volumes: all named `web-proxy...`, so
# reserving `web-proxy` also keeps every name a gateway called so would derive out of the way.
WEB_PROXY = "web-proxy"
WEB_CERTIFICATES_SERVICE = "web-proxy-certificates"
WEB_CA_VOLUME = "web-proxy-ca"
WEB_CERTIFICATES_VOLUME = "web-proxy-certificates"
WEB_ACME_VOLUME = "web-proxy-acme"
WEB_NAMES = frozenset(
    {WEB_PROXY, WEB_CERTIFICATES_SERVICE, WEB_CA_VOLUME, WEB_CERTIFICATES_VOLUME, WEB_ACME_VOLUME}
)
RESERVED_NAMES = frozenset({PKI_SERVICE, CA_VOLUME, ADMIN_PASSWORD_VOLUME, *WEB_NAMES})
# The stack's database (emitter.database): its service is ``database.SERVICE``; its volume, its
# own network and its password secret (a git-ignored file ``create`` writes once).
DATABASE_VOLUME = "postgres-data"
DATABASE_NETWORK = "postgres"
DATABASE_SECRET = "database-password"
DATABASE_PASSWORD_FILE = "secrets/database-password"


def certificates_volume(gateway: str) -> str:
    """The Compose volume holding one gateway's Gateway Network keystore and CA certificate:
    the PKI service fills it, and only that gateway's bootstrap mounts it."""
    return gateway + CERTIFICATES_SUFFIX


# The admin password ``create`` writes once, git-ignored; the compose file reads it as a secret.
PASSWORD_FILE = "secrets/gateway-admin-password"


def modules_volume(gateway: str) -> str:
    return gateway + MODULES_SUFFIX


# The MQTT broker's password, written once by ``create`` when the stack has ``mqtt:``.
MQTT_PASSWORD_FILE = "secrets/mqtt-password"
