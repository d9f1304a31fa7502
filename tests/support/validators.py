"""The external validators, run for real: kubeconform, kustomize, the compose-spec schema.

A test that needs an absent tool skips with the reason, unless ``IGNITION_STACK_REQUIRE_TOOLS=1``
(set by ``.ci/run``): then it fails, so CI can never silently skip an external validator.

kubeconform runs offline against the schemas bundled in kubernetes-validate (see
``emitter.targets.kubernetes.validation.kubeconform.kubeconform_command``); ``run_kubeconform`` fails the test unless every
resource was validated: zero invalid, zero errors, and zero skipped except exactly the kinds a
test allows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

from emitter import goyaml
from emitter.diagnostics import UsageError
from emitter.targets.compose.validation import compose_file_problems
from emitter.targets.kubernetes.validation import kubeconform, kustomize, schemas

REQUIRE_TOOLS = "IGNITION_STACK_REQUIRE_TOOLS"


def tools_required() -> bool:
    return os.environ.get(REQUIRE_TOOLS, "") == "1"


def missing_tool(reason: str) -> NoReturn:
    """Skip the test, or fail it when CI requires every tool."""
    if tools_required():
        pytest.fail(f"{reason}, and {REQUIRE_TOOLS}=1 forbids skipping it", pytrace=False)
    pytest.skip(reason)


def find_kubeconform() -> str | None:
    """kubeconform on PATH, in ``$(go env GOPATH)/bin`` or in ``~/go/bin``."""
    return kubeconform.find_kubeconform()


def require_tool(name: str) -> str:
    """The path of tool ``name`` (kubeconform is also looked for where ``go install`` puts it)."""
    found = find_kubeconform() if name == "kubeconform" else shutil.which(name)
    if found is None:
        missing_tool(f"{name} is not installed")
    return found


def require_kustomize() -> list[str]:
    """``[kubectl, "kustomize"]`` or ``[kustomize, "build"]``, whichever is installed."""
    command = kustomize.find_kustomize()
    if command is None:
        missing_tool("neither kubectl (kubectl kustomize) nor kustomize is installed")
    return command


def kustomize_build(directory: Path | str) -> str:
    """``kubectl kustomize DIR`` (or ``kustomize build DIR``): the built stream; fails the test
    with the tool's stderr if the build fails."""
    command = require_kustomize()
    build = kustomize.kustomize_build(Path(directory), command)
    if not build.ok:
        pytest.fail(f"`{' '.join(build.command)}` failed:\n{build.stderr}", pytrace=False)
    return build.output


def _version(kubernetes_version: str | None) -> str:
    try:
        return schemas.normalise_kubernetes_version(kubernetes_version)
    except UsageError as exc:
        pytest.fail(str(exc), pytrace=False)


def _documents(inputs: str | Sequence[Path]) -> list[Any]:
    texts = (
        [inputs]
        if isinstance(inputs, str)
        else [Path(path).read_text(encoding="utf-8") for path in inputs]
    )
    return [document for text in texts for document in goyaml.load_v2(text)]


def _matches(entry: str, resource: dict[str, Any]) -> bool:
    """A ``-skip`` entry is a kind (``Certificate``) or a GVK (``cert-manager.io/v1/Certificate``)."""
    return entry in (resource.get("kind"), f"{resource.get('version')}/{resource.get('kind')}")


