"""Web access with TLS on Compose (``web:``, ``compose.web``; emitter.web).

A Traefik service (``web-proxy``) terminates TLS on the host's port 443 (80 redirects to it) and
forwards to the routed gateways' HTTP port over a network of its own (``web-proxy``), which only
the routed gateways join; those gateways publish no host port any more.

Traefik reads its routes from one generated file (its file provider), not from container labels
through the Docker provider: the Docker provider needs the Docker socket, and even read-only the
socket's API is root on the host. The file gives the same routers and services
(docs/research/around-gateways.md §4.4), is covered by ``emit --check``, and is the only place
Traefik's failover service can be defined anyway.

Certificates: without ``compose.web.acme_email`` a one-shot ``web-proxy-certificates`` service (the
Ignition image, with openssl) issues one certificate for every host from the stack's web CA into
a volume Traefik reads; with it, Traefik gets them from Let's Encrypt (TLS-ALPN challenge on 443).

A pair behind one host: a Traefik failover service sends users to the master while its
``/StatusPing`` answers, and to the backup when it does not (§4.5). A replicated tier: Traefik
balances over its members with a sticky cookie, so a session stays on one gateway.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from emitter import image
from emitter.ir import Stack, WebRoute
from emitter.targets.compose.names import (
    WEB_ACME_VOLUME,
    WEB_CA_VOLUME,
    WEB_CERTIFICATES_SERVICE,
    WEB_CERTIFICATES_VOLUME,
    WEB_PROXY,
)
from emitter.targets.compose.options import ComposeSpec
from emitter.vocabulary import TransportName

# traefik/hub v3.19.5's release notes: "built with Traefik Proxy v3.6.15".
TRAEFIK_IMAGE = "traefik:v3.6.15"
PROXY_SERVICE = NETWORK = WEB_PROXY
CERTIFICATES_SERVICE = WEB_CERTIFICATES_SERVICE
CA_VOLUME = WEB_CA_VOLUME
CERTIFICATES_VOLUME = WEB_CERTIFICATES_VOLUME
ACME_VOLUME = WEB_ACME_VOLUME
SCRIPT = "web-certificates.sh"
# `validate` recognises it by its name (validation.TRAEFIK_DYNAMIC_NAME).
DYNAMIC_FILE = "web/traefik-dynamic.yaml"
DYNAMIC_MOUNT = "/etc/traefik/dynamic.yaml"
CERTIFICATES_MOUNT = "/certificates"
CA_MOUNT = "/web-ca"
ACME_MOUNT = "/acme"
RESOLVER = "acme"
# The distroless "nonroot" uid: Traefik needs no privilege, and listens above 1024.
PROXY_USER = "65532:65532"
HTTP_ENTRYPOINT = ("web", 8000, 80)
HTTPS_ENTRYPOINT = ("websecure", 8443, 443)
HEALTH_PATH = "/StatusPing"
LOOPBACK = "127.0.0.1"


def routed(stack: Stack) -> set[str]:
    return {name for route in stack.web for name in route.gateways}


def acme_email(options: ComposeSpec) -> str | None:
    return options.web.acme_email if options.web is not None else None


def services(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    if not stack.web:
        return {}
    return {
        CERTIFICATES_SERVICE: _certificates_service(stack, options),
        PROXY_SERVICE: _proxy_service(stack, options),
    }


def volumes(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    if not stack.web:
        return {}
    if acme_email(options):
        return {ACME_VOLUME: {}}
    return {CA_VOLUME: {}, CERTIFICATES_VOLUME: {}}


def _script_mount() -> dict[str, Any]:
    return {
        "type": "bind",
        "source": f"./scripts/{SCRIPT}",
        "target": f"{image.SCRIPTS_DIR}/{SCRIPT}",
        "read_only": True,
    }


def _certificates_service(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    """Issues the certificate from the web CA, or (ACME) hands Traefik its storage."""
    if acme_email(options):
        environment = {"WEB_ACME_DIR": ACME_MOUNT, "WEB_OWNER": PROXY_USER}
        mounts = [{"type": "volume", "source": ACME_VOLUME, "target": ACME_MOUNT}]
    else:
        environment = {
            "WEB_CA_DIR": CA_MOUNT,
            "WEB_CERT_DIR": CERTIFICATES_MOUNT,
            "WEB_HOSTS": " ".join(route.host for route in stack.web),
            "WEB_OWNER": PROXY_USER,
            "WEB_STACK": stack.name,
        }
        mounts = [
            {"type": "volume", "source": CA_VOLUME, "target": CA_MOUNT},
            {"type": "volume", "source": CERTIFICATES_VOLUME, "target": CERTIFICATES_MOUNT},
        ]
    return {
        "image": stack.image,
        "user": "root",
        "entrypoint": ["/bin/bash", f"{image.SCRIPTS_DIR}/{SCRIPT}"],
        "environment": environment,
        "volumes": [*mounts, _script_mount()],
        # Root only to hand the files to Traefik's uid; it writes nothing else.
        "cap_drop": ["ALL"],
        "cap_add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"],
        "security_opt": ["no-new-privileges:true"],
        "network_mode": "none",
        "restart": "no",
        "labels": {"io.ignition-stack.component": CERTIFICATES_SERVICE},
    }


def _published(stack: Stack, options: ComposeSpec, host_port: int, port: int) -> str:
    """Like the gateways' ports: loopback only on a plain (demo) stack unless the stack file
    gives ``compose.publish_address``."""
    address = options.publish_address
    if address is None and stack.transport is TransportName.PLAIN:
        address = LOOPBACK
    mapping = f"{host_port}:{port}"
    if address is None:
        return mapping
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"{host}:{mapping}"


def _proxy_service(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    email = acme_email(options)
    command = [
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        f"--providers.file.filename={DYNAMIC_MOUNT}",
        f"--entrypoints.{HTTP_ENTRYPOINT[0]}.address=:{HTTP_ENTRYPOINT[1]}",
        # To the published port, not the entry point: Traefik would redirect to the entry
        # point's own port (8443), which only exists inside the container.
        f"--entrypoints.{HTTP_ENTRYPOINT[0]}.http.redirections.entrypoint.to=:{HTTPS_ENTRYPOINT[2]}",
        f"--entrypoints.{HTTP_ENTRYPOINT[0]}.http.redirections.entrypoint.scheme=https",
        f"--entrypoints.{HTTPS_ENTRYPOINT[0]}.address=:{HTTPS_ENTRYPOINT[1]}",
    ]
    mounts: list[dict[str, Any]] = [
        {"type": "bind", "source": f"./{DYNAMIC_FILE}", "target": DYNAMIC_MOUNT, "read_only": True}
    ]
    if email:
        command += [
            f"--certificatesresolvers.{RESOLVER}.acme.email={email}",
            f"--certificatesresolvers.{RESOLVER}.acme.storage={ACME_MOUNT}/acme.json",
            f"--certificatesresolvers.{RESOLVER}.acme.tlschallenge=true",
        ]
        mounts.append({"type": "volume", "source": ACME_VOLUME, "target": ACME_MOUNT})
    else:
        mounts.append(
            {
                "type": "volume",
                "source": CERTIFICATES_VOLUME,
                "target": CERTIFICATES_MOUNT,
                "read_only": True,
            }
        )
    return {
        "image": TRAEFIK_IMAGE,
        "user": PROXY_USER,
        "command": [value.replace("$", "$$") for value in command],
        "ports": [
            _published(stack, options, HTTP_ENTRYPOINT[2], HTTP_ENTRYPOINT[1]),
            _published(stack, options, HTTPS_ENTRYPOINT[2], HTTPS_ENTRYPOINT[1]),
        ],
        "volumes": mounts,
        "networks": [NETWORK],
        "depends_on": {CERTIFICATES_SERVICE: {"condition": "service_completed_successfully"}},
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": "unless-stopped",
        "labels": {"io.ignition-stack.component": PROXY_SERVICE},
    }


def _server(gateway: str) -> dict[str, Any]:
    return {"url": f"http://{gateway}:{image.HTTP_PORT}"}


def _balancer(gateways: tuple[str, ...], sticky: str | None = None) -> dict[str, Any]:
    balancer: dict[str, Any] = {
        "servers": [_server(name) for name in gateways],
        "healthCheck": {"path": HEALTH_PATH, "interval": "10s", "timeout": "5s"},
    }
    if sticky is not None:
        balancer["sticky"] = {"cookie": {"name": sticky, "secure": True, "httpOnly": True}}
    return {"loadBalancer": balancer}


def _route_services(route: WebRoute) -> dict[str, Any]:
    if route.failover:
        master, backup = route.gateways
        return {
            route.key: {
                "failover": {"service": f"{route.key}-master", "fallback": f"{route.key}-backup"}
            },
            f"{route.key}-master": _balancer((master,)),
            f"{route.key}-backup": _balancer((backup,)),
        }
    sticky = f"ignition-stack-{route.key}" if route.replicated else None
    return {route.key: _balancer(route.gateways, sticky)}


def dynamic_configuration(stack: Stack, options: ComposeSpec) -> dict[str, Any]:
    """Traefik's dynamic configuration: a router per host, its service, and the certificate."""
    tls: dict[str, Any] = {"certResolver": RESOLVER} if acme_email(options) else {}
    routers = {
        route.key: {
            "rule": f"Host(`{route.host}`)",
            "entryPoints": [HTTPS_ENTRYPOINT[0]],
            "service": route.key,
            "tls": tls,
        }
        for route in stack.web
    }
    services: dict[str, Any] = {}
    for route in stack.web:
        services.update(_route_services(route))
    document: dict[str, Any] = {"http": {"routers": routers, "services": services}}
    if not acme_email(options):
        certificate = {
            "certFile": f"{CERTIFICATES_MOUNT}/web.crt",
            "keyFile": f"{CERTIFICATES_MOUNT}/web.key",
        }
        document["tls"] = {
            "certificates": [certificate],
            "stores": {"default": {"defaultCertificate": certificate}},
        }
    return document
