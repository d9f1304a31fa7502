"""The external-validator harness (tests/support/validators.py): it must pass good input and
be able to fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emitter import goyaml
from emitter.targets.kubernetes.validation import kustomize

from .conftest import Result
from .support import validators
from .support.validate_cli import (
    CERTIFICATE,
    COMPOSE,
    INVALID_COMPOSE,
    KUSTOMIZATION,
    NEWEST,
    SERVICE,
    STATEFULSET,
    UNKNOWN_FIELD,
    WRONG_TYPE,
    valid_manifests,
    write,
)
from .support.validators import (
    kustomize_build,
    require_tool,
    run_kubeconform,
    validate_compose_file,
    validate_kubernetes_objects,
)

CLI = Callable[..., Result]


@pytest.mark.external
def test_run_kubeconform_passes_valid_objects(tmp_path: Path) -> None:
    stream = STATEFULSET + "---\n" + SERVICE
    summary = run_kubeconform(stream, NEWEST)
    assert summary == {"valid": 2, "invalid": 0, "errors": 0, "skipped": 0}
    paths = list(valid_manifests(tmp_path).glob("*.yaml"))
    assert run_kubeconform(paths, "1.29")["valid"] == 2


@pytest.mark.external
@pytest.mark.parametrize("manifest", [UNKNOWN_FIELD, WRONG_TYPE], ids=["unknown-field", "type"])
def test_run_kubeconform_fails_invalid_objects(manifest: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="statusInvalid"):
        run_kubeconform(manifest + "---\n" + SERVICE, NEWEST)


@pytest.mark.external
def test_run_kubeconform_fails_when_nothing_is_validated(tmp_path: Path) -> None:
    bogus = str(tmp_path / "{{.NormalizedKubernetesVersion}}" / "{{.ResourceKind}}.json")
    # A schema location that does not exist: every resource is an error ...
    with pytest.raises(pytest.fail.Exception, match="could not find schema"):
        run_kubeconform(STATEFULSET, NEWEST, schema_location=bogus)
    # ... and with -ignore-missing-schemas every resource is skipped, which is no pass either.
    with pytest.raises(pytest.fail.Exception, match="skipped"):
        run_kubeconform(
            STATEFULSET, NEWEST, schema_location=bogus, extra_args=["-ignore-missing-schemas"]
        )


@pytest.mark.external
def test_run_kubeconform_skip_allow_list_must_match_exactly() -> None:
    stream = STATEFULSET + "---\n" + CERTIFICATE
    with pytest.raises(pytest.fail.Exception, match="could not find schema for Certificate"):
        run_kubeconform(stream, NEWEST)
    summary = run_kubeconform(stream, NEWEST, skip_kinds=["cert-manager.io/v1/Certificate"])
    assert summary == {"valid": 1, "invalid": 0, "errors": 0, "skipped": 1}
    assert run_kubeconform(stream, NEWEST, skip_kinds=["Certificate"])["skipped"] == 1
    with pytest.raises(pytest.fail.Exception, match="nothing was skipped"):
        run_kubeconform(STATEFULSET, NEWEST, skip_kinds=["Certificate"])


def test_run_kubeconform_rejects_a_directory(tmp_path: Path) -> None:
    require_tool("kubeconform")
    with pytest.raises(pytest.fail.Exception, match="is not a file"):
        run_kubeconform([tmp_path], NEWEST)


def test_validate_kubernetes_objects_fails_on_problems() -> None:
    with pytest.raises(pytest.fail.Exception, match="bogusField"):
        validate_kubernetes_objects(UNKNOWN_FIELD)
    with pytest.raises(pytest.fail.Exception, match="no bundled schema"):
        validate_kubernetes_objects(CERTIFICATE)
    assert validate_kubernetes_objects(CERTIFICATE, skip_kinds=["Certificate"]) == 0


@pytest.mark.external
def test_kustomize_build_helper(tmp_path: Path) -> None:
    valid_manifests(tmp_path)
    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION})
    built = kustomize_build(tmp_path)
    assert {d["kind"] for d in goyaml.load_v2(built)} == {"StatefulSet", "Service"}
    write(tmp_path, {"kustomization.yaml": KUSTOMIZATION + "  - missing.yaml\n"})
    with pytest.raises(pytest.fail.Exception, match=r"missing\.yaml"):
        kustomize_build(tmp_path)


def test_validate_compose_file_helper(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": COMPOSE, "bad.yaml": INVALID_COMPOSE})
    validate_compose_file(tmp_path / "compose.yaml")
    with pytest.raises(pytest.fail.Exception, match="restart_policy"):
        validate_compose_file(tmp_path / "bad.yaml")


def test_missing_tool_skips_or_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(validators.REQUIRE_TOOLS, raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_tool("ignition-stack-no-such-tool")
    monkeypatch.setenv(validators.REQUIRE_TOOLS, "1")
    with pytest.raises(pytest.fail.Exception, match="forbids skipping"):
        require_tool("ignition-stack-no-such-tool")
    monkeypatch.setattr(kustomize, "find_kustomize", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="kustomize"):
        validators.require_kustomize()
