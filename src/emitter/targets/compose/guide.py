"""The Compose target's part of a project: its entry point ``compose.yaml``, its section of
POST-SETUP.md and how the pair check reaches a master."""

from __future__ import annotations

from emitter import licensing
from emitter.ir import Gateway, Stack
from emitter.targets.compose.names import PASSWORD_FILE, PKI_SERVICE
from emitter.targets.registry import PairAccess
from emitter.vocabulary import TransportName
from emitter.yamlio import dump_yaml


def entrypoint(stack: Stack) -> dict[str, str]:
    """``docker compose`` finds this in the project directory; it pulls in the generated file."""
    header = (
        "# Lets `docker compose` run from the project directory. The stack itself is\n"
        "# targets/compose/compose.yaml, generated from stack.yaml by `ignition-stack emit`.\n"
    )
    document = {"name": stack.name, "include": ["targets/compose/compose.yaml"]}
    return {"compose.yaml": header + dump_yaml(document)}


def pair_access(_: Stack, master: Gateway) -> PairAccess:
    where = f"http://localhost:{master.http_port} with Compose"
    return PairAccess(alone=where, among=where, port=master.http_port, own_ports=True)


def section(stack: Stack) -> list[str]:
    """Where the admin password is, how to start the stack, and how a pair is upgraded."""
    pairs = stack.pairs
    ssl = stack.transport is TransportName.SSL
    out = [
        f"With Compose its password is in `{PASSWORD_FILE}` (written once by "
        "`ignition-stack create`, git-ignored, never in the compose file or `stack.yaml`).",
        "",
        "## Docker Compose",
        "",
        *_license_files(stack),
        "```sh",
        f"cd {stack.name} && docker compose up -d",
        'docker compose ps          # every gateway turns "healthy" once RUNNING'
        + ("; a backup only once paired" if pairs else ""),
        "```",
        "",
        "Each gateway has a one-shot `<gateway>-bootstrap` service that fills its empty data volume "
        "from the image"
        + (", places the node's `redundancy.xml`" if pairs else "")
        + (", installs its Gateway Network certificate and the stack CA" if ssl else "")
        + " and hands the volume to uid 2003; the gateway starts when it has finished."
        + (
            f" Before them, `{PKI_SERVICE}` creates the stack CA (in a volume no gateway mounts) "
            "and one certificate per gateway; later starts only renew certificates close to expiry."
            if ssl
            else ""
        ),
    ]
    if pairs:
        out += [
            "Every start of a gateway container, a restart by the restart policy included, "
            "re-asserts the node's pairing keys in its `redundancy.xml` before the gateway runs.",
            "",
            f"`ignition-stack status {stack.name}` reads every gateway's `/system/gwinfo` through its "
            "published port and prints one line per gateway; it exits 0 only when every pair has "
            "formed and is in sync.",
            *_upgrade(stack, ssl),
        ]
    return out + web_section(stack)


def _license_files(stack: Stack) -> list[str]:
    """Before the first start: each license's key and token in the git-ignored secrets/ (the
    compose file names the files; Docker refuses to create a gateway whose file is missing). Compose bind-mounts them with their host mode, so uid 2003 must be able to read
    them: the 0700 directory keeps them from other users of the host."""
    names = licensing.secrets(stack.gateways)
    if not names:
        return []
    out = [
        "Put each license's key and token into its files first (git-ignored, like the admin "
        "password; the gateway, uid 2003, reads them through a bind mount, so they are "
        "world-readable inside a directory only you can enter):",
        "",
        "```sh",
        "install -d -m 0700 secrets",
    ]
    for name in names:
        directory = f"secrets/{name}"
        out += [
            f"install -d -m 0700 {directory}",
            f"printf '%s' '<license key>' > {directory}/{licensing.LICENSE_KEY}",
            f"printf '%s' '<activation token>' > {directory}/{licensing.ACTIVATION_TOKEN}",
            f"chmod 0444 {directory}/*",
        ]
    return [*out, "```", ""]


