"""``ignition-stack validate`` as a whole: which target a file goes to, the report, exit codes,
bad input, Compose files, and a created project. The Kubernetes validator's own tests are in
``tests/targets/kubernetes/test_validate_*.py``; the external-validator harness's in
``test_validator_harness.py``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emitter.targets.compose import validation as compose_validation

from .conftest import Result
from .support.validate_cli import (
    BROKEN_YAML,
    COMPOSE,
    DUPLICATE_KEY,
    INVALID_COMPOSE,
    NEWEST,
    SERVICE,
    STATEFULSET,
    valid_manifests,
    validate,
    write,
)
from .support.validators import (
    kustomize_build,
    run_kubeconform,
    validate_compose_file,
    validate_kubernetes_objects,
)

CLI = Callable[..., Result]


def test_compose_files(tmp_path: Path) -> None:
    write(tmp_path / "good", {"compose.yaml": COMPOSE})
    # Recognised by content, not only by name.
    write(tmp_path / "good", {"stack-services.yml": COMPOSE})
    good = validate(tmp_path / "good")
    assert good.exit_code == 0, good.stdout + good.stderr
    assert good.line("compose.yaml").endswith(": ok (compose-spec)")
    assert good.line("stack-services.yml").endswith(": ok (compose-spec)")
    # A Compose-only tree says nothing about Kubernetes: no kubeconform, no version banner.
    assert "kubeconform" not in good.stdout
    assert "Kubernetes" not in good.stdout
    assert good.stdout.splitlines()[-1] == "2 files: 2 ok, 0 failed, 0 skipped"

    write(tmp_path / "bad", {"docker-compose.yml": INVALID_COMPOSE})
    bad = validate(tmp_path / "bad" / "docker-compose.yml")
    assert bad.exit_code == 1
    line = bad.line("docker-compose.yml")
    assert "FAIL: services.gateway:" in line
    assert "'restart_policy' was unexpected" in line


def test_compose_name_with_several_documents_fails(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": COMPOSE + "---\n" + COMPOSE})
    run = validate(tmp_path)
    assert run.exit_code == 1
    assert "exactly one YAML document, found 2" in run.line("compose.yaml")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.yaml", BROKEN_YAML, "FAIL: invalid YAML: line 3 column 11: mapping values"),
        ("dup.yaml", DUPLICATE_KEY, "found duplicate key 'clusterIP'"),
        ("empty.yaml", "# nothing\n", "no YAML documents"),
        ("list.yaml", "- a\n- b\n", "not a mapping"),
        (
            "other.yaml",
            "hello: world\n",
            "neither a compose file (services) nor a Kubernetes object",
        ),
        ("nokind.yaml", "apiVersion: v1\nmetadata: {}\n", "needs string apiVersion and kind"),
        ("mixed.yaml", SERVICE + "---\n" + COMPOSE, "a compose document inside"),
    ],
)
def test_bad_input_is_a_failure_never_a_traceback(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    write(tmp_path, {name: content})
    run = validate(tmp_path)
    assert run.exit_code == 1
    assert message in run.line(name)


def test_yaml_is_read_as_kubernetes_and_compose_read_it(tmp_path: Path) -> None:
    """Kubernetes' YAML reader (go-yaml v2) takes an unquoted ``Y`` for a boolean, so an env
    value ``Y`` fails there although PyYAML reads "Y"; Compose (YAML 1.2) reads ``no`` as "no"."""
    unquoted = STATEFULSET.replace(
        "          ports:\n",
        "          env:\n            - name: ACCEPT_IGNITION_EULA\n              value: Y\n"
        "          ports:\n",
    )
    write(
        tmp_path / "k8s", {"unquoted.yaml": unquoted, "quoted.yaml": unquoted.replace("Y", '"Y"')}
    )
    run = validate(tmp_path / "k8s")
    assert run.exit_code == 1
    assert "env[0].value: True is not of type 'string'" in run.line("unquoted.yaml")
    assert ": ok" in run.line("quoted.yaml")

    write(
        tmp_path / "compose",
        {"compose.yaml": COMPOSE.replace("    ports:", "    restart: no\n    ports:")},
    )
    assert validate(tmp_path / "compose").exit_code == 0


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "missing.yaml")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    run = validate(tmp_path)
    assert run.exit_code == 1
    assert "cannot read: No such file or directory" in run.line("dangling.yaml")
    assert "cannot read: not UTF-8" in run.line("binary.yaml")


def test_empty_directory_and_missing_path(tmp_path: Path) -> None:
    write(tmp_path / "empty", {"README.md": "no yaml here\n"})
    empty = validate(tmp_path / "empty")
    assert empty.exit_code == 1
    assert "nothing to validate" in empty.stderr

    missing = validate(tmp_path / "nope")
    assert missing.exit_code == 2
    assert "no such file or directory" in missing.stderr


def test_default_path_is_targets(tmp_path: Path) -> None:
    valid_manifests(tmp_path / "targets" / "kubernetes")
    run = validate(cwd=tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "targets/kubernetes/v1_service_backend.yaml: ok" in run.stdout


def test_hidden_entries_are_ignored(tmp_path: Path) -> None:
    valid_manifests(tmp_path)
    write(tmp_path / ".git", {"config.yaml": "broken: [\n"})
    write(tmp_path, {".hidden.yaml": "broken: [\n"})
    assert validate(tmp_path).exit_code == 0


def test_compose_schema_is_check_jsonschemas_vendored_copy() -> None:
    schema = compose_validation.compose_schema()
    assert schema["$id"] == "compose_spec.json"
    assert "services" in schema["properties"]


def test_imports_stay_lazy() -> None:
    code = (
        "import sys, emitter.cli\n"
        "heavy = {'jsonschema', 'kubernetes_validate', 'check_jsonschema', 'referencing'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_validate_loads_no_emitter(tmp_path: Path) -> None:
    """``validate`` asks the targets for their validators only: the emitters, the stack
    models and the Kubernetes client stay unloaded."""
    valid_manifests(tmp_path / "kubernetes")
    write(tmp_path / "compose", {"compose.yaml": COMPOSE})
    code = (
        "import sys\n"
        "from emitter.cli import main\n"
        "try:\n"
        f"    main(['validate', {str(tmp_path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "emitters = {'emitter.ir', 'emitter.spec', 'emitter.targets.compose.project',\n"
        "            'emitter.targets.kubernetes.manifest', 'kubernetes.client'}\n"
        "print(sorted(emitters & set(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stderr.strip() == "[]", done.stderr


def test_every_target_has_a_validator() -> None:
    from emitter.targets import registry, validators
    from emitter.validation import ValidateOptions

    assert all(target.validator for target in registry.targets())
    made = validators(ValidateOptions())
    assert len(made) == len(registry.names())
    assert all(callable(getattr(validator, "check", None)) for validator in made)


# --- a generated project ------------------------------------------------------------------------


@pytest.mark.external
def test_created_project_validates(tmp_path: Path) -> None:
    try:
        kubernetes = importlib.import_module("emitter.targets.kubernetes")
    except ImportError as exc:  # pragma: no cover - depends on the target landing
        pytest.skip(f"the kubernetes target is not importable yet: {exc}")
    if not hasattr(kubernetes, "emit"):
        pytest.skip("the kubernetes target is not written yet (emitter.targets.kubernetes.emit)")
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "emitter",
            "create",
            "demo",
            "--arch",
            "scale-out",
            "--redundant",
            "backend",
            "--target",
            "all",
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    targets = tmp_path / "demo" / "targets"
    run = validate(targets, "--strict")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "compose/compose.yaml: ok (compose-spec)" in run.stdout
    assert " 0 failed, 0 skipped" in run.stdout

    validate_compose_file(targets / "compose" / "compose.yaml")
    built = kustomize_build(targets / "kubernetes")
    validate_kubernetes_objects(built)
    run_kubeconform(built, NEWEST)
    manifests = sorted((targets / "kubernetes").glob("*.yaml"))
    run_kubeconform([p for p in manifests if p.name != "kustomization.yaml"], "1.29")
