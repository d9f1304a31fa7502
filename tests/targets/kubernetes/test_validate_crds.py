"""``validate --crd FILE|DIR``: custom resources validated against their CustomResourceDefinitions,
converted to strict JSON schemas like kubeconform's openapi2jsonschema.py does.

The CRDs are cert-manager's own, pinned (``support/cert_manager.py``; ``tests/tools/install.sh``
fetches them). With them ``validate --strict`` passes on every SSL golden tree, nothing skipped,
in-process and in kubeconform; negative controls prove a Certificate that cert-manager's API
would refuse fails.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from emitter.targets.kubernetes.validation import crds, kubeconform, schemas

from ...conftest import GOLDEN
from ...support import cert_manager, cloudnative_pg, gateway_api
from ...support.cases import SSL_CASES
from ...support.validate_cli import CERTIFICATE, NEWEST, valid_manifests, validate, write
from ...support.validators import find_kubeconform

WIDGET_CRD = textwrap.dedent(
    """\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.example.com
    spec:
      group: example.com
      names: {kind: Widget, plural: widgets}
      scope: Namespaced
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  required: [size]
                  properties:
                    size: {x-kubernetes-int-or-string: true}
                    note: {type: string, nullable: true}
                    extra:
                      type: object
                      x-kubernetes-preserve-unknown-fields: true
                      properties:
                        known: {type: string}
        - name: v1alpha1
          served: false
          storage: false
          schema:
            openAPIV3Schema: {type: object}
    """
)
WIDGET = textwrap.dedent(
    """\
    apiVersion: example.com/v1
    kind: Widget
    metadata:
      name: w
    spec:
      size: {size}
      note: null
      extra: {{known: a, anything: 1}}
    """
)


@pytest.fixture(scope="module")
def cert_manager_crds() -> Path:
    cert_manager.crd_documents()  # downloads them on first use
    return cert_manager.CRDS


@pytest.fixture(scope="module")
def gateway_api_crds() -> Path:
    gateway_api.crd_documents()  # downloads them on first use
    return gateway_api.CRDS


@pytest.mark.parametrize("case", SSL_CASES)
def test_strict_passes_on_every_ssl_tree_with_cert_managers_crds(
    case: str, cert_manager_crds: Path, gateway_api_crds: Path
) -> None:
    tree = GOLDEN / case / "expected" / "kubernetes"
    without = validate(tree, "--strict")
    assert without.exit_code == 1
    assert "no schema for Certificate (cert-manager.io/v1), " in without.stderr
    assert "Issuer (cert-manager.io/v1)" in without.stderr
    assert "--crd" in without.stderr  # the hint

    # A tree with HTTPRoutes (``web:``) needs the Gateway API's CRDs too, and one with the
    # database's Cluster CloudNativePG's.
    extra: list[str | Path] = []
    kinds = 6
    routes = sorted(tree.glob("gateway.networking.k8s.io_*.yaml"))
    if routes:
        kinds += 5
        extra += ["--crd", gateway_api_crds]
    if any(tree.glob("postgresql.cnpg.io_*.yaml")):
        kinds += len(cloudnative_pg.crd_schemas().kinds())
        extra += ["--crd", cloudnative_pg.CRDS]
    run = validate(tree, "--strict", "--crd", cert_manager_crds, *extra)
    assert run.exit_code == 0, run.stdout + run.stderr
    resources = sorted(tree.glob("cert-manager.io_*.yaml"))
    assert len(resources) >= 4
    for path in [*resources, *routes]:
        kind = yaml.safe_load(path.read_text())["kind"]
        assert run.line(path.name).endswith(f": ok ({kind}/{path.stem.rsplit('_', 1)[1]})")
    assert " 0 failed, 0 skipped; Kubernetes " in run.stdout
    assert f"{kinds} custom resource kinds from --crd" in run.stdout
    if find_kubeconform() is not None:  # kubeconform found the converted schemas too
        assert ", 0 invalid, 0 errors, 0 skipped" in run.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("    name: stack-ca\n", "'nmae' was unexpected"),
        ("  secretName: backend-tls\n", "'secretName' is a required property"),
        ("  duration: 2160\n", "2160 is not of type 'string'"),
        ("  labels: {a: 1}\n", "1 is not of type 'string'"),
    ],
    ids=["misspelt-field", "missing-required", "wrong-type", "strict-metadata"],
)
def test_a_certificate_cert_manager_would_refuse_fails(
    tmp_path: Path, cert_manager_crds: Path, change: str, message: str
) -> None:
    if "nmae" in message:
        broken = CERTIFICATE.replace("    name: stack-ca\n", "    nmae: stack-ca\n")
    elif "required" in message:
        broken = CERTIFICATE.replace(change, "")
    elif "labels" in change:
        broken = CERTIFICATE.replace("  name: backend-tls\n", "  name: backend-tls\n" + change, 1)
    else:
        broken = CERTIFICATE + change
    write(tmp_path, {"certificate.yaml": broken})
    run = validate(tmp_path, "--crd", cert_manager_crds)
    assert run.exit_code == 1, run.stdout
    line = run.line("certificate.yaml")
    assert "FAIL: Certificate/backend-tls:" in line
    assert message in run.stdout
    # kubeconform, given the same converted schemas as ``validate`` gives it, refuses it too.
    binary = find_kubeconform()
    if binary is not None:
        location = crds.load_crds([cert_manager_crds]).write(tmp_path / "schemas")
        second = kubeconform.run_kubeconform(
            broken, NEWEST, kubeconform=binary, extra_args=["-schema-location", location]
        )
        assert second.error is None, second.error
        assert second.summary["invalid"] == 1, second.resources


def test_a_whole_install_bundle_may_be_given(tmp_path: Path, cert_manager_crds: Path) -> None:
    """Documents that are no CRD (a Deployment of the bundle) are ignored."""
    bundle = "\n---\n".join(
        [
            *(path.read_text() for path in sorted(cert_manager_crds.glob("*.yaml"))),
            valid_manifests(tmp_path / "other").joinpath("v1_service_backend.yaml").read_text(),
        ]
    )
    (tmp_path / "cert-manager.yaml").write_text(bundle)
    write(tmp_path / "tree", {"certificate.yaml": CERTIFICATE})
    run = validate(tmp_path / "tree", "--strict", "--crd", tmp_path / "cert-manager.yaml")
    assert run.exit_code == 0, run.stdout + run.stderr


def test_conversion_follows_the_crd(tmp_path: Path) -> None:
    """int-or-string, nullable and preserve-unknown-fields keep their meaning; unserved
    versions have no schema; the root, spec and metadata are strict."""
    write(tmp_path / "crds", {"widget.yaml": WIDGET_CRD})
    loaded = crds.load_crds([tmp_path / "crds"])
    assert sorted(loaded.by_kind) == [("example.com/v1", "Widget")]
    version = schemas.latest_kubernetes_version()

    def problems(text: str) -> list[str] | None:
        return loaded.problems(yaml.safe_load(text), version)

    assert problems(WIDGET.format(size=3)) == []
    assert problems(WIDGET.format(size='"50%"')) == []
    assert problems(WIDGET.format(size="[1]")) != []
    assert (
        problems(WIDGET.format(size=3).replace("spec:", "spek: 1\nspec:")) != []
    )  # the root is strict
    assert problems(WIDGET.format(size=3).replace("  note: null\n", "  note: null\n  other: 1\n"))
    assert problems(WIDGET.format(size=3).replace("  name: w\n", "  name: w\n  nmae: w\n"))
    assert problems(WIDGET.format(size=3).replace("example.com/v1", "example.com/v1alpha1")) is None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no such file or directory"),
        ({"empty.yaml": "# nothing\n"}, "no CustomResourceDefinition"),
        ({"broken.yaml": "kind: [\n"}, "not YAML"),
    ],
    ids=["missing", "no-crd", "not-yaml"],
)
def test_bad_crd_paths_are_usage_errors(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    valid_manifests(tmp_path / "tree")
    write(tmp_path / "crds", files)
    given = tmp_path / "crds" / next(iter(files), "missing.yaml")
    run = validate(tmp_path / "tree", "--crd", given)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert f"--crd {given}: " in run.stderr
    assert message in run.stderr
    assert run.stdout == ""  # nothing validated: the flags are checked first


def test_a_crd_for_a_builtin_kind_does_not_replace_the_bundled_schema(tmp_path: Path) -> None:
    """Kubernetes' own kinds are always checked against the bundled schemas."""
    fake = WIDGET_CRD.replace("group: example.com", "group: apps").replace("Widget", "StatefulSet")
    write(tmp_path / "crds", {"fake.yaml": fake})
    valid_manifests(tmp_path / "tree")
    run = validate(tmp_path / "tree", "--strict", "--crd", tmp_path / "crds")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert f"Kubernetes {NEWEST}" in run.stdout
