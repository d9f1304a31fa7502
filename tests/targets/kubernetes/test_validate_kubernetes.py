"""``ignition-stack validate`` on Kubernetes files: the bundled strict schemas, Kubernetes
versions, kustomizations, and kubeconform as the second opinion. Tests that run kubeconform or
kustomize are marked ``external``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emitter.targets.kubernetes.validation import kubeconform, kustomize, schemas

from ...conftest import Result
from ...support import validators
from ...support.validate_cli import (
    CERTIFICATE,
    KUSTOMIZATION,
    NEWEST,
    REMOVED_API,
    SERVICE,
    SINCE_1_29,
    STATEFULSET,
    UNKNOWN_FIELD,
    WRONG_TYPE,
    valid_manifests,
    validate,
    write,
)
from ...support.validators import (
    require_tool,
    validate_kubernetes_objects,
)

CLI = Callable[..., Result]


def test_valid_objects_pass(tmp_path: Path) -> None:
    run = validate(valid_manifests(tmp_path / "k8s"))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.line("apps_v1_statefulset_backend.yaml").endswith(": ok (StatefulSet/backend)")
    assert run.line("v1_service_backend.yaml").endswith(": ok (Service/backend)")
    assert f"2 files: 2 ok, 0 failed, 0 skipped; Kubernetes {NEWEST}" in run.stdout


def test_unknown_field_fails_with_its_path(tmp_path: Path) -> None:
    write(tmp_path, {"bad.yaml": UNKNOWN_FIELD})
    run = validate(tmp_path / "bad.yaml")
    assert run.exit_code == 1
    line = run.line("bad.yaml")
    assert "FAIL" in line
    assert "StatefulSet/backend: spec.template.spec.containers[0]:" in line
    assert "'bogusField' was unexpected" in line
    assert "validation failed: 1 of 1 files failed" in run.stderr


def test_wrong_type_fails_with_its_path(tmp_path: Path) -> None:
    write(tmp_path, {"bad.yaml": WRONG_TYPE})
    run = validate(tmp_path)
    assert run.exit_code == 1
    assert "spec.replicas: 'three' is not of type 'integer'" in run.line("bad.yaml")


def test_kind_without_schema_is_a_counted_named_skip(tmp_path: Path) -> None:
    valid_manifests(tmp_path)
    write(tmp_path, {"cert-manager.io_v1_certificate_backend-tls.yaml": CERTIFICATE})
    run = validate(tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.line("cert-manager.io_v1_certificate_backend-tls.yaml").endswith(
        ": skipped (no schema for Certificate (cert-manager.io/v1))"
    )
    assert "3 files: 2 ok, 0 failed, 1 skipped (no schema for Certificate" in run.stdout

    strict = validate(tmp_path, "--strict")
    assert strict.exit_code == 1
    assert "--strict" in strict.stderr
    assert "Certificate" in strict.stderr


def test_builtin_kind_in_a_removed_api_version_fails_not_skips(tmp_path: Path) -> None:
    write(tmp_path, {"pdb.yaml": REMOVED_API})
    run = validate(tmp_path)
    assert run.exit_code == 1
    assert "has no PodDisruptionBudget in policy/v1beta1" in run.line("pdb.yaml")


@pytest.mark.parametrize("bad", ["1.20", "2.0", "latest", "1.x", "1.99"])
def test_bad_kubernetes_version_is_a_usage_error_listing_the_valid_ones(
    tmp_path: Path, bad: str
) -> None:
    valid_manifests(tmp_path)
    run = validate(tmp_path, "--kubernetes-version", bad)
    assert run.exit_code == 2
    assert f"unsupported --kubernetes-version '{bad}'" in run.stderr
    assert ", ".join(schemas.bundled_kubernetes_versions()) in run.stderr


@pytest.mark.parametrize("spelling", ["1.30", "v1.30", "1.30.0", "1.30.4"])
def test_kubernetes_version_spellings(spelling: str) -> None:
    assert schemas.normalise_kubernetes_version(spelling) == "1.30"


def test_bundled_versions() -> None:
    versions = schemas.bundled_kubernetes_versions()
    assert versions == tuple(sorted(versions, key=lambda v: tuple(map(int, v.split(".")))))
    assert "1.29" in versions
    assert schemas.normalise_kubernetes_version(None) == versions[-1] == NEWEST


@pytest.mark.parametrize("version", SINCE_1_29)
def test_valid_fixture_passes_every_version_since_1_29(
    tmp_path: Path, version: str, cli: CLI
) -> None:
    result = cli("validate", str(valid_manifests(tmp_path)), "--kubernetes-version", version)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"Kubernetes {version}, strict schemas" in result.stdout
    assert validate_kubernetes_objects(STATEFULSET + "---\n" + SERVICE, version) == 2
    if validators.find_kubeconform() is not None:
        assert f"(-kubernetes-version {version}.0): 2 valid, 0 invalid" in result.stdout


# --- kustomization handling -------------------------------------------------------------------


@pytest.mark.external
def test_kustomization_is_built_and_its_stream_validated(tmp_path: Path) -> None:
    validators.require_kustomize()
    valid_manifests(tmp_path)
    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION})
    run = validate(tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "kustomize: 2 objects valid)" in run.line("kustomization.yaml")

    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION + "  - missing.yaml\n"})
    broken = validate(tmp_path)
    assert broken.exit_code == 1
    assert "kustomize failed" in broken.line("kustomization.yaml")


def test_kustomization_without_a_kustomize_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CLI
) -> None:
    monkeypatch.setattr(kustomize, "find_kustomize", lambda: None)
    valid_manifests(tmp_path)
    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION})
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "2 resources present; not built" in result.stdout

    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION + "  - missing.yaml\n"})
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 1
    assert "resources: 'missing.yaml' does not exist" in result.stdout


# --- kubeconform inside validate --------------------------------------------------------------


def test_validate_without_kubeconform_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CLI
) -> None:
    monkeypatch.setattr(kubeconform, "find_kubeconform", lambda: None)
    result = cli("validate", str(valid_manifests(tmp_path)))
    assert result.exit_code == 0
    assert "kubeconform: not found, second check not run" in result.stdout


@pytest.mark.external
def test_validate_runs_kubeconform_and_fails_when_it_finds_no_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CLI
) -> None:
    require_tool("kubeconform")
    valid_manifests(tmp_path)
    write(tmp_path, {"cert.yaml": CERTIFICATE})
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"(-kubernetes-version {NEWEST}.0): 2 valid, 0 invalid, 0 errors, 1 skipped" in (
        result.stdout
    )

    bogus = str(tmp_path / "no-schemas" / "{{.ResourceKind}}.json")
    monkeypatch.setattr(kubeconform, "kubeconform_schema_location", lambda: bogus)
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 1
    assert "kubeconform: StatefulSet/backend: could not find schema" in result.stdout
    assert "FAIL: 0 valid, 0 invalid, 2 errors, 1 skipped" in result.stdout


@pytest.mark.external
def test_validate_runs_kubeconform_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CLI
) -> None:
    require_tool("kubeconform")
    monkeypatch.setattr(kubeconform, "KUBECONFORM_BATCH", 1)
    valid_manifests(tmp_path)
    write(tmp_path, {"cert.yaml": CERTIFICATE})
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert ": 2 valid, 0 invalid, 0 errors, 1 skipped" in result.stdout
