"""``transport: ssl`` on Kubernetes: cert-manager's objects and how the pods use them.

cert-manager's Certificates and Issuers are validated for real against cert-manager's own CRD
schemas made strict (``tests/support/cert_manager.py``): in-process with jsonschema and with
kubeconform, every one of them counted as valid, never skipped; negative controls prove both
reject what cert-manager's API would. The init container's install step itself runs for real
in ``test_kubernetes_seed_script.py``.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions
from packaging.version import Version

from emitter.pipeline import prepare
from emitter.resolve import expand
from emitter.spec import GatewaySpec, StackSpec
from emitter.targets.kubernetes import emit
from emitter.targets.kubernetes.validation import kubeconform, schemas

from ...conftest import GOLDEN
from ...support import cert_manager, cloudnative_pg, gateway_api
from ...support.cases import SSL_CASES
from ...support.validators import require_tool, run_kubeconform
from .emitted import (
    CASE_IDS,
    CASES,
    KUSTOMIZATION,
    Emitted,
    build,
    container,
    environment,
    selects,
)

VERSIONS = sorted(
    {version for version in all_versions() if Version(version) >= Version("1.29")}, key=Version
)
KUBECONFORM_VERSIONS = [
    v for v in schemas.bundled_kubernetes_versions() if tuple(map(int, v.split("."))) >= (1, 29)
]
CERTIFICATE_VOLUME = "gateway-network-certificate"
PASSWORD_VOLUME = "gateway-network-keystore-password"


def golden_objects(case: str) -> dict[str, dict[str, Any]]:
    tree = GOLDEN / case / "expected" / "kubernetes"
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in sorted(tree.glob("*.yaml"))
        if path.name != KUSTOMIZATION
    }


def is_cert_manager(item: dict[str, Any]) -> bool:
    return cert_manager.is_cert_manager(item)


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def emitted(request: pytest.FixtureRequest) -> Emitted:
    architecture, redundant = request.param
    return build(architecture, redundant, transport="ssl")


# The golden ssl trees: every object valid, core and cert-manager alike ----------------------


def test_the_ssl_golden_cases_exist() -> None:
    assert {"scale-out-redundant-ssl", "hub-and-spoke-redundant-ssl"} <= set(SSL_CASES)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", SSL_CASES)
def test_ssl_golden_tree_validates_strictly(case: str, version: str) -> None:
    objects = golden_objects(case)
    # A database's Cluster: against CloudNativePG's CRD (test_kubernetes_database.py too).
    database = {
        path: item for path, item in objects.items() if cloudnative_pg.is_cloudnative_pg(item)
    }
    assert cloudnative_pg.validate_objects(database.values(), version) == len(database)
    objects = {path: item for path, item in objects.items() if path not in database}
    core = {
        path: item
        for path, item in objects.items()
        if not is_cert_manager(item) and not gateway_api.is_gateway_api(item)
    }
    for path, item in core.items():
        try:
            kubernetes_validate.validate(item, version, strict=True)
        except kubernetes_validate.ValidationError as exc:  # pragma: no cover - failure detail
            pytest.fail(f"{case}/{path} is invalid for Kubernetes {version}: {exc.message}")
    # Gateway StatefulSets only: an MQTT broker's is not on the Gateway Network.
    stateful_sets = sum(
        1
        for item in core.values()
        if item["kind"] == "StatefulSet"
        and item["metadata"]["labels"].get("app.kubernetes.io/name") == "ignition"
    )
    validated = cert_manager.validate_cert_manager_objects(objects.values(), version)
    routes = gateway_api.validate_gateway_api_objects(objects.values(), version)
    # Two Issuers and the CA, and one Certificate per gateway StatefulSet: all of them validated, and
    # every HTTPRoute (``web:``) against the Gateway API's CRD.
    assert validated == 3 + stateful_sets == len(objects) - len(core) - routes


@pytest.mark.external
@pytest.mark.parametrize("version", KUBECONFORM_VERSIONS)
def test_kubeconform_validates_every_cert_manager_object(version: str) -> None:
    """The evidence that kubeconform really validates them: each Certificate and Issuer of the
    ssl golden trees is reported ``statusValid`` against the converted CRD schema."""
    binary = require_tool("kubeconform")
    paths = sorted(
        path
        for case in SSL_CASES
        for path in (GOLDEN / case / "expected" / "kubernetes").glob("cert-manager.io_*.yaml")
    )
    assert len(paths) >= 10
    run = kubeconform.run_kubeconform(
        paths,
        version,
        kubeconform=binary,
        extra_args=["-schema-location", cert_manager.schema_location()],
    )
    assert run.error is None, run.error
    statuses = {(r["filename"], r["kind"]): r["status"] for r in run.resources}
    assert statuses == {
        (str(path), yaml.safe_load(path.read_text())["kind"]): "statusValid" for path in paths
    }
    assert run.summary == {"valid": len(paths), "invalid": 0, "errors": 0, "skipped": 0}
    # Through the harness every other test uses: nothing skipped, everything counted.
    summary = run_kubeconform(
        paths, version, extra_schema_locations=[cert_manager.schema_location()]
    )
    assert summary["valid"] == len(paths)


def _broken_documents() -> dict[str, dict[str, Any]]:
    emitted = build("scale-out", "backend", transport="ssl")
    leaf = emitted.named("Certificate", "backend-gateway-network")
    issuer = emitted.named("Issuer", "plant-gateway-network")

    def changed(document: dict[str, Any], change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(document)
        change(copied)
        return copied

    return {
        "misspelt keystore field": changed(
            leaf, lambda d: d["spec"]["keystores"]["pkcs12"].update(profle="Modern2023")
        ),
        "unknown profile": changed(
            leaf, lambda d: d["spec"]["keystores"]["pkcs12"].update(profile="Modern2099")
        ),
        "missing issuerRef": changed(leaf, lambda d: d["spec"].pop("issuerRef")),
        "duration as a number": changed(leaf, lambda d: d["spec"].update(duration=2160)),
        "unknown metadata field": changed(leaf, lambda d: d["metadata"].update(label={})),
        "non-string label": changed(leaf, lambda d: d["metadata"]["labels"].update(x=1)),
        "unknown issuer field": changed(
            issuer, lambda d: d["spec"]["ca"].update(secret=d["spec"]["ca"]["secretName"])
        ),
    }


@pytest.mark.external
@pytest.mark.parametrize("broken", sorted(_broken_documents()))
def test_the_cert_manager_schemas_reject_what_cert_manager_would(broken: str) -> None:
    """Negative controls, in-process and with kubeconform: the strict CRD schemas are in use."""
    document = _broken_documents()[broken]
    problems = cert_manager.problems(document, VERSIONS[0])
    assert problems, f"{broken}: accepted in-process"
    binary = require_tool("kubeconform")
    run = kubeconform.run_kubeconform(
        yaml.safe_dump(document),
        KUBECONFORM_VERSIONS[0],
        kubeconform=binary,
        extra_args=["-schema-location", cert_manager.schema_location()],
    )
    assert run.error is None, run.error
    assert run.summary["invalid"] == 1, f"{broken}: kubeconform said {run.resources}"


def test_the_converted_schemas_are_strict() -> None:
    """additionalProperties false wherever properties are listed; no x-kubernetes-* left."""
    directory = cert_manager.schema_directory()
    files = sorted(directory.rglob("*.json"))
    assert {path.relative_to(directory).as_posix() for path in files} >= {
        "cert-manager.io/certificate_v1.json",
        "cert-manager.io/issuer_v1.json",
    }

    def walk(value: Any, where: str) -> list[str]:
        found = []
        if isinstance(value, dict):
            closed = value.get("additionalProperties") is False
            if "properties" in value and not closed:
                found.append(where)
            found += [f"{where}.{key}" for key in value if key.startswith("x-kubernetes-")]
            for key, item in value.items():
                found += walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found += walk(item, f"{where}[{index}]")
        return found

    for path in files:
        schema = yaml.safe_load(path.read_text())
        assert walk(schema, path.name) == []
        assert schema["properties"]["metadata"] == {"$ref": cert_manager.OBJECT_META}


# The objects --------------------------------------------------------------------------------


def test_scale_out_cert_manager_objects() -> None:
    emitted = build("scale-out", "backend", transport="ssl")
    stack_labels = {
        "app.kubernetes.io/name": "ignition",
        "app.kubernetes.io/part-of": "plant",
        "app.kubernetes.io/managed-by": "ignition-stack",
        "app.kubernetes.io/version": "8.3.6",
    }
    issuer_ref = {"kind": "Issuer", "group": "cert-manager.io"}
    assert emitted.named("Issuer", "plant-selfsigned") == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": {"name": "plant-selfsigned", "labels": stack_labels},
        "spec": {"selfSigned": {}},
    }
    assert emitted.named("Certificate", "plant-gateway-network-ca") == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "plant-gateway-network-ca", "labels": stack_labels},
        "spec": {
            "isCA": True,
            "commonName": "plant Gateway Network CA",
            "secretName": "plant-gateway-network-ca",
            "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Never"},
            "duration": "87600h",
            "issuerRef": {"name": "plant-selfsigned", **issuer_ref},
        },
    }
    assert emitted.named("Issuer", "plant-gateway-network") == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": {"name": "plant-gateway-network", "labels": stack_labels},
        "spec": {"ca": {"secretName": "plant-gateway-network-ca"}},
    }
    backend = emitted.named("Certificate", "backend-gateway-network")
    assert backend == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": "backend-gateway-network",
            "labels": emitted.named("StatefulSet", "backend")["metadata"]["labels"],
        },
        "spec": {
            "secretName": "backend-gateway-network",
            "commonName": "backend",
            "dnsNames": ["backend", "backend-backup", "backend-headless", "*.backend-headless"],
            "usages": ["server auth", "client auth", "digital signature", "key encipherment"],
            "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"},
            "duration": "2160h",
            "renewBefore": "360h",
            "keystores": {
                "pkcs12": {
                    "create": True,
                    "profile": "Modern2023",
                    "passwordSecretRef": {
                        "name": "plant-gateway-network-keystore",
                        "key": "password",
                    },
                }
            },
            "issuerRef": {"name": "plant-gateway-network", **issuer_ref},
        },
    }
    assert list(backend) == ["apiVersion", "kind", "metadata", "spec"]
    assert emitted.named("Certificate", "frontend-gateway-network")["spec"]["dnsNames"] == [
        "frontend",
        "frontend-headless",
        "*.frontend-headless",
    ]
    # File names, headers and the kustomization, as for every other object.
    text = emitted.files["cert-manager.io_v1_certificate_backend-gateway-network.yaml"]
    assert "cert-manager >= 1.14" in text and "Modern2023" in text
    assert text.startswith("# Generated by ignition-stack")
    kustomization = emitted.files[KUSTOMIZATION]
    assert "cert-manager >= 1.14" in kustomization
    assert "plant-gateway-network-keystore" in kustomization
    assert yaml.safe_load(kustomization)["resources"] == sorted(emitted.objects)


def test_the_chain_of_trust(emitted: Emitted) -> None:
    """self-signed Issuer -> CA Certificate -> CA Issuer -> one Certificate per StatefulSet."""
    stack = emitted.stack.name
    issuers = {item["metadata"]["name"]: item["spec"] for item in emitted.of_kind("Issuer")}
    assert issuers == {
        f"{stack}-selfsigned": {"selfSigned": {}},
        f"{stack}-gateway-network": {"ca": {"secretName": f"{stack}-gateway-network-ca"}},
    }
    ca = emitted.named("Certificate", f"{stack}-gateway-network-ca")["spec"]
    assert ca["isCA"] is True and ca["secretName"] == f"{stack}-gateway-network-ca"
    for item in emitted.of_kind("Certificate"):
        spec = item["spec"]
        if spec.get("isCA"):
            assert spec["issuerRef"]["name"] == f"{stack}-selfsigned"
        else:
            # The self-signed Issuer signs the CA only.
            assert spec["issuerRef"]["name"] == f"{stack}-gateway-network"
            assert "isCA" not in spec


def test_one_certificate_per_stateful_set(emitted: Emitted) -> None:
    leaves = [item for item in emitted.of_kind("Certificate") if not item["spec"].get("isCA")]
    by_secret = {item["spec"]["secretName"]: item for item in leaves}
    assert len(by_secret) == len(leaves) == len(emitted.of_kind("StatefulSet"))
    for stateful_set in emitted.of_kind("StatefulSet"):
        name = stateful_set["metadata"]["name"]
        volumes = {v["name"]: v for v in stateful_set["spec"]["template"]["spec"]["volumes"]}
        secret = volumes[CERTIFICATE_VOLUME]["secret"]["secretName"]
        certificate = by_secret.pop(secret)
        assert certificate["metadata"]["name"] == secret == f"{name}-gateway-network"
        assert certificate["metadata"]["labels"] == stateful_set["metadata"]["labels"]
        spec = certificate["spec"]
        assert spec["commonName"] == name
        # The Services other gateways connect to (named like each gateway, a pair's master and
        # backup, or the tier's role), and every pod behind the headless Service: a pair's two
        # nodes share one certificate, renewed (and rolled in) together.
        headless = stateful_set["spec"]["serviceName"]
        members = emitted.members(stateful_set)
        services = members if emitted.stack.gateway(name) is not None else [name]
        for service_name in services:
            selector = emitted.named("Service", service_name)["spec"]["selector"]
            assert selects(stateful_set["spec"]["selector"]["matchLabels"], selector)
        assert spec["dnsNames"] == [*services, headless, f"*.{headless}"]
        # Reloader restarts exactly this StatefulSet when cert-manager renews its Secret.
        annotations = stateful_set["metadata"]["annotations"]
        assert annotations == {"secret.reloader.stakater.com/reload": secret}
        # The keystore password is the user's Secret, the one the pod mounts.
        password = spec["keystores"]["pkcs12"]["passwordSecretRef"]
        assert password == {
            "name": f"{emitted.stack.name}-gateway-network-keystore",
            "key": "password",
        }
        assert volumes[PASSWORD_VOLUME]["secret"]["secretName"] == password["name"]
    assert by_secret == {}


def test_every_gateway_network_host_is_in_its_peers_certificate(emitted: Emitted) -> None:
    names = {
        name
        for item in emitted.of_kind("Certificate")
        if not item["spec"].get("isCA")
        for name in item["spec"]["dnsNames"]
    }
    for gateway in emitted.stack.gateways:
        variables = emitted.gateway_environment(gateway.name)
        hosts = [value for key, value in variables.items() if key.endswith("_HOST")]
        assert set(hosts) <= names
    for _master, backup in emitted.stack.pairs:
        assert backup.redundancy is not None and backup.redundancy.master_host in names


def test_init_container_mounts_only_the_ca_and_the_keystore(emitted: Emitted) -> None:
    for stateful_set in emitted.of_kind("StatefulSet"):
        pod = stateful_set["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        certificate = volumes[CERTIFICATE_VOLUME]["secret"]
        assert certificate["items"] == [
            {"key": "ca.crt", "path": "ca.crt"},
            {"key": "keystore.p12", "path": "keystore.p12"},
        ]
        assert volumes[PASSWORD_VOLUME]["secret"]["items"] == [
            {"key": "password", "path": "password"}
        ]
        for volume in (certificate, volumes[PASSWORD_VOLUME]["secret"]):
            assert volume["defaultMode"] == 0o440  # read by the fsGroup only
        seed = container(stateful_set, "seed-data-volume")
        mounts = {m["name"]: m for m in seed["volumeMounts"]}
        for name in (CERTIFICATE_VOLUME, PASSWORD_VOLUME):
            assert mounts[name]["readOnly"] is True
        variables = environment(seed)
        certificate_dir = mounts[CERTIFICATE_VOLUME]["mountPath"]
        password_dir = mounts[PASSWORD_VOLUME]["mountPath"]
        assert variables["GAN_CA_CERT"] == f"{certificate_dir}/ca.crt"
        assert variables["GAN_KEYSTORE"] == f"{certificate_dir}/keystore.p12"
        assert variables["GAN_KEYSTORE_PASSWORD_FILE"] == f"{password_dir}/password"
        # The gateway itself reads them from its data volume, where the init container put them.
        gateway_mounts = {m["name"] for m in container(stateful_set, "gateway")["volumeMounts"]}
        assert not {CERTIFICATE_VOLUME, PASSWORD_VOLUME} & gateway_mounts
    assert not any("tls.key" in text for text in emitted.files.values())


def test_no_secret_is_emitted(emitted: Emitted) -> None:
    assert not emitted.of_kind("Secret")
    for item in emitted.objects.values():
        assert "data" not in item or item["kind"] == "ConfigMap"


def test_ssl_everywhere(emitted: Emitted) -> None:
    """Require SSL and two-way auth on every gateway, every link and redundancy.xml on 8060 with
    SSL, the Gateway Network policies on 8060, and nothing plain-only left."""
    for gateway in emitted.stack.gateways:
        stateful_set, _ = emitted.stateful_set_of(gateway.name)
        variables = emitted.gateway_environment(gateway.name)
        assert variables["GATEWAY_NETWORK_REQUIRESSL"] == "true"
        assert variables["GATEWAY_NETWORK_REQUIRETWOWAYAUTH"] == "true"
        for key, value in variables.items():
            if re.fullmatch(r"GATEWAY_NETWORK_\d+_PORT", key):
                assert value == "8060"
            if re.fullmatch(r"GATEWAY_NETWORK_\d+_ENABLESSL", key):
                assert value == "true"
        template = stateful_set["spec"]["template"]["metadata"]["annotations"]
        assert "ignition-stack.io/gateway-network" not in template
    paired = [gateway for pair in emitted.stack.pairs for gateway in pair]
    for gateway in paired:
        stateful_set, ordinal = emitted.stateful_set_of(gateway.name)
        config_map = emitted.named("ConfigMap", f"{stateful_set['metadata']['name']}-redundancy")
        document = config_map["data"][f"redundancy-{ordinal}.xml"]
        root = ElementTree.fromstring(document.split("\n", 2)[2])
        keys = {entry.attrib["key"]: entry.text or "" for entry in root.iter("entry")}
        assert keys["redundancy.gan.port"] == "8060"
        assert keys["redundancy.gan.enableSsl"] == "true"
    for policy in emitted.of_kind("NetworkPolicy"):
        if policy["metadata"]["name"].startswith("gateway-network-"):
            ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]]
            assert ports == [8060]
    assert not any("DEMO ONLY" in text for text in emitted.files.values())


@pytest.mark.parametrize(("architecture", "redundant"), CASES, ids=CASE_IDS)
def test_plain_has_none_of_it(architecture: str, redundant: str | None) -> None:
    emitted = build(architecture, redundant, transport="plain")
    assert not any(is_cert_manager(item) for item in emitted.objects.values())
    for stateful_set in emitted.of_kind("StatefulSet"):
        assert "annotations" not in stateful_set["metadata"]
        volumes = {v["name"] for v in stateful_set["spec"]["template"]["spec"]["volumes"]}
        assert not {CERTIFICATE_VOLUME, PASSWORD_VOLUME} & volumes
        assert not {"GAN_CA_CERT", "GAN_KEYSTORE"} & set(
            environment(container(stateful_set, "seed-data-volume"))
        )
    assert "DEMO ONLY" in emitted.files[KUSTOMIZATION]


def test_longest_names_fit_cert_manager_and_x509() -> None:
    """A 40-character stack and 52-character gateways (the limits the rules allow): commonName
    within X.509's 64 bytes (cert-manager's webhook refuses more), every DNS label within 63,
    and the objects still valid."""
    master, backup = "m" * 52, "b" * 52
    explicit = expand(
        StackSpec.model_validate(
            {"name": "s" * 40, "architecture": "basic", "redundant": "gateway", "transport": "ssl"}
        )
    )
    assert explicit.gateways is not None
    renames = {"gateway": master, "gateway-backup": backup}
    gateways = []
    for gateway in explicit.gateways:
        data = gateway.model_dump()
        data["name"] = renames[data["name"]]
        data["connections"] = [renames[target] for target in data["connections"]]
        data["redundancy"]["peer"] = renames[data["redundancy"]["peer"]]
        gateways.append(GatewaySpec.model_validate(data))
    resolved = prepare(explicit.model_copy(update={"gateways": gateways}))
    files = emit(resolved.stack, resolved.options("kubernetes")).files
    documents = [yaml.safe_load(text) for path, text in files.items() if path != KUSTOMIZATION]
    found = [item for item in documents if item["kind"] == "Certificate"]
    # One certificate for the pair, named after the master; the backup is one of its names.
    assert {item["spec"]["commonName"] for item in found} == {
        master,
        "s" * 40 + " Gateway Network CA",
    }
    assert any(backup in item["spec"].get("dnsNames", []) for item in found)
    for item in found:
        assert len(item["spec"]["commonName"].encode()) <= 64
        for name in item["spec"].get("dnsNames", []):
            assert all(len(label) <= 63 for label in name.split("."))
    assert cert_manager.validate_cert_manager_objects(documents, VERSIONS[-1]) == 4


def test_golden_cert_manager_files_say_what_they_need() -> None:
    for case in SSL_CASES:
        tree = GOLDEN / case / "expected" / "kubernetes"
        for path in tree.glob("cert-manager.io_*.yaml"):
            assert "cert-manager" in path.read_text().split("apiVersion:")[0]
        assert "DEMO ONLY" not in (tree / KUSTOMIZATION).read_text()
