"""The Kubernetes target's part of POST-SETUP.md: deploying each overlay, how a pair runs on
Kubernetes, and how the pair check reaches a master."""

from __future__ import annotations

from emitter import licensing
from emitter.ir import Gateway, Stack
from emitter.targets.kubernetes.active_rules import active_master, active_masters
from emitter.targets.kubernetes.names import ENVIRONMENTS, PRODUCTION, overlay_namespace
from emitter.targets.registry import PairAccess
from emitter.vocabulary import TransportName

# The gateway's own web port, which ``kubectl port-forward`` maps to the same local port.
WEB_PORT = 8088


def pair_access(stack: Stack, master: Gateway) -> PairAccess:
    forward = (
        f"`kubectl -n {overlay_namespace(stack.name, ENVIRONMENTS[0])} port-forward "
        f"svc/{master.name} {WEB_PORT}:{WEB_PORT}`"
    )
    return PairAccess(
        alone=f"{forward}, then http://localhost:{WEB_PORT}",
        among=f"{forward} then http://localhost:{WEB_PORT} on Kubernetes",
        port=WEB_PORT,
        own_ports=False,
    )


def section(stack: Stack) -> list[str]:
    """The Kubernetes section: each overlay's namespace, and the commands that deploy into it
    in the order that works (the namespace, the Secrets in it, then everything else)."""
    ssl = stack.transport is TransportName.SSL
    dev = overlay_namespace(stack.name, ENVIRONMENTS[0])
    out = [
        "",
        "## Kubernetes",
        "",
        "The manifests in `targets/kubernetes/` are a kustomize base. Each overlay in "
        "`overlays/kubernetes/<env>/` deploys it into a namespace of its own, which the overlay "
        "creates (its `namespace.yaml`, with Pod Security `restricted` enforced), and changes only "
        "what differs in that environment: production keeps every replica count and resource of "
        "`stack.yaml`; dev runs smaller gateways"
        + (", one replica per replicated tier" if any(t.replicated for t in stack.tiers) else "")
        + ".",
        "",
        "| overlay | namespace |",
        "|---|---|",
        *(
            f"| `overlays/kubernetes/{environment}` | `{overlay_namespace(stack.name, environment)}` |"
            for environment in ENVIRONMENTS
        ),
        "",
        "From the project directory: the namespace first, then the Secrets in it (no manifest "
        "carries a password: the gateways' admin password"
        + (", and the password cert-manager protects each gateway's keystore with" if ssl else "")
        + "), then the overlay"
        + (", once cert-manager and Reloader run in the cluster (below)" if ssl else "")
        + ".",
    ]
    for environment in ENVIRONMENTS:
        namespace = overlay_namespace(stack.name, environment)
        if environment != ENVIRONMENTS[0]:
            out += ["", f"{environment.capitalize()}, in namespace `{namespace}`:"]
        out += ["", "```sh", *_deploy_commands(stack, environment, ssl), "```"]
    out += [
        "",
        f"The commands below use the dev namespace, `{dev}`; in production it is "
        f"`{overlay_namespace(stack.name, PRODUCTION)}`. "
        "Each pod's init container seeds its data volume from the image"
        + (" and re-asserts the node's `redundancy.xml` on every start" if stack.pairs else "")
        + ".",
    ]
    if stack.pairs:
        out += _kubernetes_pairs(stack)
    out += _licenses(stack)
    out += _web(stack)
    if ssl:
        out += [
            "",
            "`transport: ssl` needs two controllers in the cluster:",
            "",
            "- **cert-manager** (1.14 or newer) creates the stack CA and one certificate per "
            "StatefulSet (a pair shares one), and renews them before they expire; the init "
            "containers install them.",
            "- **Reloader** (github.com/stakater/Reloader) restarts a StatefulSet's pods when "
            "cert-manager renews its certificate: a gateway reads its Gateway Network certificate "
            "only when it starts. The restart is a rolling update, so a pair is rolled backup "
            "first, like an upgrade. Without Reloader, nothing restarts the pods and the old "
            "certificate expires in place (the pair breaks when it does): restart them yourself "
            f"after each renewal with `kubectl -n {dev} rollout restart statefulset` "
            "(see docs/security.md).",
        ]
    return out


