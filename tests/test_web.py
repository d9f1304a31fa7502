"""Web access with TLS (``web:``, IS160-IS166, IS211, IS212): every rule tripped through the
real command line with its code, path and hint; what resolve decides once for both targets;
and what each target lowers it into."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.pipeline import prepare
from emitter.spec import StackSpec
from emitter.targets.compose import web as compose_web
from emitter.targets.compose.options import ComposeSpec
from emitter.targets.compose.project import compose_document
from emitter.targets.kubernetes.manifest import emit as emit_kubernetes
from emitter.targets.kubernetes.options import KubernetesSpec

from .conftest import Result
from .test_rules import assert_diagnostic, explicit, run_stack

Cli = Callable[..., Result]
INGRESS = {
    "web": {
        "issuer": {"name": "letsencrypt"},
        "controller_namespace": "ingress-nginx",
        "api_server_cidrs": ["172.18.0.2/32"],
    }
}


def with_web(
    hosts: dict[str, str],
    kubernetes: dict[str, Any] | None = None,
    compose: dict[str, Any] | None = None,
    architecture: str = "scale-out",
) -> dict[str, Any]:
    data = (
        explicit(architecture, "backend", frontends=2)
        if architecture == "scale-out"
        else explicit(architecture, "gateway")
    )
    data["web"] = {"hosts": hosts}
    data["kubernetes"].update(INGRESS if kubernetes is None else kubernetes)
    if compose is not None:
        data["compose"] = compose
    return data


@pytest.mark.parametrize(
    ("data", "code", "path", "words"),
    [
        (
            with_web({"frontend": "a.example.com", "backend": "a.example.com"}),
            "IS160",
            "web.hosts.backend",
            ("also the host of 'frontend'", "a name of its own"),
        ),
        (
            with_web({"backend": "a.example.com", "backend-backup": "a.example.com"}),
            "IS160",
            "web.hosts.backend-backup",
            ("also the host",),
        ),
        (
            with_web({"backend": "10.0.0.5"}),
            "IS161",
            "web.hosts.backend",
            ("not a DNS name", "scada.example.com"),
        ),
        (with_web({"backend": "*.example.com"}), "IS161", "web.hosts.backend", ("wildcard",)),
        (
            with_web({"backend": "SCADA.example.com"}),
            "IS161",
            "web.hosts.backend",
            ("upper-case",),
        ),
        (
            with_web({"historian": "h.example.com"}),
            "IS162",
            "web.hosts.historian",
            ("neither a role", "backend-backup", "frontend"),
        ),
        (
            with_web({"frontend-1": "h.example.com"}),
            "IS162",
            "web.hosts.frontend-1",
            ("neither a role",),
        ),
        (
            with_web({"backend": "s.example.com"}, {"web": {"route": "httproute"}}),
            "IS163",
            "kubernetes.web.parent_gateway",
            ("HTTPRoute needs the Gateway", "parent_gateway: {name:"),
        ),
        (
            with_web({"backend": "s.example.com"}, {"web": {"controller_namespace": "x"}}),
            "IS164",
            "kubernetes.web.issuer",
            ("no issuer", "ClusterIssuer"),
        ),
        (
            with_web(
                {"backend": "s.example.com"},
                {
                    "web": {
                        "route": "httproute",
                        "parent_gateway": {"name": "gw"},
                        "issuer": {"name": "x"},
                    }
                },
            ),
            "IS165",
            "kubernetes.web",
            ("route` is httproute", "remove them"),
        ),
        (
            with_web(
                {"backend": "s.example.com"},
                {"web": {"issuer": {"name": "x"}, "parent_gateway": {"name": "gw"}}},
            ),
            "IS165",
            "kubernetes.web.parent_gateway",
            ("route` is ingress",),
        ),
        (
            with_web({"backend": "s.example.com"}, compose={"web": {"acme_email": "nobody"}}),
            "IS166",
            "compose.web.acme_email",
            ("not an email address",),
        ),
    ],
    ids=[
        "host-on-two-roles",
        "host-on-role-and-backup",
        "ip-address",
        "wildcard",
        "upper-case",
        "unknown-role",
        "tier-member",
        "httproute-without-gateway",
        "ingress-without-issuer",
        "issuer-with-httproute",
        "gateway-with-ingress",
        "bad-acme-email",
    ],
)
def test_each_rule_names_its_path_and_fix(
    cli: Cli, tmp_path: Path, data: dict[str, Any], code: str, path: str, words: tuple[str, ...]
) -> None:
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, code, path, *words)
    assert not (tmp_path / "out").exists()  # nothing written


def test_acme_for_a_private_host_warns(cli: Cli, tmp_path: Path) -> None:
    data = with_web(
        {"backend": "scada.plant.internal", "frontend": "hmi.example.com"},
        compose={"web": {"acme_email": "ops@example.com"}},
    )
    data["targets"] = ["compose"]
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "warning IS211 web.hosts.backend:" in result.stderr
    assert "IS211 web.hosts.frontend" not in result.stderr
    strict = run_stack(cli, tmp_path, data, "--strict")
    assert strict.exit_code == 1


def test_no_controller_namespace_warns(cli: Cli, tmp_path: Path) -> None:
    data = with_web(
        {"backend": "s.example.com"},
        {"web": {"issuer": {"name": "x"}, "api_server_cidrs": ["10.0.0.1/32"]}},
    )
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "warning IS212 kubernetes.web.controller_namespace:" in result.stderr


def test_a_compose_only_stack_needs_no_kubernetes_web_options(cli: Cli, tmp_path: Path) -> None:
    data = with_web({"backend": "s.example.com"}, kubernetes={})
    data["targets"] = ["compose"]
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert "IS164" not in result.stderr and "IS212" not in result.stderr


def resolved(hosts: dict[str, str], **extra: Any) -> Any:
    data = with_web(hosts)
    data.update(extra)
    return prepare(StackSpec.model_validate(data)).stack


def test_a_pair_behind_one_host_fails_over_and_both_nodes_take_its_address() -> None:
    stack = resolved({"backend": "scada.example.com", "frontend": "hmi.example.com"})
    backend, frontend = stack.web[0], stack.web[1]
    assert (backend.gateways, backend.failover, backend.replicated) == (
        ("backend", "backend-backup"),
        True,
        False,
    )
    assert frontend.gateways == ("frontend-0", "frontend-1") and frontend.replicated
    for name in ("backend", "backend-backup"):
        gateway = stack.gateway(name)
        assert gateway is not None and gateway.web_host == "scada.example.com"
        assert gateway.public_address is not None
        assert (gateway.public_address.host, gateway.public_address.https_port) == (
            "scada.example.com",
            443,
        )


def test_a_backup_with_its_own_host_is_no_fallback() -> None:
    stack = resolved({"backend": "s.example.com", "backend-backup": "b.example.com"})
    assert [(r.key, r.gateways, r.failover) for r in stack.web] == [
        ("backend", ("backend",), False),
        ("backend-backup", ("backend-backup",), False),
    ]
    backup = stack.gateway("backend-backup")
    assert backup is not None and backup.public_address is not None
    assert backup.public_address.host == "b.example.com"


def test_an_explicit_public_address_wins() -> None:
    stack = resolved(
        {"backend": "s.example.com"},
        roles={"backend": {"public_address": {"host": "other.example.com"}}},
    )
    gateway = stack.gateway("backend")
    assert gateway is not None and gateway.public_address is not None
    assert gateway.public_address.host == "other.example.com"
    assert gateway.web_host == "s.example.com"


def test_compose_routes_through_traefik_only() -> None:
    stack = resolved({"backend": "scada.example.com"})
    document = compose_document(stack, ComposeSpec())
    services = document["services"]
    proxy = services[compose_web.PROXY_SERVICE]
    assert proxy["image"] == compose_web.TRAEFIK_IMAGE
    assert not any("docker.sock" in str(volume) for volume in proxy["volumes"])
    # The routed pair joins the proxy's network and keeps its own port on loopback only.
    for name in ("backend", "backend-backup"):
        assert compose_web.NETWORK in services[name]["networks"]
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"])
        assert "gateway.useProxyForwardedHeader=true" in services[name]["command"]
    assert compose_web.NETWORK not in services["frontend-0"]["networks"]
    dynamic = compose_web.dynamic_configuration(stack, ComposeSpec())
    assert dynamic["http"]["services"]["backend"] == {
        "failover": {"service": "backend-master", "fallback": "backend-backup"}
    }
    master = dynamic["http"]["services"]["backend-master"]["loadBalancer"]
    assert master["servers"] == [{"url": "http://backend:8088"}]
    assert master["healthCheck"]["path"] == "/StatusPing"


def test_compose_acme_uses_a_resolver_and_no_web_ca() -> None:
    stack = resolved({"backend": "scada.example.com"})
    options = ComposeSpec.model_validate({"web": {"acme_email": "ops@example.com"}})
    document = compose_document(stack, options)
    assert "web-proxy-ca" not in document["volumes"]
    assert "web-proxy-acme" in document["volumes"]
    command = document["services"][compose_web.PROXY_SERVICE]["command"]
    assert "--certificatesresolvers.acme.acme.email=ops@example.com" in command
    dynamic = compose_web.dynamic_configuration(stack, options)
    assert dynamic["http"]["routers"]["backend"]["tls"] == {"certResolver": "acme"}
    assert "tls" not in dynamic


def kubernetes_objects(stack: Any, options: dict[str, Any]) -> dict[str, Any]:
    emission = emit_kubernetes(stack, KubernetesSpec.model_validate({"web": options}))
    return {
        path: yaml.safe_load(text)
        for path, text in emission.files.items()
        if path != "kustomization.yaml"
    }


def test_kubernetes_ingress_reaches_the_active_node_with_a_cluster_issuer() -> None:
    stack = resolved({"backend": "s.example.com", "frontend": "h.example.com"})
    objects = kubernetes_objects(
        stack, {"issuer": {"name": "le", "kind": "Issuer"}, "controller_namespace": "ingress"}
    )
    ingress = objects["networking.k8s.io_v1_ingress_web.yaml"]
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/issuer": "le"}
    assert ingress["spec"]["tls"] == [
        {"hosts": ["s.example.com", "h.example.com"], "secretName": "web-tls"}
    ]
    backends = {
        rule["host"]: rule["http"]["paths"][0]["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
    }
    assert backends == {"s.example.com": "backend-active", "h.example.com": "frontend"}
    policy = objects["networking.k8s.io_v1_networkpolicy_gateway-web-proxy-backend.yaml"]
    assert policy["spec"]["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}
            ],
            "ports": [{"port": 8088, "protocol": "TCP"}],
        }
    ]


def test_kubernetes_httproute_attaches_to_the_given_gateway() -> None:
    stack = resolved({"backend": "s.example.com"})
    objects = kubernetes_objects(
        stack, {"route": "httproute", "parent_gateway": {"name": "gw", "namespace": "infra"}}
    )
    route = objects["gateway.networking.k8s.io_v1_httproute_web-backend.yaml"]
    assert route["spec"]["parentRefs"] == [
        {
            "name": "gw",
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "infra",
        }
    ]
    assert route["spec"]["hostnames"] == ["s.example.com"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "backend-active", "port": 8088}]
    assert not any("ingress" in path for path in objects)
    # No controller namespace: no extra NetworkPolicy (IS212 says so).
    assert not any("gateway-web-proxy" in path for path in objects)


def test_validate_checks_the_traefik_routes(cli: Cli, tmp_path: Path) -> None:
    from .conftest import GOLDEN

    tree = GOLDEN / "basic-redundant-web" / "expected" / "compose"
    good = cli("validate", str(tree), "--strict")
    assert good.exit_code == 0, good.stdout + good.stderr
    assert "traefik-dynamic.yaml: ok (Traefik routes)" in good.stdout
    dynamic = yaml.safe_load((tree / "web" / "traefik-dynamic.yaml").read_text())
    del dynamic["http"]["services"]["gateway-backup"]
    dynamic["http"]["routers"]["gateway"]["service"] = "nowhere"
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "traefik-dynamic.yaml").write_text(yaml.safe_dump(dynamic))
    bad = cli("validate", str(tmp_path))
    assert bad.exit_code == 1
    assert "service 'nowhere' is not defined" in bad.stdout
    assert "http.services.gateway.failover: fallback is not defined" in bad.stdout


@pytest.mark.parametrize(
    ("target", "options"),
    [("kubernetes", {"route": "httproute"}), ("compose", {"acme_email": "ops@example.com"})],
)
def test_web_options_without_web_hosts_are_refused(
    cli: Cli, tmp_path: Path, target: str, options: dict[str, Any]
) -> None:
    data = explicit("basic")
    data[target] = {**data.get(target, {}), "web": options}
    assert_diagnostic(run_stack(cli, tmp_path, data), "IS168", f"{target}.web", "no `web:`")