def _upgrade(stack: Stack, ssl: bool) -> list[str]:
    """The "Upgrade the pair" section: Compose recreates every changed container at once, so a
    pair is rolled by hand, backup first, the way Inductive Automation documents it."""
    out = [
        "",
        "## Upgrade the pair",
        "",
        "`docker compose up -d` recreates every container whose settings changed (a new image, a "
        "changed script or setting) at the same moment, master and backup together, and the pair "
        "is down until both are back. `ignition-stack emit` says so when a change does this. Roll "
        "each pair instead, backup first (Inductive Automation's upgrade order for a pair), "
        "waiting for each node to turn healthy:",
        "",
        "```sh",
    ]
    for master, backup in stack.pairs:
        for node in (backup, master):
            out += [
                f"docker compose run --rm --no-deps {node.name}-bootstrap",
                f"docker compose up -d --no-deps --wait {node.name}",
            ]
    out += [
        "docker compose up -d --wait     # then everything else",
        "```",
        "",
        "While the master restarts, the backup takes over; a backup running a newer version than "
        "its master reports `RedundantState=Incompatible` and still counts as healthy, so the "
        "upgrade can go on to the master.",
    ]
    if ssl:
        out += [
            "",
            "### Renew the Gateway Network certificates",
            "",
            "Every `docker compose up` re-issues the certificates that expire within 30 days; to "
            "renew without a full `up`, run the PKI service, then roll each pair as above so that "
            "each bootstrap installs its node's new certificate (a gateway reads it only when it "
            "starts):",
            "",
            "```sh",
            f"docker compose run --rm --no-deps {PKI_SERVICE}",
            "```",
            "",
            "Set `-e PKI_RENEW_DAYS=N` to renew every certificate that expires within N days.",
        ]
    return out


def web_section(stack: Stack) -> list[str]:
    """Web access through the Traefik service (``web:``): DNS, the certificate, how to verify,
    and what a pair behind one host does."""
    if not stack.web:
        return []
    from emitter.targets.compose import web

    out = [
        "",
        "## Web access (Compose)",
        "",
        f"`{web.PROXY_SERVICE}` (Traefik, `{web.TRAEFIK_IMAGE}`) terminates TLS on the Docker "
        "host's port 443 (port 80 redirects to it) and forwards to the gateways' port 8088 over "
        f"the `{web.NETWORK}` network, which only the routed gateways join; their own ports stay "
        "on 127.0.0.1, for `ignition-stack status` on the Docker host. Point each name at the "
        "Docker host in DNS (or in `/etc/hosts` for a test):",
        "",
        "| host | reaches |",
        "|---|---|",
    ]
    for route in stack.web:
        if route.failover:
            reaches = f"`{route.gateways[0]}`, and `{route.gateways[1]}` while the master is down"
        elif route.replicated:
            reaches = "any of " + ", ".join(f"`{name}`" for name in route.gateways) + " (sticky)"
        else:
            reaches = f"`{route.gateways[0]}`"
        out.append(f"| https://{route.host}/ | {reaches} |")
    host = stack.web[0].host
    out += [
        "",
        f"Without `compose.web.acme_email`, `{web.CERTIFICATES_SERVICE}` issues the certificate "
        f"from the stack's own web CA (`CN={stack.name} Web CA`, in a volume only it mounts) on "
        "every `up`, renewing it 30 days before it expires (then `docker compose restart "
        f"{web.PROXY_SERVICE}` loads it). Browsers trust it once you add the CA certificate to "
        "their trust store. With `acme_email`, Traefik gets it from Let's Encrypt instead: the "
        "names must be public and port 443 reachable from the internet.",
        "",
        "Verify:",
        "",
        "```sh",
        f"docker compose cp {web.PROXY_SERVICE}:{web.CERTIFICATES_MOUNT}/ca.crt web-ca.crt"
        "   # web CA only",
        f"curl -v --cacert web-ca.crt https://{host}/StatusPing   "
        '# {"state":"RUNNING"}; with ACME drop --cacert',
        f"openssl s_client -connect {host}:443 -servername {host} </dev/null 2>/dev/null "
        "| openssl x509 -noout -issuer -subject -ext subjectAltName",
        "```",
        "",
        "Each routed gateway's public address is its host on port 443, so its redirects and the "
        "Designer launcher use that name.",
    ]
    if any(route.failover for route in stack.web):
        out += [
            "",
            "A pair behind one host is a Traefik failover service: Traefik probes each node's "
            "`/StatusPing` every 10 s and sends users to the master while it answers, to the "
            "backup while it does not, and back to the master once it answers again. It follows "
            "whether the master's gateway answers, not which node Ignition reports active "
            "(`/system/gwinfo` `RedundantNodeActiveStatus`, a field Traefik's health check "
            "cannot read): a master that answers but is not the active node still gets the "
            "users.",
        ]
    return out