def _deploy_commands(stack: Stack, environment: str, ssl: bool) -> list[str]:
    """Deploy one overlay, run from the project directory (a test runs them verbatim)."""
    namespace = overlay_namespace(stack.name, environment)
    overlay = f"overlays/kubernetes/{environment}"
    secrets = [stack.admin_password_secret] + ([stack.keystore_password_secret] if ssl else [])
    ready = "each gateway pod turns Ready once RUNNING" + (
        "; a backup only once paired" if stack.pairs else ""
    )
    commands: list[tuple[str, str]] = [
        (f"kubectl apply -f {overlay}/namespace.yaml", f"namespace {namespace}"),
        *(
            (
                f"kubectl -n {namespace} create secret generic {secret} "
                "--from-literal=password='<choose one>'",
                "",
            )
            for secret in secrets
        ),
        *(
            (
                f"kubectl -n {namespace} create secret generic {secret} "
                f"--from-literal={licensing.LICENSE_KEY}='<license key>' "
                f"--from-literal={licensing.ACTIVATION_TOKEN}='<activation token>'",
                "",
            )
            for secret in licensing.secrets(stack.gateways)
        ),
        (f"kubectl apply -k {overlay}", "or point Argo CD / Flux at the overlay"),
        (f"kubectl -n {namespace} get pods -w", ready),
    ]
    width = max(len(command) for command, comment in commands if comment)
    return [
        f"{command.ljust(width)}  # {comment}" if comment else command
        for command, comment in commands
    ]


def _licenses(stack: Stack) -> list[str]:
    if not licensing.secrets(stack.gateways):
        return []
    return [
        "",
        "A gateway with a license mounts its Secret (and, in a pair, the other node's too: the two "
        "pods share a template, and each reads its own by its pod index); a pod whose Secrets are "
        "missing waits in `ContainerCreating`, with an event naming them. The gateways may open "
        "connections only where `kubernetes.egress_cidrs` / `egress_namespaces` allow (see "
        "docs/security.md): a leased license checks in with Inductive Automation's activation "
        "service every hour, so open HTTPS to it there, or from an overlay's NetworkPolicy. "
        "Reloader restarts the pods when a license Secret changes.",
    ]


def _kubernetes_pairs(stack: Stack) -> list[str]:
    """How a pair runs on Kubernetes, and how to read its health."""
    out = [
        "",
        "Each pair is one StatefulSet of two pods: ordinal 0 is the master, ordinal 1 the backup "
        "(the Services of the same names select them). Any change the manifests make, an image, "
        "a script, a setting or a renewed certificate, rolls the backup first and replaces the "
        "master only once the new backup is ready; the pair's PodDisruptionBudget lets a node "
        "drain take one of the two at a time, once the other is ready.",
        "",
        "| pod | node | READY 1/1 means |",
        "|---|---|---|",
    ]
    for master, backup in stack.pairs:
        out += [
            f"| `{master.name}-0` | `{master.name}` (master) | RUNNING as the master |",
            f"| `{master.name}-1` | `{backup.name}` (backup) | RUNNING as the backup and paired: in sync, "
            "syncing, or taken over after a failover |",
        ]
    master = stack.pairs[0][0]
    out += [
        "",
        "To see what a node reports: "
        f"`kubectl -n {overlay_namespace(stack.name, ENVIRONMENTS[0])} exec {master.name}-1 -- "
        "curl -s http://localhost:8088/system/gwinfo`.",
    ]
    return out


