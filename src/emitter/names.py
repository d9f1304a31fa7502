"""Names the targets derive from gateway names, kept here so the rules can keep them apart.

A target names some objects after a gateway with a suffix (the Compose bootstrap service
``<gateway>-bootstrap``, the Kubernetes headless Service ``<statefulset>-headless``), and names
a replicated tier's objects after its role. ``rules.py`` rejects gateway names that would
collide with those, so every target can use them without checking again.
"""

from __future__ import annotations

import re

BOOTSTRAP_SUFFIX = "-bootstrap"
HEADLESS_SUFFIX = "-headless"
RESERVED_SUFFIXES = (BOOTSTRAP_SUFFIX, HEADLESS_SUFFIX)
# With `transport: ssl` the Compose target adds a PKI service, the CA's volume and one
# certificates volume per gateway (``certificates_volume``).
PKI_SERVICE = "gateway-network-pki"
CA_VOLUME = "gateway-network-ca"
CERTIFICATES_SUFFIX = "-certificates"
# The Compose target's copy of the admin password, readable by the gateways' uid only.
ADMIN_PASSWORD_VOLUME = "gateway-admin-password"
RESERVED_NAMES = frozenset({PKI_SERVICE, CA_VOLUME, ADMIN_PASSWORD_VOLUME})


def certificates_volume(gateway: str) -> str:
    """The Compose volume holding one gateway's Gateway Network keystore and CA certificate:
    the PKI service fills it, and only that gateway's bootstrap mounts it."""
    return gateway + CERTIFICATES_SUFFIX


# DNS-1035 label: what a Kubernetes Service name must be (it starts with a letter), and a valid
# Compose service name. Gateway names are used as both.
GATEWAY_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# DNS-1123 label: namespaces, volumes, networks.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# The environments `create` scaffolds a kustomize overlay for, and the namespace each deploys
# into. POST-SETUP.md's commands use the same function, so they name the namespace the overlay
# really sets (and creates).
ENVIRONMENTS = ("dev", "production")
PRODUCTION = "production"


def overlay_namespace(stack: str, environment: str) -> str:
    """``<stack>`` for production (the base's own namespace), ``<stack>-<environment>`` else."""
    return stack if environment == PRODUCTION else f"{stack}-{environment}"
