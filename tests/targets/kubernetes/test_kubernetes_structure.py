"""How the emitted objects fit together: selectors, Services, pairing, policies, budgets.

Each test would fail on a real wiring mistake (a Service that selects nothing, a backup
pointed at a name no Service answers to, a policy that blocks the redundancy link).
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest
import yaml

from emitter import image
from emitter.resolve import HEAP_PERCENT
from emitter.targets.kubernetes import certificates
from emitter.targets.kubernetes.options import KubernetesSpec
from emitter.vocabulary import NodeRole

from .emitted import CASE_IDS, CASES, Emitted, build, container, environment, selects

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
PART_OF = "app.kubernetes.io/part-of"
PAIR = "ignition-stack.io/pair"


@pytest.fixture(
    scope="module",
    params=[(*case, transport) for case in CASES for transport in ("plain", "ssl")],
    ids=[f"{case}-{transport}" for case in CASE_IDS for transport in ("plain", "ssl")],
)
def emitted(request: pytest.FixtureRequest) -> Emitted:
    architecture, redundant, transport = request.param
    return build(architecture, redundant, transport=transport)


def pod_templates(emitted: Emitted) -> list[dict[str, Any]]:
    return [item["spec"]["template"] for item in emitted.of_kind("StatefulSet")]


def properties(document: str) -> dict[str, str]:
    root = ElementTree.fromstring(document.split("\n", 2)[2])  # after the XML and DOCTYPE lines
    return {entry.attrib["key"]: entry.text or "" for entry in root.iter("entry")}


def redundancy_properties(emitted: Emitted, gateway: str) -> dict[str, str]:
    """The redundancy.xml the pod that runs ``gateway`` is given."""
    item, ordinal = emitted.stateful_set_of(gateway)
    config_map = emitted.named("ConfigMap", f"{item['metadata']['name']}-redundancy")
    return properties(config_map["data"][f"redundancy-{ordinal}.xml"])


# StatefulSets ----------------------------------------------------------------------------------


def test_one_stateful_set_per_gateway_pair_and_replicated_tier(emitted: Emitted) -> None:
    expected: dict[str, int] = {}
    backups = {backup.name for _, backup in emitted.stack.pairs}
    for tier in emitted.stack.tiers:
        if tier.replicated:
            expected[tier.role] = len(tier.gateways)
        else:
            expected.update(dict.fromkeys(tier.gateways, 1))
    for master, backup in emitted.stack.pairs:
        expected[master.name] = 2
        del expected[backup.name]
    assert not backups & set(expected)
    found = {
        item["metadata"]["name"]: item["spec"]["replicas"]
        for item in emitted.of_kind("StatefulSet")
    }
    assert found == expected
    # Every IR gateway is exactly one pod.
    for gateway in emitted.stack.gateways:
        emitted.stateful_set_of(gateway.name)


def test_selector_is_name_and_instance_and_matches_the_template(emitted: Emitted) -> None:
    for item in emitted.of_kind("StatefulSet"):
        name = item["metadata"]["name"]
        selector = item["spec"]["selector"]
        assert selector == {"matchLabels": {NAME: "ignition", INSTANCE: name}}
        template_labels = item["spec"]["template"]["metadata"]["labels"]
        assert selects(selector["matchLabels"], template_labels)
        assert item["metadata"]["labels"][INSTANCE] == name
        # The template carries every label of its StatefulSet (plus pod-only ones).
        assert selects(item["metadata"]["labels"], template_labels)


def test_service_name_is_an_emitted_headless_service(emitted: Emitted) -> None:
    for item in emitted.of_kind("StatefulSet"):
        service = emitted.named("Service", item["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["publishNotReadyAddresses"] is True
        assert service["spec"]["selector"] == item["spec"]["selector"]["matchLabels"]


def test_replicated_tier(emitted: Emitted) -> None:
    for tier in emitted.stack.tiers:
        if not tier.replicated:
            continue
        item = emitted.named("StatefulSet", tier.role)
        assert item["spec"]["podManagementPolicy"] == "Parallel"
        # Pods are named <statefulset>-<ordinal>: exactly the IR's gateway names, in order.
        pods = [f"{tier.role}-{ordinal}" for ordinal in range(item["spec"]["replicas"])]
        assert pods == list(tier.gateways)
        gateway_container = container(item, "gateway")
        pod_name = [e for e in gateway_container["env"] if e["name"] == "POD_NAME"]
        assert pod_name == [
            {
                "name": "POD_NAME",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
            }
        ]
        arguments = gateway_container["args"]
        system_name = arguments[arguments.index("-n") + 1]
        for pod in pods:
            gateway = emitted.stack.gateway(pod)
            assert gateway is not None
            # What Kubernetes expands $(POD_NAME) to, per pod.
            assert system_name.replace("$(POD_NAME)", pod) == gateway.system_name


def test_replicated_tiers_spread_over_nodes(emitted: Emitted) -> None:
    replicated = {tier.role for tier in emitted.stack.tiers if tier.replicated}
    for item in emitted.of_kind("StatefulSet"):
        spec = item["spec"]["template"]["spec"]
        if item["metadata"]["name"] not in replicated:
            assert "topologySpreadConstraints" not in spec
            continue
        assert spec["topologySpreadConstraints"] == [
            {
                "labelSelector": item["spec"]["selector"],
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
            }
        ]
        # The constraint counts exactly the tier's own pods.
        counted = [
            name
            for name, labels in emitted.pods().items()
            if selects(item["spec"]["selector"]["matchLabels"], labels)
        ]
        assert counted == emitted.members(item)


def test_ephemeral_storage_options() -> None:
    emitted = build(
        "basic",
        kubernetes=KubernetesSpec(ephemeral_storage_request="2Gi", ephemeral_storage_limit="8Gi"),
    )
    for item in emitted.of_kind("StatefulSet"):
        spec = item["spec"]["template"]["spec"]
        for each in spec["containers"] + spec["initContainers"]:
            assert each["resources"]["requests"]["ephemeral-storage"] == "2Gi"
            assert each["resources"]["limits"]["ephemeral-storage"] == "8Gi"


def test_single_gateways_keep_their_system_name(emitted: Emitted) -> None:
    for tier in emitted.stack.tiers:
        if tier.replicated:
            continue
        for name in tier.gateways:
            gateway = emitted.stack.gateway(name)
            assert gateway is not None
            item, _ = emitted.stateful_set_of(name)
            arguments = container(item, "gateway")["args"]
            assert arguments[:2] == ["-n", gateway.system_name]
            assert "$(" not in " ".join(arguments)
            assert "POD_NAME" not in environment(container(item, "gateway"))


def test_gateway_container(emitted: Emitted) -> None:
    for item in emitted.of_kind("StatefulSet"):
        spec = item["spec"]["template"]["spec"]
        first = emitted.gateway_of(item)
        main = container(item, "gateway")
        assert main["image"] == emitted.stack.image
        # The heap follows the memory limit; the percentage is the IR's.
        assert main["args"][2:] == [
            "--",
            "wrapper.java.initmemory=0",
            "wrapper.java.maxmemory=0",
            f"-XX:MaxRAMPercentage={HEAP_PERCENT}",
        ]
        assert first.heap_mb == first.memory_mb * HEAP_PERCENT // 100
        names = [variable["name"] for variable in main["env"] if variable["name"] != "POD_INDEX"]
        assert names == sorted(names)
        # Each pod has exactly the environment the IR gives its gateway: the pod template's,
        # plus (in a pair) the node's own settings file, which the start script loads.
        for gateway in emitted.members(item):
            found = emitted.gateway_environment(gateway)
            ir_gateway = emitted.stack.gateway(gateway)
            assert ir_gateway is not None
            expected = image.environment(emitted.stack, ir_gateway)
            expected.update(
                image.node_environment(
                    None
                    if ir_gateway.redundancy is None
                    else found.get("NODE_REDUNDANCY_XML", "").rsplit("/", 1)[1]
                )
            )
            for name in ("POD_NAME", "POD_INDEX"):
                found.pop(name, None)
            assert found == expected
        assert main["command"] == image.start_command()
        assert {p["name"]: p["containerPort"] for p in main["ports"]} == {
            "http": image.HTTP_PORT,
            "https": image.HTTPS_PORT,
            "gan": image.GAN_SSL_PORT,
        }
        memory = f"{first.memory_mb}Mi"
        assert main["resources"] == {
            "requests": {"cpu": "500m", "memory": memory, "ephemeral-storage": "1Gi"},
            "limits": {"cpu": "2", "memory": memory, "ephemeral-storage": "4Gi"},
        }
        # The init container is held to the same budget.
        assert spec["initContainers"][0]["resources"] == main["resources"]
        mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
        assert mounts[image.DATA_DIR]["name"] == "data"
        assert mounts[image.SCRIPTS_DIR]["readOnly"] is True
        password = mounts[image.ADMIN_PASSWORD_FILE]
        assert password["subPath"] == "password"
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert (
            volumes[password["name"]]["secret"]["secretName"] == emitted.stack.admin_password_secret
        )
        assert volumes[password["name"]]["secret"]["items"] == [
            {"key": "password", "path": "password"}
        ]
        assert environment(main)["GATEWAY_ADMIN_PASSWORD_FILE"] == image.ADMIN_PASSWORD_FILE
        assert spec["terminationGracePeriodSeconds"] == 60


def test_probes(emitted: Emitted) -> None:
    for item in emitted.of_kind("StatefulSet"):
        main = container(item, "gateway")
        # Readiness only: nothing restarts a gateway that is starting, syncing or restoring.
        assert "livenessProbe" not in main
        assert "startupProbe" not in main
        readiness = main["readinessProbe"]
        assert readiness["exec"]["command"] == image.health_command()
        assert (readiness["periodSeconds"], readiness["timeoutSeconds"]) == (10, 5)
        # The health script is where the probes run it: in the mounted configuration volume.
        script = readiness["exec"]["command"][1]
        assert script == f"{image.SCRIPTS_DIR}/{image.HEALTH_SCRIPT}"
        assert image.HEALTH_SCRIPT in projected_paths(emitted, item)


def test_restricted_security_context(emitted: Emitted) -> None:
    for template in pod_templates(emitted):
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["enableServiceLinks"] is False
        assert spec["securityContext"] == {
            "fsGroup": image.USER_ID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "runAsGroup": image.USER_ID,
            "runAsNonRoot": True,
            "runAsUser": image.USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        for each in spec["containers"] + spec["initContainers"]:
            assert each["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "readOnlyRootFilesystem": False,
            }
            assert "runAsUser" not in each["securityContext"], "the pod's uid 2003, never root"


def test_volume_claim_template(emitted: Emitted) -> None:
    for item in emitted.of_kind("StatefulSet"):
        assert item["spec"]["volumeClaimTemplates"] == [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "3Gi"}},
                },
            }
        ]
        assert item["spec"]["persistentVolumeClaimRetentionPolicy"] == {
            "whenDeleted": "Retain",
            "whenScaled": "Retain",
        }


# Seeding and configuration ---------------------------------------------------------------------


def projected_paths(emitted: Emitted, stateful_set: dict[str, Any]) -> dict[str, str]:
    """path inside the configuration volume -> its text, resolved through emitted ConfigMaps."""
    volumes = {v["name"]: v for v in stateful_set["spec"]["template"]["spec"]["volumes"]}
    paths = {}
    for source in volumes["configuration"]["projected"]["sources"]:
        config_map = emitted.named("ConfigMap", source["configMap"]["name"])
        for item in source["configMap"]["items"]:
            paths[item["path"]] = config_map["data"][item["key"]]
    return paths


def test_seed_init_container(emitted: Emitted) -> None:
    for item in emitted.of_kind("StatefulSet"):
        seed = container(item, "seed-data-volume")
        assert item["spec"]["template"]["spec"]["initContainers"] == [seed]
        assert seed["image"] == emitted.stack.image
        assert seed["command"] == ["/bin/bash", f"{image.SCRIPTS_DIR}/{image.SEED_SCRIPT}"]
        expected_mounts = {"data": image.SEED_MOUNT, "configuration": image.SCRIPTS_DIR}
        files = None
        if emitted.stack.transport.value == "ssl":
            # The mounted certificate Secret and password Secret (test_kubernetes_certificates
            # checks what they hold).
            files = image.CertificateFiles(
                ca_certificate="/run/secrets/gateway-network-certificate/ca.crt",
                keystore="/run/secrets/gateway-network-certificate/keystore.p12",
                keystore_password_file="/run/secrets/gateway-network-keystore-password/password",
            )
            expected_mounts["gateway-network-certificate"] = (
                "/run/secrets/gateway-network-certificate"
            )
            expected_mounts["gateway-network-keystore-password"] = (
                "/run/secrets/gateway-network-keystore-password"
            )
        assert seed["resources"] == container(item, "gateway")["resources"]
        mounts = {m["name"]: m["mountPath"] for m in seed["volumeMounts"]}
        assert mounts == expected_mounts
        paths = projected_paths(emitted, item)
        # Every script the seeding step runs sits beside the seed script.
        for name in image.seed_scripts(emitted.stack):
            assert paths[name] == image.script(name)
        for name in emitted.members(item):
            gateway = emitted.stack.gateway(name)
            assert gateway is not None
            found = emitted.pod_environment(name, "seed-data-volume")
            found.pop("POD_INDEX", None)
            redundancy_xml = found.get("NODE_REDUNDANCY_XML")
            if gateway.redundancy is None:
                assert redundancy_xml is None
                assert found == image.seed_environment(emitted.stack, None, files)
                continue
            # The seed script finds the node's own file exactly where its environment says.
            assert redundancy_xml is not None
            relative = redundancy_xml.removeprefix(image.SCRIPTS_DIR + "/")
            assert paths[relative] == image.redundancy_xml(gateway)
            assert found == image.seed_environment(emitted.stack, relative, files)


def test_config_checksum_covers_exactly_what_the_pod_mounts(emitted: Emitted) -> None:
    checksums = {}
    for item in emitted.of_kind("StatefulSet"):
        volumes = {v["name"]: v for v in item["spec"]["template"]["spec"]["volumes"]}
        mounted = {
            source["configMap"]["name"]: emitted.named("ConfigMap", source["configMap"]["name"])[
                "data"
            ]
            for source in volumes["configuration"]["projected"]["sources"]
        }
        digest = hashlib.sha256(
            json.dumps(mounted, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        annotations = item["spec"]["template"]["metadata"]["annotations"]
        assert annotations["ignition-stack.io/config-checksum"] == f"sha256:{digest}"
        checksums[item["metadata"]["name"]] = digest
    paired = {master.name for master, _ in emitted.stack.pairs}
    # Pods outside a pair mount the scripts only; each pair also its nodes' own files.
    unpaired = {digest for name, digest in checksums.items() if name not in paired}
    pair_digests = [checksums[name] for name in paired]
    assert len(unpaired) <= 1
    assert len(set(pair_digests)) == len(pair_digests)
    assert not unpaired & set(pair_digests)


def test_plain_link_is_annotated(emitted: Emitted) -> None:
    for template in pod_templates(emitted):
        note = template["metadata"]["annotations"].get("ignition-stack.io/gateway-network")
        if emitted.stack.transport.value == "plain":
            assert note == "plain link without SSL, demo only (see docs/security.md)"
        else:
            assert note is None


def test_config_maps(emitted: Emitted) -> None:
    scripts = emitted.named("ConfigMap", f"{emitted.stack.name}-scripts")
    names = {image.HEALTH_SCRIPT, *image.seed_scripts(emitted.stack), *image.start_scripts()}
    assert scripts["data"] == {name: image.script(name) for name in sorted(names)}
    assert (image.INSTALL_CERTIFICATES_SCRIPT in names) == certificates.enabled(emitted.stack)
    paired = {master.name for master, _ in emitted.stack.pairs}
    assert emitted.names("ConfigMap") == {f"{emitted.stack.name}-scripts"} | {
        f"{name}-redundancy" for name in paired
    }
    for config_map in emitted.of_kind("ConfigMap"):
        labels = config_map["metadata"]["labels"]
        assert PAIR not in labels and not any(key.startswith("network.") for key in labels)


# Pairing ---------------------------------------------------------------------------------------


def test_backup_points_at_the_masters_service(emitted: Emitted) -> None:
    settings = emitted.stack.gateway_network
    for master, backup in emitted.stack.pairs:
        backup_file = redundancy_properties(emitted, backup.name)
        master_file = redundancy_properties(emitted, master.name)
        assert backup_file["redundancy.noderole"] == "Backup"
        assert master_file["redundancy.noderole"] == "Master"
        host = backup_file["redundancy.gan.host"]
        assert host == master.name
        service = emitted.named("Service", host)
        assert service["spec"]["publishNotReadyAddresses"] is True
        # The Service answers with the master's pod, and only with it.
        pods = [
            name
            for name, labels in emitted.pods().items()
            if selects(service["spec"]["selector"], labels)
        ]
        assert pods == [master.name]
        # ... and the backup's Service with the backup's pod only.
        backup_service = emitted.named("Service", backup.name)["spec"]["selector"]
        assert [n for n, labels in emitted.pods().items() if selects(backup_service, labels)] == [
            backup.name
        ]
        port = int(backup_file["redundancy.gan.port"])
        assert port == settings.port
        assert port in {p["port"] for p in service["spec"]["ports"]}
        assert backup_file["redundancy.gan.enableSsl"] == (
            "true" if settings.require_ssl else "false"
        )
        assert allowed(emitted, backup.name, master.name, port), (
            "NetworkPolicies block the pair link"
        )
        # Both nodes of a pair run under the master's system name: one StatefulSet, the master
        # at ordinal 0, the backup at ordinal 1 (a rolling update replaces the backup first).
        item = emitted.named("StatefulSet", master.name)
        assert emitted.members(item) == [master.name, backup.name]
        assert item["spec"]["replicas"] == 2
        assert "podManagementPolicy" not in item["spec"], "OrderedReady: the master first"
        assert item["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
        assert container(item, "gateway")["args"][1] == master.system_name


def test_pair_members_repel_each_other(emitted: Emitted) -> None:
    for master, backup in emitted.stack.pairs:
        for one, other in ((master, backup), (backup, master)):
            template = emitted.stateful_set_of(one.name)[0]["spec"]["template"]
            labels = template["metadata"]["labels"]
            assert labels[PAIR] == master.role
            terms = template["spec"]["affinity"]["podAntiAffinity"][
                "preferredDuringSchedulingIgnoredDuringExecution"
            ]
            assert [term["weight"] for term in terms] == [100]
            term = terms[0]["podAffinityTerm"]
            assert term["topologyKey"] == "kubernetes.io/hostname"
            assert term["labelSelector"]["matchLabels"] == {
                PAIR: master.role,
                PART_OF: emitted.stack.name,
            }
            assert selects(term["labelSelector"]["matchLabels"], emitted.pod_labels(other.name))
    paired = {master.name for master, _ in emitted.stack.pairs}
    for item in emitted.of_kind("StatefulSet"):
        if item["metadata"]["name"] not in paired:
            assert "affinity" not in item["spec"]["template"]["spec"]
            assert PAIR not in item["spec"]["template"]["metadata"]["labels"]


def test_required_anti_affinity() -> None:
    emitted = build("basic", "gateway", kubernetes=KubernetesSpec(pair_anti_affinity="required"))
    for name in ("gateway",):
        anti = emitted.named("StatefulSet", name)["spec"]["template"]["spec"]["affinity"][
            "podAntiAffinity"
        ]
        assert list(anti) == ["requiredDuringSchedulingIgnoredDuringExecution"]
        assert (
            anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
            == "kubernetes.io/hostname"
        )


def test_pair_disruption_budget(emitted: Emitted) -> None:
    budgets = {item["metadata"]["name"]: item for item in emitted.of_kind("PodDisruptionBudget")}
    expected = {f"{master.role}-pair" for master, _ in emitted.stack.pairs}
    expected |= {t.role for t in emitted.stack.tiers if t.replicated and len(t.gateways) >= 2}
    assert set(budgets) == expected
    for master, backup in emitted.stack.pairs:
        budget = budgets[f"{master.role}-pair"]["spec"]
        assert budget["maxUnavailable"] == 1
        assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        covered = [
            name
            for name, labels in emitted.pods().items()
            if selects(budget["selector"]["matchLabels"], labels)
        ]
        assert sorted(covered) == sorted([master.name, backup.name])
    for tier in emitted.stack.tiers:
        if tier.replicated and len(tier.gateways) >= 2:
            budget = budgets[tier.role]["spec"]
            assert budget["maxUnavailable"] == 1
            assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
            assert budget["selector"] == emitted.named("StatefulSet", tier.role)["spec"]["selector"]


# Services and NetworkPolicies ------------------------------------------------------------------


def test_every_service_selects_a_pod(emitted: Emitted) -> None:
    pods = emitted.pods().values()
    for service in emitted.of_kind("Service"):
        selector = service["spec"]["selector"]
        assert selector, service["metadata"]["name"]
        assert any(selects(selector, labels) for labels in pods), service["metadata"]["name"]
        assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", service["metadata"]["name"])
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in {"http", "https", "gan"}


def test_services(emitted: Emitted) -> None:
    expected = set()
    for tier in emitted.stack.tiers:
        if tier.replicated:
            expected |= {tier.role, f"{tier.role}-headless"}
            service = emitted.named("Service", tier.role)["spec"]
            assert service["type"] == "ClusterIP"
            assert "publishNotReadyAddresses" not in service, "users reach ready gateways only"
            assert {p["name"] for p in service["ports"]} == {"http", "https"}
        else:
            for name in tier.gateways:
                item, ordinal = emitted.stateful_set_of(name)
                workload = item["metadata"]["name"]
                expected |= {name, f"{workload}-headless"}
                service = emitted.named("Service", name)["spec"]
                assert service["type"] == "ClusterIP"
                assert service["publishNotReadyAddresses"] is True
                selector = {NAME: "ignition", INSTANCE: workload}
                if item["spec"]["replicas"] == 2:  # a pair: one pod of the two, by name
                    selector["statefulset.kubernetes.io/pod-name"] = f"{workload}-{ordinal}"
                assert service["selector"] == selector
    assert emitted.names("Service") == expected


def test_gateway_network_hosts_are_services_the_policies_let_through(emitted: Emitted) -> None:
    links = 0
    for gateway in emitted.stack.gateways:
        variables = emitted.gateway_environment(gateway.name)
        for key, host in variables.items():
            match = re.fullmatch(r"GATEWAY_NETWORK_(\d+)_HOST", key)
            if not match:
                continue
            links += 1
            port = int(variables[f"GATEWAY_NETWORK_{match.group(1)}_PORT"])
            service = emitted.named("Service", host)
            assert port in {p["port"] for p in service["spec"]["ports"]}
            assert allowed(emitted, gateway.name, host, port), (
                f"{gateway.name} -> {host}:{port} is blocked"
            )
    assert links == sum(len(g.connections) for g in emitted.stack.gateways)


def allowed(emitted: Emitted, source: str, target: str, port: int) -> bool:
    """Whether the NetworkPolicies let gateway ``source`` open a TCP connection to gateway
    ``target`` on ``port``: egress from the source pod and ingress into the target pod."""
    return ingress_allowed(emitted, source, target, port) and egress_allowed(
        emitted, emitted.pod_labels(source), emitted.pod_labels(target), port
    )


def policies_selecting(emitted: Emitted, labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    """The policies of type ``kind`` (Ingress, Egress) that select a pod with ``labels``."""
    return [
        policy
        for policy in emitted.of_kind("NetworkPolicy")
        if kind in policy["spec"]["policyTypes"]
        and selects(policy["spec"]["podSelector"].get("matchLabels", {}), labels)
    ]


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    # A rule without ports admits every port.
    return "ports" not in rule or any(
        p["port"] == port and p.get("protocol", "TCP") == protocol for p in rule["ports"]
    )


def ingress_allowed(emitted: Emitted, source: str, target: str, port: int) -> bool:
    """Whether some Ingress policy selecting the target pod admits ``source`` on ``port``."""
    source_labels = emitted.pod_labels(source)
    policies = policies_selecting(emitted, emitted.pod_labels(target), "Ingress")
    assert policies, f"{target} is selected by no Ingress NetworkPolicy"
    for policy in policies:
        for rule in policy["spec"]["ingress"]:
            if not _port_matches(rule, port, "TCP"):
                continue
            for peer in rule["from"]:
                if "namespaceSelector" in peer:
                    continue
                if selects(peer["podSelector"].get("matchLabels", {}), source_labels):
                    return True
    return False


def egress_allowed(
    emitted: Emitted,
    source_labels: dict[str, str],
    target_labels: dict[str, str],
    port: int,
    protocol: str = "TCP",
    *,
    other_namespace: bool = False,
) -> bool:
    """Whether some Egress policy selecting the source pod lets it reach a pod with
    ``target_labels`` (in the stack's namespace, or in another one whose labels no policy
    names) on ``port``. Every gateway pod must be egress-isolated."""
    policies = policies_selecting(emitted, source_labels, "Egress")
    assert policies, "a gateway pod is selected by no Egress NetworkPolicy: it may reach anything"
    for policy in policies:
        for rule in policy["spec"]["egress"]:
            if not _port_matches(rule, port, protocol):
                continue
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    continue
                namespace = peer.get("namespaceSelector")
                if namespace is None and other_namespace:
                    continue  # a bare pod selector stays in the stack's namespace
                if namespace is not None and namespace.get("matchLabels"):
                    continue  # a named namespace, never an arbitrary one
                if selects(peer.get("podSelector", {}).get("matchLabels", {}), target_labels):
                    return True
    return False


def links_of(emitted: Emitted, gateway: str) -> set[tuple[str, int]]:
    """(target gateway, port) of every connection the IR gives ``gateway``, its master
    included when it is a backup."""
    found = emitted.stack.gateway(gateway)
    assert found is not None
    links = {(link.target, link.port) for link in found.connections}
    if found.redundancy is not None and found.redundancy.master_host:
        links.add((found.redundancy.master_host, found.redundancy.port))
    return links


def test_egress_reaches_linked_gateways_and_dns_only(emitted: Emitted) -> None:
    """A gateway may reach what any gateway of its own StatefulSet dials (they share a pod
    template), cluster DNS, and nothing else: no other gateway, on no other port."""
    stack = emitted.stack
    ports = {stack.gateway_network.port, image.HTTP_PORT, image.HTTPS_PORT, image.GAN_SSL_PORT}
    dns = {"k8s-app": "kube-dns"}
    for source in stack.gateways:
        item, _ = emitted.stateful_set_of(source.name)
        dialed = set().union(*(links_of(emitted, name) for name in emitted.members(item)))
        source_labels = emitted.pod_labels(source.name)
        for target in stack.gateways:
            for port in ports:
                expected = (target.name, port) in dialed
                assert (
                    egress_allowed(emitted, source_labels, emitted.pod_labels(target.name), port)
                    is expected
                ), f"{source.name} -> {target.name}:{port} should be {expected}"
        for protocol in ("UDP", "TCP"):
            assert egress_allowed(emitted, source_labels, dns, 53, protocol, other_namespace=True)
        # Not the API server, not an arbitrary pod elsewhere, not DNS on another port.
        assert not egress_allowed(emitted, source_labels, {"app": "db"}, 5432, other_namespace=True)
        assert not egress_allowed(emitted, source_labels, dns, 8088, other_namespace=True)
    for policy in emitted.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            assert all("ipBlock" not in peer for peer in rule["to"]), "no CIDR unless configured"


def test_egress_to_configured_destinations() -> None:
    emitted = build(
        "hub-and-spoke",
        "hub",
        kubernetes=KubernetesSpec(
            egress_cidrs=["10.20.0.0/16", "fd00::/64"], egress_namespaces=["databases"]
        ),
    )
    policy = emitted.named("NetworkPolicy", "gateway-egress")["spec"]
    for gateway in emitted.stack.gateways:
        assert selects(policy["podSelector"]["matchLabels"], emitted.pod_labels(gateway.name))
    assert policy["egress"][1] == {
        "to": [
            {"ipBlock": {"cidr": "10.20.0.0/16"}},
            {"ipBlock": {"cidr": "fd00::/64"}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "databases"}}},
        ]
    }, "every port of the named destinations"


def test_egress_cidrs_must_be_networks() -> None:
    assert KubernetesSpec(egress_cidrs=["10.20.0.5/32"]).egress_cidrs == ["10.20.0.5/32"]
    for bad in ("10.20.0.1/16", "10.20.0.5", "db.example.com"):
        with pytest.raises(ValueError, match=r"egress_cidrs\.0\n.*(CIDR network|prefix length)"):
            KubernetesSpec(egress_cidrs=[bad])


def test_network_policies(emitted: Emitted) -> None:
    stack = emitted.stack
    linking = {
        item["metadata"]["name"]
        for item in emitted.of_kind("StatefulSet")
        if any(links_of(emitted, name) for name in emitted.members(item))
    }
    assert emitted.names("NetworkPolicy") == {f"gateway-network-{n}" for n in stack.networks} | {
        "gateway-web",
        "gateway-egress",
    } | {f"gateway-egress-{name}" for name in linking}
    for network in stack.networks:
        policy = emitted.named("NetworkPolicy", f"gateway-network-{network}")["spec"]
        members = {"matchLabels": {f"network.ignition-stack.io/{network}": "member"}}
        assert policy["podSelector"] == members
        assert policy["policyTypes"] == ["Ingress"]
        assert policy["ingress"] == [
            {
                "from": [{"podSelector": members}],
                "ports": [{"port": stack.gateway_network.port, "protocol": "TCP"}],
            }
        ]
        for gateway in stack.gateways:
            joined = network in gateway.networks
            assert (
                emitted.pod_labels(gateway.name).get(f"network.ignition-stack.io/{network}")
                == "member"
            ) is joined
    web_policy = emitted.named("NetworkPolicy", "gateway-web")
    web = web_policy["spec"]
    # On the plain link the web policy admits the Gateway Network too, and says so.
    note = web_policy["metadata"].get("annotations", {}).get("ignition-stack.io/gateway-network")
    if stack.gateway_network.port == image.HTTP_PORT:
        assert note is not None and "transport: ssl" in note
    else:
        assert note is None
    for gateway in stack.gateways:
        assert selects(web["podSelector"]["matchLabels"], emitted.pod_labels(gateway.name))
    assert web["ingress"] == [
        {
            "from": [{"podSelector": {}}],
            "ports": [{"port": 8088, "protocol": "TCP"}, {"port": 8043, "protocol": "TCP"}],
        }
    ]


def test_web_access_namespaces_and_storage_class() -> None:
    emitted = build(
        "scale-out",
        "backend",
        kubernetes=KubernetesSpec(web_access_namespaces=["ingress-nginx"], storage_class="fast"),
    )
    peers = emitted.named("NetworkPolicy", "gateway-web")["spec"]["ingress"][0]["from"]
    assert peers == [
        {"podSelector": {}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
    ]
    for item in emitted.of_kind("StatefulSet"):
        assert item["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"


# Labels and secrets ----------------------------------------------------------------------------


def test_labels(emitted: Emitted) -> None:
    for item in emitted.objects.values():
        labels = item["metadata"]["labels"]
        assert labels[NAME] == "ignition"
        assert labels[PART_OF] == emitted.stack.name
        assert labels["app.kubernetes.io/managed-by"] == "ignition-stack"
        assert labels["app.kubernetes.io/version"] == "8.3.6"
    for item in emitted.of_kind("StatefulSet"):
        labels = item["spec"]["template"]["metadata"]["labels"]
        gateway = emitted.gateway_of(item)
        assert labels["app.kubernetes.io/component"] == gateway.role
        # Master and backup share the template: their pods differ only by ordinal.
        assert "ignition-stack.io/redundancy" not in labels


def _password_literals(value: Any, path: str = "") -> list[str]:
    """Paths of literal values that could be a password: under a key naming one, or the value
    of an environment variable naming one that is not a mounted file's path."""
    found = []
    if isinstance(value, dict):
        name = value.get("name")
        sensitive = isinstance(name, str) and re.search("(?i)password|secret|token", name)
        # An environment variable may only name the mounted file that holds the secret.
        mounted_file = str(name).endswith("_FILE") and str(value.get("value")).startswith(
            "/run/secrets/"
        )
        if sensitive and "value" in value and not mounted_file:
            found.append(f"{path}.{name}")
        for key, item in value.items():
            if re.search("(?i)password", key) and not isinstance(item, dict | list):
                found.append(f"{path}.{key}")
            found.extend(_password_literals(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_password_literals(item, f"{path}[{index}]"))
    return found


def test_no_secret_values(emitted: Emitted) -> None:
    assert not emitted.of_kind("Secret")
    for path, item in emitted.objects.items():
        assert "stringData" not in item
        assert _password_literals(item) == [], path
    for item in emitted.of_kind("StatefulSet"):
        for each in item["spec"]["template"]["spec"]["containers"]:
            assert "envFrom" not in each
    # The negative control: the check does see a literal password.
    planted = {"env": [{"name": "GATEWAY_ADMIN_PASSWORD", "value": "hunter2"}]}
    assert _password_literals(planted) == [".env[0].GATEWAY_ADMIN_PASSWORD"]


def test_version_label_stays_a_string() -> None:
    """A tag such as 8.3 would load as a float if written bare."""
    emitted = build("basic", image="inductiveautomation/ignition:8.3")
    text = emitted.files["apps_v1_statefulset_gateway.yaml"]
    assert yaml.safe_load(text)["metadata"]["labels"]["app.kubernetes.io/version"] == "8.3"


@pytest.mark.parametrize(("architecture", "redundant"), CASES, ids=CASE_IDS)
def test_backup_role_is_backup_in_the_ir(architecture: str, redundant: str | None) -> None:
    emitted = build(architecture, redundant)
    roles = {g.name: g.redundancy.role for g in emitted.stack.gateways if g.redundancy}
    if redundant is None:
        assert roles == {}
    else:
        assert roles == {redundant: NodeRole.MASTER, f"{redundant}-backup": NodeRole.BACKUP}
        assert (
            redundancy_properties(emitted, f"{redundant}-backup")["redundancy.gan.host"]
            == redundant
        )
