"""POST-SETUP.md, rendered from the IR: how to start the stack and how to check it came up.

The common sections (overview, pair check, licensing, security) are here; each target adds its
own section from its record (``Target.post_setup``) and says how the pair check reaches a
master (``Target.pair_access``). Plain Python rather than a template engine: `create` must
stay fast.
"""

from __future__ import annotations

from emitter import database, image, mqtt, restore
from emitter.ir import Gateway, Stack
from emitter.targets import registry
from emitter.targets.registry import Target
from emitter.vocabulary import NodeRole, TransportName

# A replicated tier this large is drawn as one box; a diagram of 1000 spokes helps nobody.
MAX_DRAWN_REPLICAS = 4


# Moving a pair to SSL without the stack CA, in Ignition 8.3's terms (IA manual 8.3, "Gateway
# Network Certificates and SSL": an untrusted peer certificate lands in the client PKI's
# rejected/ folder and is trusted by moving it to trusted/certs/; incoming certificates are
# approved on Network > Gateway Network > Connections > Incoming Connections). The manual shows
# the folders under data/gateway-network/; 8.3 images keep them under
# data/config/local/ignition/gateway-network/, where the official Helm chart puts them too: the
# folder is the release's, from image.RELEASES.
# 8.1's "Config > Networking" menu no longer exists (tests/test_documents_wording.py).
def manual_ssl_trust(stack: Stack) -> str:
    release = image.release(stack)
    folder = release.layout.gateway_network
    return (
        "If you move to SSL by hand instead (without the stack CA), the backup's outgoing SSL connection "
        "fails with `certificate_unknown` until it trusts the master's Gateway Network certificate. "
        f"Ignition {release.series} has put that certificate in the backup's "
        f"`data/{folder}/client/security/pki/rejected/` folder: move it to "
        "`.../client/security/pki/trusted/certs/` there (the gateway picks it up at the next reconnect). "
        "With two-way authentication, also approve the backup's certificate on the master under "
        "**Network → Gateway Network → Connections → Incoming Connections**."
    )


def topology_mermaid(stack: Stack) -> str:
    """A Mermaid flowchart of the gateways and their Gateway Network links."""
    boxes: dict[str, str] = {}
    lines = ["flowchart LR"]
    for tier in stack.tiers:
        members = [gateway for gateway in stack.gateways if gateway.role == tier.role]
        if tier.replicated and len(members) > MAX_DRAWN_REPLICAS:
            key = f"tier{len(lines)}"
            label = (
                f"{members[0].name} .. {members[-1].name}<br/>{len(members)} x {members[0].edition}"
            )
            boxes.update(dict.fromkeys(tier.gateways, key))
            lines.append(f'  {key}["{label}"]')
            continue
        for gateway in members:
            key = f"g{len(boxes)}"
            role = f" {gateway.redundancy.role}" if gateway.redundancy else ""
            boxes[gateway.name] = key
            lines.append(
                f'  {key}["{gateway.name}<br/>{gateway.edition}{role} :{gateway.http_port}"]'
            )
    edges: list[str] = []
    for gateway in stack.gateways:
        for link in gateway.connections:
            if link.target in boxes:
                edges.append(
                    f"  {boxes[gateway.name]} -->|Gateway Network {link.port}| {boxes[link.target]}"
                )
        redundancy = gateway.redundancy
        if redundancy and redundancy.role is NodeRole.BACKUP and redundancy.peer in boxes:
            edges.append(
                f"  {boxes[gateway.name]} -.->|redundancy {redundancy.port}| {boxes[redundancy.peer]}"
            )
    return "\n".join(lines + list(dict.fromkeys(edges)))


def _connections(gateway: Gateway) -> str:
    return ", ".join(f"`{link.target}`" for link in gateway.connections) or "-"


