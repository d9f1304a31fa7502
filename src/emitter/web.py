"""Web access with TLS: ``web: {hosts: {<role> | <backup gateway>: <DNS name>}}``.

One DNS name per gateway role, and optionally one of a pair's backup of its own. ``resolve.py``
turns the hosts into the IR's ``Stack.web`` once (who serves each host) and gives every routed
gateway that host as its public address (ports 80/443) unless the stack file sets one, so
redirects and the Designer launcher use the external name; the targets add the gateway's
``gateway.useProxyForwardedHeader=true`` as the official Helm chart does behind its Ingress.

How the targets lower it (docs/research/around-gateways.md §4):

* Kubernetes (``kubernetes.web``): an Ingress with cert-manager's ``issuer``/``cluster-issuer``
  annotation and ``spec.tls`` (§4.2), or Gateway API HTTPRoutes attached to a Gateway someone
  else owns, which terminates TLS (§4.3); a NetworkPolicy admits the gateways' HTTP port from the
  ingress controller's namespace.
* Compose (``compose.web``): a Traefik service terminating TLS with a certificate the stack's
  web CA issues, or from ACME (§4.4).
* A pair behind one host: Compose routes to the master and fails over to the backup by health
  check (§4.5); Kubernetes routes the role's host to whichever node is active, through a
  Service that selects the pod a marker beside each node labels from ``/system/gwinfo``
  (``targets/kubernetes/active.py``), and a backup's own host to the backup alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field

from emitter.diagnostics import Diagnostic, error, preview, warning
from emitter.model import Model

if TYPE_CHECKING:
    from emitter.ir import Stack
    from emitter.spec import StackSpec

KEY = "web"
# A DNS-1123 subdomain, lower case: what an Ingress rule's host, an HTTPRoute's hostname and a
# certificate's subjectAltName all accept. No IP address, no wildcard.
_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
HOST = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
MAX_HOST = 253
# Names no public certificate authority issues for (RFC 6761, RFC 8375, ICANN's .internal).
PRIVATE_SUFFIXES = (
    ".local",
    ".localhost",
    ".internal",
    ".lan",
    ".home.arpa",
    ".test",
    ".example",
    ".invalid",
    ".localtest.me",
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HOST_HINT = "write the DNS name users type, lower case, e.g. `scada.example.com`"


class WebSpec(Model):
    """Web access to the gateways through a TLS-terminating proxy."""

    hosts: dict[str, str] = Field(
        min_length=1,
        description=(
            "DNS name users reach each role at, by role (e.g. `backend: scada.example.com`); "
            "a pair's backup may have its own, by its gateway name (`backend-backup: "
            "scada-backup.example.com`). Each routed gateway's public address becomes its host "
            "(port 443). Kubernetes: an Ingress or HTTPRoute (`kubernetes.web`); Compose: a "
            "Traefik service (`compose.web`)."
        ),
    )


def is_public(host: str) -> bool:
    """Whether a public certificate authority (ACME) can issue for ``host``."""
    return "." in host and not any(
        host.endswith(suffix) or host == suffix[1:] for suffix in PRIVATE_SUFFIXES
    )


def host_problem(host: str) -> str | None:
    if host != host.lower() and HOST.match(host.lower()):
        return "has upper-case letters (DNS names in Kubernetes and certificates are lower case)"
    # An all-numeric last label is an IP address, never a DNS name (RFC 3696 §2).
    if len(host) > MAX_HOST or not HOST.match(host) or host.rsplit(".", 1)[-1].isdigit():
        return (
            "is not a DNS name (labels of lower-case letters, digits and `-`, separated by `.`, "
            "at most 253 characters; no IP address, no wildcard)"
        )
    return None


def _path(key: str) -> str:
    return f"{KEY}.hosts.{preview(key)}"


def backups_of(spec: StackSpec) -> dict[str, str]:
    """A pair's backup gateway name -> its role."""
    return {
        gateway.name: gateway.role
        for gateway in spec.gateways or ()
        if gateway.redundancy is not None and gateway.redundancy.role.value == "backup"
    }