def run_kubeconform(
    stream_or_paths: str | Path | Sequence[Path | str],
    kubernetes_version: str | None = None,
    *,
    skip_kinds: Iterable[str] = (),
    schema_location: str | None = None,
    extra_schema_locations: Sequence[str] = (),
    extra_args: Sequence[str] = (),
) -> dict[str, int]:
    """Run the real kubeconform (``-strict``, local schemas) and return its summary.

    ``stream_or_paths``: a multi-document YAML string (fed on stdin) or manifest file paths.
    Fails the test on any invalid resource, any error, any skipped resource other than the
    kinds in ``skip_kinds`` (each of which must really be skipped), or when fewer resources were
    validated than the input holds. ``extra_schema_locations`` are searched after the bundled
    Kubernetes schemas (e.g. ``support.cert_manager.schema_location()`` for cert-manager's
    kinds). ``schema_location`` / ``extra_args`` exist so tests can prove this harness fails.
    """
    binary = require_tool("kubeconform")
    version = _version(kubernetes_version)
    inputs: str | list[Path]
    if isinstance(stream_or_paths, str):
        inputs = stream_or_paths
    elif isinstance(stream_or_paths, Path):
        inputs = [stream_or_paths]
    else:
        inputs = [Path(path) for path in stream_or_paths]
    if not isinstance(inputs, str):
        for path in inputs:
            if not path.is_file():
                pytest.fail(
                    f"{path} is not a file (kubeconform would also read kustomization.yaml in a "
                    "directory; pass kustomize_build(directory) instead)",
                    pytrace=False,
                )
    allowed = sorted(set(skip_kinds))
    run = kubeconform.run_kubeconform(
        inputs,
        version,
        kubeconform=binary,
        skip=allowed,
        schema_location=schema_location,
        extra_args=[
            *(arg for location in extra_schema_locations for arg in ("-schema-location", location)),
            *extra_args,
        ],
    )
    command = " ".join(run.argv) or "kubeconform"
    if run.error:
        pytest.fail(f"{command}: {run.error}", pytrace=False)
    summary = run.summary
    problems: list[str] = []
    for resource in run.resources:
        label = f"{resource.get('filename')}: {resource.get('kind')}/{resource.get('name')}"
        status = resource.get("status")
        if status in ("statusInvalid", "statusError"):
            problems.append(f"{label}: {status}: {resource.get('msg')}")
        elif status == "statusSkipped" and not any(_matches(e, resource) for e in allowed):
            problems.append(f"{label}: skipped, and its kind is not in skip_kinds")
    skipped = [r for r in run.resources if r.get("status") == "statusSkipped"]
    never_skipped = [entry for entry in allowed if not any(_matches(entry, r) for r in skipped)]
    if never_skipped:
        problems.append(f"skip_kinds {never_skipped} were allowed but nothing was skipped for them")
    if summary["invalid"] or summary["errors"]:
        problems.append(f"{summary['invalid']} invalid, {summary['errors']} errors")
    if summary["skipped"] != len(skipped) or (summary["skipped"] and not allowed):
        problems.append(f"{summary['skipped']} resources skipped (not validated)")
    expected = len([d for d in _documents(inputs) if isinstance(d, dict)])
    if summary["valid"] + summary["skipped"] != expected or summary["valid"] == 0:
        problems.append(
            f"kubeconform validated {summary['valid']} and skipped {summary['skipped']} of "
            f"{expected} resources"
        )
    if problems:
        pytest.fail(
            f"{command}\nsummary: {summary}\n" + "\n".join(f"  {p}" for p in problems),
            pytrace=False,
        )
    return summary


def validate_kubernetes_objects(
    stream_or_documents: str | Iterable[dict[str, Any]],
    kubernetes_version: str | None = None,
    *,
    skip_kinds: Iterable[str] = (),
) -> int:
    """In-process check against kubernetes-validate's strict schemas (what ``ignition-stack
    validate`` does); fails on any problem or unexpected missing schema. Returns the number of
    objects validated."""
    version = _version(kubernetes_version)
    allowed = set(skip_kinds)
    documents = (
        goyaml.load_v2(stream_or_documents)
        if isinstance(stream_or_documents, str)
        else list(stream_or_documents)
    )
    problems: list[str] = []
    validated = 0
    for document in documents:
        label = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        found = schemas.kubernetes_object_problems(document, version)
        if found is None:
            if document.get("kind") not in allowed:
                problems.append(f"{label}: no bundled schema for {document.get('apiVersion')}")
        else:
            validated += 1
            problems.extend(f"{label}: {problem}" for problem in found)
    if problems:
        pytest.fail(f"Kubernetes {version}:\n" + "\n".join(problems), pytrace=False)
    return validated


def validate_compose_file(path: Path | str) -> None:
    """Fail the test unless ``path`` is valid against the compose-spec schema that
    check-jsonschema vendors (``emitter.targets.compose.validation``)."""
    problems = compose_file_problems(Path(path))
    if problems:
        pytest.fail(f"{path} fails the compose-spec schema:\n" + "\n".join(problems), pytrace=False)
