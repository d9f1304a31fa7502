"""cert-manager objects for ``transport: ssl``: the stack CA and one keystore per StatefulSet.

A self-signed Issuer exists only to sign the stack CA Certificate; a CA Issuer built from that
CA's Secret signs one Certificate per StatefulSet, with a PKCS12 keystore whose password comes
from a Secret the user creates (``<stack>-gateway-network-keystore``, key ``password``; the
manifests never contain a Secret). Each pod's init container installs the CA (``ca.crt``) and
the keystore (``keystore.p12``) of its StatefulSet's Secret into the data volume; ``tls.key``
is never mounted. See docs/security.md, "The SSL design".

There are no client models for CRDs: the objects are plain dicts in canonical order
(apiVersion, kind, metadata, spec), validated in the tests against cert-manager's own CRD
schemas.
"""

from __future__ import annotations

from typing import Any

from emitter.ir import Stack
from emitter.targets.kubernetes.metadata import Workload, stack_labels, workload_labels
from emitter.vocabulary import TransportName

GROUP = "cert-manager.io"
API_VERSION = f"{GROUP}/v1"
# The keys of a cert-manager Certificate Secret the init container reads (never tls.key).
CA_KEY = "ca.crt"
KEYSTORE_KEY = "keystore.p12"
PASSWORD_KEY = "password"
# Where the init container sees them; GAN_KEYSTORE_PASSWORD_FILE names a file under /run/secrets/,
# like the admin password's file.
CERTIFICATE_MOUNT = "/run/secrets/gateway-network-certificate"
KEYSTORE_PASSWORD_MOUNT = "/run/secrets/gateway-network-keystore-password"
# Reloader (github.com/stakater/Reloader) restarts the StatefulSet's pods when cert-manager
# renews the certificate; without it, docs/security.md explains the manual restart.
RELOADER_ANNOTATION = "secret.reloader.stakater.com/reload"

CA_DURATION = "87600h"  # 10 years
# Gateway certificates: 90 days, renewed 15 days before they expire.
CERTIFICATE_DURATION = "2160h"
CERTIFICATE_RENEW_BEFORE = "360h"
USAGES = ("server auth", "client auth", "digital signature", "key encipherment")
# Modern2023 (AES-256-CBC, PBKDF2-SHA256) is what Java 17's keytool and Ignition read; the field
# needs cert-manager >= 1.14.
KEYSTORE_PROFILE = "Modern2023"
MINIMUM_CERT_MANAGER = "1.14"

CERTIFICATE_NOTE = (
    f"# Needs cert-manager >= {MINIMUM_CERT_MANAGER} (keystores.pkcs12.profile "
    f"{KEYSTORE_PROFILE}, which Java 17 reads).\n"
    "# The keystore password comes from the Secret named in passwordSecretRef, which you create\n"
    "# (see docs/security.md); no manifest contains it.\n"
)
ISSUER_NOTE = "# Needs cert-manager in the cluster (see docs/security.md, The SSL design).\n"


def enabled(stack: Stack) -> bool:
    return stack.transport is TransportName.SSL


def selfsigned_issuer_name(stack: Stack) -> str:
    return f"{stack.name}-selfsigned"


def ca_name(stack: Stack) -> str:
    """The stack CA Certificate, and the Secret cert-manager writes it to."""
    return f"{stack.name}-gateway-network-ca"


def ca_issuer_name(stack: Stack) -> str:
    return f"{stack.name}-gateway-network"


def keystore_password_secret(stack: Stack) -> str:
    """The Secret (key ``password``) the user creates; cert-manager encrypts keystores with it.
    The IR names it, as it names the admin password's Secret (POST-SETUP.md shows both)."""
    return stack.keystore_password_secret


def certificate_name(workload: Workload) -> str:
    """A StatefulSet's Certificate, and the Secret cert-manager writes it to."""
    return f"{workload.name}-gateway-network"


def service_names(workload: Workload) -> list[str]:
    """The ClusterIP Services of the StatefulSet: each gateway's name (a pair's master and
    backup), or the tier's role."""
    if workload.replicated:
        return [workload.role]
    return [gateway.name for gateway in workload.gateways]


def dns_names(workload: Workload) -> list[str]:
    """The Services other gateways connect to, the headless Service, and every pod behind it
    (``<pod>.<headless>``). A pair's nodes share one certificate, so they are renewed at the same
    moment and the restart that applies it rolls the pair in order, backup first."""
    headless = workload.headless_service
    return [*service_names(workload), headless, f"*.{headless}"]


def _issuer_ref(name: str) -> dict[str, str]:
    return {"name": name, "kind": "Issuer", "group": GROUP}


def _metadata(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "labels": labels}


def objects(stack: Stack, workloads: tuple[Workload, ...]) -> list[dict[str, Any]]:
    """Every cert-manager object of the stack: none unless ``transport: ssl``."""
    if not enabled(stack):
        return []
    labels = stack_labels(stack)
    found: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Issuer",
            "metadata": _metadata(selfsigned_issuer_name(stack), labels),
            # Signs the stack CA only; nothing else refers to it.
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": API_VERSION,
            "kind": "Certificate",
            "metadata": _metadata(ca_name(stack), labels),
            "spec": {
                "isCA": True,
                "commonName": f"{stack.name} Gateway Network CA",
                "secretName": ca_name(stack),
                # The CA keeps its key when it is renewed, so certificates signed before and
                # after the renewal chain to both versions of it.
                "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Never"},
                "duration": CA_DURATION,
                "issuerRef": _issuer_ref(selfsigned_issuer_name(stack)),
            },
        },
        {
            "apiVersion": API_VERSION,
            "kind": "Issuer",
            "metadata": _metadata(ca_issuer_name(stack), labels),
            "spec": {"ca": {"secretName": ca_name(stack)}},
        },
    ]
    found.extend(certificate(stack, workload) for workload in workloads)
    return found


def certificate(stack: Stack, workload: Workload) -> dict[str, Any]:
    """One StatefulSet's Gateway Network certificate: every pod of it presents this one."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Certificate",
        "metadata": _metadata(certificate_name(workload), workload_labels(stack, workload)),
        "spec": {
            "secretName": certificate_name(workload),
            "commonName": workload.name,
            "dnsNames": dns_names(workload),
            "usages": list(USAGES),
            "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"},
            "duration": CERTIFICATE_DURATION,
            "renewBefore": CERTIFICATE_RENEW_BEFORE,
            "keystores": {
                "pkcs12": {
                    "create": True,
                    "profile": KEYSTORE_PROFILE,
                    "passwordSecretRef": {
                        "name": keystore_password_secret(stack),
                        "key": PASSWORD_KEY,
                    },
                }
            },
            "issuerRef": _issuer_ref(ca_issuer_name(stack)),
        },
    }


def note(document: dict[str, Any]) -> str:
    """Comment lines for the top of a cert-manager object's file ("" for any other object)."""
    if not str(document.get("apiVersion", "")).startswith(GROUP + "/"):
        return ""
    if document["kind"] == "Certificate" and "keystores" in document["spec"]:
        return CERTIFICATE_NOTE
    return ISSUER_NOTE