def post_setup(stack: Stack, targets: tuple[str, ...]) -> str:
    """POST-SETUP.md: the common sections, with each target's own after the overview."""
    records = [registry.get(name) for name in targets]
    out = _overview(stack)
    for record in records:
        if record.post_setup:
            out += record.post_setup(stack)
    if stack.pairs:
        out += _verify_pairs(stack, records)
    out += (
        _modules(stack)
        + restore.post_setup(stack)
        + database.post_setup(stack)
        + mqtt.post_setup(stack, targets)
    )
    out += _licensing(stack) + _security(stack)
    return "\n".join(out)


def _modules(stack: Stack) -> list[str]:
    """The third-party modules each role's gateways install, and how to see they loaded."""
    by_role = {g.role: g for g in stack.gateways if g.modules}
    if not by_role:
        return []
    out = ["", "## Modules", "", "| role | module | id | sha256 |", "|---|---|---|---|"]
    for role, gateway in by_role.items():
        out += [
            f"| `{role}` | `{m.name}` | `{m.id}` | `{m.sha256[:12]}…` |" for m in gateway.modules
        ]
    release = stack.release.series if stack.release else ""
    out += [
        "",
        "- Each is fetched and checked against its sha256 before the gateway starts; a mismatch or "
        "a missing file stops the start, naming the module (the seeding step's log).",
        "- **Verify:** each gateway's Config > Modules lists them as Running.",
    ]
    if release == "8.1":
        out.append(
            "- **Ignition 8.1:** accept each module's license and certificate once in each "
            "gateway's Config > Modules (8.1 has no option to accept them at start; 8.3 does)."
        )
    return out


def _overview(stack: Stack) -> list[str]:
    count = len(stack.gateways)
    return [
        f"# POST-SETUP: {stack.name}",
        "",
        f"Generated by ignition-stack from `stack.yaml` ({stack.architecture} architecture, {count} "
        f"gateway{'s' if count != 1 else ''}, Gateway Network transport `{stack.transport}`).",
        "Everything below was seeded for you; this page lists how to start the stack and how to "
        "**check** that it came up as intended.",
        "",
        "## Topology",
        "",
        "```mermaid",
        topology_mermaid(stack),
        "```",
        "",
        "| gateway | role | edition | redundancy | web UI (Compose) | connects to |",
        "|---|---|---|---|---|---|",
        *(
            f"| `{g.name}` | {g.role} | {g.edition} | {g.redundancy.role if g.redundancy else 'independent'} "
            f"| http://localhost:{g.http_port} | {_connections(g)} |"
            for g in stack.gateways
        ),
        "",
        f"The admin user is `{stack.admin_username}`.",
    ]


def _verify_pairs(stack: Stack, records: list[Target]) -> list[str]:
    """How to check that each pair formed: where each target lets a user reach the master."""
    out = ["", "## Verify the redundant pair", ""]
    for master, backup in stack.pairs:
        assert backup.redundancy is not None
        link = " with SSL" if backup.redundancy.ssl else " (plain, no SSL)"
        out.append(
            f"`{master.name}` is the **master** and `{backup.name}` the **backup**; the backup connects to "
            f"`{master.name}` on port {backup.redundancy.port}{link}."
        )
    out += ["This is a check, not a procedure: there is nothing to click.", ""]
    for master, backup in stack.pairs:
        access = [record.pair_access(stack, master) for record in records if record.pair_access]
        if len(access) == 1:
            where = f" ({access[0].alone})"
        else:
            where = f" ({'; '.join(way.among for way in access)})" if access else ""
        port = access[0].port if access else master.http_port
        backup_port = f" (port {backup.http_port})" if access and access[0].own_ports else ""
        # 8.3 menu: "select Platform > System > Redundancy" (IA manual 8.3, "Ignition
        # Redundancy"; 8.1 had Status > Redundancy and Config > System > Redundancy). The page's
        # fields were read on 8.3.6; /system/gwinfo is what the official 8.3 chart's checks parse.
        out += [
            f"1. Within about a minute of both nodes reaching RUNNING, open the master's gateway{where}.",
            "2. Go to **Platform → System → Redundancy** (Ignition 8.3). You should see **PEER CONNECTED: Yes** and "
            "**Sync Status: Good**. The backup pulls a one-time full configuration sync from the master, "
            "so it may show *Out of Date* briefly.",
            f"3. From the command line, the gateway reports the same: `curl -s http://localhost:{port}/system/gwinfo` "
            f"includes `RedundancyStatus=Master` and `RedundantState=Good`; the backup{backup_port} reports "
            "`RedundancyStatus=Backup`.",
        ]
    if stack.transport is TransportName.SSL:
        out += [
            "",
            "No certificate approval was needed: every gateway's Gateway Network certificate is signed by "
            "the stack's CA, and that CA is already trusted on every node.",
        ]
    out += [
        "",
        "Configure projects, tags and connections on the master only: the backup's configuration is "
        "replaced by the master's on every sync.",
    ]
    return out