def web_rules(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    web: WebSpec | None = getattr(spec, KEY, None)
    if web is None:
        yield from _options_without_hosts(spec)
        return
    yield from _host_rules(spec, web)
    yield from _kubernetes_rules(spec)
    yield from _compose_rules(spec, web)


def _options_without_hosts(spec: StackSpec) -> Iterator[Diagnostic]:
    """A target's web options with no `web:` would be ignored without a word."""
    for target in ("kubernetes", "compose"):
        if getattr(getattr(spec, target, None), KEY, None) is not None:
            yield error(
                "IS168",
                f"{target}.{KEY}",
                f"`{target}.web` says how web hosts are routed, but the stack has no `web:`",
                f"add `web: {{hosts: {{ROLE: HOST}}}}`, or delete `{target}.web`",
            )


def _host_rules(spec: StackSpec, web: WebSpec) -> Iterator[Diagnostic]:
    from emitter.architectures import ARCHITECTURES

    roles = {gateway.role for gateway in spec.gateways or ()}
    roles.update(ARCHITECTURES[spec.architecture].role_names)
    backups = backups_of(spec)
    owner: dict[str, str] = {}
    for key, host in web.hosts.items():
        path = _path(key)
        if key not in roles and key not in backups:
            known = sorted(roles) + sorted(backups)
            yield error(
                "IS162",
                path,
                f"{preview(key)!r} is neither a role of the stack nor a pair's backup gateway",
                f"key each host by a role or a backup gateway: {', '.join(known)}",
            )
        problem = host_problem(host)
        if problem:
            yield error("IS161", path, f"host {preview(host)!r} {problem}", HOST_HINT)
        elif host in owner:
            yield error(
                "IS160",
                path,
                f"host {host!r} is also the host of {preview(owner[host])!r}: one name cannot "
                "reach two roles (or both nodes of a pair separately)",
                f"give {preview(key)!r} a name of its own, e.g. `{preview(key)}.{host}`",
            )
        else:
            owner[host] = key


def _emits(spec: StackSpec, target: str) -> bool:
    return spec.targets is None or target in spec.targets


def _kubernetes_rules(spec: StackSpec) -> Iterator[Diagnostic]:
    options = getattr(spec, "kubernetes", None)
    if options is None or not _emits(spec, "kubernetes"):
        return
    from emitter.targets.kubernetes.options import KubernetesWebSpec

    web = options.web or KubernetesWebSpec()
    if web.route == "httproute":
        if web.parent_gateway is None:
            yield error(
                "IS163",
                "kubernetes.web.parent_gateway",
                "an HTTPRoute needs the Gateway it attaches to (the Gateway terminates TLS)",
                "set `kubernetes.web.parent_gateway: {name: GATEWAY, namespace: NAMESPACE}`, "
                "or `route: ingress`",
            )
        if web.issuer is not None or web.ingress_class is not None:
            yield error(
                "IS165",
                "kubernetes.web",
                "`issuer` and `ingress_class` configure an Ingress, but `route` is httproute "
                "(its TLS is on the parent Gateway)",
                "remove them, or set `route: ingress`",
            )
    else:
        if web.issuer is None:
            yield error(
                "IS164",
                "kubernetes.web.issuer",
                "the Ingress terminates TLS with a certificate from cert-manager, but no issuer "
                "is named",
                "set `kubernetes.web.issuer: {name: ISSUER, kind: ClusterIssuer}` (or "
                "`kind: Issuer` in the stack's namespace)",
            )
        if web.parent_gateway is not None:
            yield error(
                "IS165",
                "kubernetes.web.parent_gateway",
                "`parent_gateway` is for an HTTPRoute, but `route` is ingress",
                "remove it, or set `route: httproute`",
            )
    if web.controller_namespace is None and not options.web_access_namespaces:
        yield warning(
            "IS212",
            "kubernetes.web.controller_namespace",
            "no namespace is named for the ingress controller: the gateways' NetworkPolicy "
            "admits web traffic from the stack's own namespace only",
            "set `kubernetes.web.controller_namespace` to the namespace your ingress "
            "controller (or Gateway implementation) runs in, e.g. `ingress-nginx`",
        )


def _compose_rules(spec: StackSpec, web: WebSpec) -> Iterator[Diagnostic]:
    options = getattr(spec, "compose", None)
    email = options.web.acme_email if options is not None and options.web is not None else None
    if email is None or not _emits(spec, "compose"):
        return
    if not EMAIL.match(email):
        yield error(
            "IS166",
            "compose.web.acme_email",
            f"{preview(email)!r} is not an email address",
            "give the address the ACME certificate authority sends expiry notices to",
        )
    for key, host in web.hosts.items():
        if host_problem(host) is None and not is_public(host):
            yield warning(
                "IS211",
                _path(key),
                f"host {host!r} is not a public DNS name: an ACME certificate authority "
                "cannot issue a certificate for it (`compose.web.acme_email` is set)",
                "use a public name that resolves to this Docker host, or remove "
                "`compose.web.acme_email` to use the stack's own web CA",
            )