def _web(stack: Stack) -> list[str]:
    """Web access (``web:``): the prerequisites, DNS, what each host reaches, how to verify."""
    if not stack.web:
        return []
    from emitter.targets.kubernetes import web

    dev = overlay_namespace(stack.name, ENVIRONMENTS[0])
    out = [
        "",
        "## Web access (Kubernetes)",
        "",
        "With `kubernetes.web.route: ingress` (the default) the base has the Ingress "
        f"`{web.INGRESS}`: it needs an ingress controller (of `ingress_class`, or the cluster's "
        "default class) and cert-manager with the issuer `kubernetes.web.issuer` names; cert-manager "
        f"issues the certificate of every host into the Secret `{web.TLS_SECRET}`. With "
        f"`route: httproute` it has one HTTPRoute `{web.ROUTE_PREFIX}<key>` per host: it needs the "
        f"Gateway API CRDs ({web.GATEWAY_API_VERSION}, standard channel) and the Gateway "
        "`parent_gateway` names, owned by the cluster's operators, with an HTTPS listener whose "
        "certificate covers the hosts (cert-manager issues it when the Gateway is annotated with "
        "an issuer) and whose `allowedRoutes` admits this namespace. Point each name at the "
        "controller's (or Gateway's) external address in DNS:",
        "",
        "| host | Service |",
        "|---|---|",
    ]
    for route in stack.web:
        service = web.backend_service(stack, route)
        note = ""
        if active_master(stack, route) is not None:
            note = " (whichever node of the pair is active)"
        elif route.replicated:
            note = " (every ready member of the tier)"
        out.append(f"| https://{route.host}/ | `{service}`{note} |")
    host = stack.web[0].host
    out += [
        "",
        "`kubernetes.web.controller_namespace` is the only namespace besides the stack's own whose "
        "pods may reach the routed gateways' port 8088 (a NetworkPolicy per routed StatefulSet). "
        "Each routed gateway's public address is its host on port 443, so its redirects and the "
        "Designer launcher use that name.",
        "",
        "Verify:",
        "",
        "```sh",
        f"kubectl -n {dev} get ingress,certificate   # route: ingress; the Certificate READY True",
        f"kubectl -n {dev} get httproute -o wide      # route: httproute; Accepted by the Gateway",
        f"curl -v https://{host}/StatusPing   # the certificate's issuer, then "
        '{"state":"RUNNING"}',
        "```",
    ]
    return out + _active(stack, dev)


def _active(stack: Stack, dev: str) -> list[str]:
    """How a pair's host reaches its active node, and how to watch it move."""
    from emitter.targets.kubernetes import active

    masters = active_masters(stack)
    if not masters:
        return []
    master = masters[0]
    return [
        "",
        "### A pair's host reaches its active node",
        "",
        f"A pair's role host goes to the Service `{active.service_name(master)}`, which selects "
        f"the pair's pod labelled `{active.ACTIVE_LABEL}=true` (and ready). Beside each gateway a "
        f"container `{active.CONTAINER}` reads the gateway's `/system/gwinfo` every "
        f"{active.INTERVAL_SECONDS} s and sets that label on its own pod: `true` while the node "
        "reports `RedundantNodeActiveStatus=Active`, `false` otherwise. After a failover the "
        "host follows the backup within a few seconds of it taking over. No gateway redirect "
        "is involved: the Service follows the label. The "
        "marker reaches the API server at `kubernetes.web.api_server_cidrs` (a NetworkPolicy "
        f"`{active.POLICY_PREFIX}{master}`), with a token that may read and label the pair's two "
        "pods and nothing else (docs/security.md).",
        "",
        "Verify, then fail the master and watch the label move:",
        "",
        "```sh",
        f"kubectl -n {dev} get pods -L {active.ACTIVE_LABEL}   # {master}-0 true, {master}-1 false",
        f"kubectl -n {dev} get endpointslices -l kubernetes.io/service-name="
        f"{active.service_name(master)}   # the active pod's address only",
        f"kubectl -n {dev} logs {master}-0 -c {active.CONTAINER}   # each change of the label",
        f"kubectl -n {dev} delete pod {master}-0   # while the master is away:",
        f"kubectl -n {dev} get pods -L {active.ACTIVE_LABEL} -w  # {master}-1 turns true",
        "```",
    ]