def _licensing(stack: Stack) -> list[str]:
    pairs = stack.pairs
    if any(gateway.license for gateway in stack.gateways):
        return _leased_licenses(stack)
    out = [
        "",
        "## Licensing",
        "",
        "Licensing is a deployment concern that ignition-stack does not manage.",
    ]
    if pairs:
        out.append(
            "- Both nodes of a pair need a license. A discounted backup-only license forces its node into "
            "Backup mode (the mode cannot change while it is applied)."
        )
    out.append(
        "- Unlicensed gateways run in a 2-hour trial, which can be reset from the gateway page: enough to "
        f"see the {'pair' if pairs else 'stack'} working, not to keep it running."
    )
    return out


def _leased_licenses(stack: Stack) -> list[str]:
    """Which gateway reads which license secret (the targets' sections say how to create them),
    and how to check that each one took."""
    out = [
        "",
        "## Licensing",
        "",
        "Leased licenses, each read from a secret when the gateway starts (no file of this project "
        "holds a key or token; the sections above show how to create the secrets):",
        "",
        "| gateway | license secret |",
        "|---|---|",
        *(
            f"| `{g.name}` | {f'`{g.license}`' if g.license else 'none: 2-hour trial'} |"
            for g in stack.gateways
        ),
        "",
        "- A backup-only license forces its node into Backup mode (the mode cannot change while it "
        "is applied); the master of a pair needs a full license.",
        "- A leased license checks in with Inductive Automation's activation service every hour "
        "and falls back to the trial when it has not reached it for 4 hours: the gateways need "
        "outgoing HTTPS to it.",
        "- **Verify:** on each licensed gateway's web page the trial banner is gone and its "
        "licensing page shows the key activated.",
        "- **Rotate:** replace the secret's two values, then restart the gateway (a pair backup "
        "first): the image reads them only when it starts.",
    ]
    return out


def _security(stack: Stack) -> list[str]:
    out = ["", "## Security", ""]
    if stack.transport is TransportName.SSL:
        out.append(
            "The Gateway Network runs over SSL on port 8060 with two-way authentication: only gateways "
            "holding a certificate signed by this stack's CA can connect, and that CA is pre-trusted on "
            "every node."
        )
    else:
        out += [
            "**The Gateway Network link is plain: demo only.** Every gateway accepts unencrypted Gateway "
            "Network connections on port 8088 under an `Unrestricted` policy"
            + (
                ", and redundancy replicates the entire gateway (projects, tags and secrets) over that link"
                if stack.pairs
                else ""
            )
            + ". The gateways log `Require SSL setting is disabled, rendering Gateway Network connections "
            "insecure`. This is safe only on an isolated demo network.",
            "",
            "For anything cross-host or production, switch to SSL on port 8060: set `transport: ssl` in "
            "`stack.yaml` (or create with `--transport ssl`) and run `ignition-stack emit`. ignition-stack "
            "then gives every gateway a certificate signed by one stack CA and pre-trusts that CA, so the "
            "pair still forms with no clicks.",
            "",
            manual_ssl_trust(stack),
        ]
    out += ["", "See `docs/security.md` in the ignition-stack repository for the threat model.", ""]
    return out
