"""In-process checks of Kubernetes objects: manifests and kustomize builds, against the bundled
strict schemas and the schemas of the ``--crd`` CustomResourceDefinitions.

A kind the bundled schemas do not have is a custom resource: validated against its CRD when one
was given, otherwise an explicit, counted skip naming the kind (``--strict`` turns skips into
failures). A kind of an API group Kubernetes itself serves is never skipped: without a schema
it does not exist in that version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emitter import goyaml
from emitter.targets.kubernetes.extras import MissingExtra
from emitter.targets.kubernetes.validation import kustomize
from emitter.targets.kubernetes.validation.crds import CrdSchemas
from emitter.targets.kubernetes.validation.schemas import (
    builtin_api_groups,
    kubernetes_object_problems,
)
from emitter.validation import FileReport, parse


@dataclass
class KubernetesReport(FileReport):
    """A file's report, with what the checks after the files need."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    skipped_objects: list[dict[str, Any]] = field(default_factory=list)
    is_kubernetes: bool = False
    built_stream: str | None = None  # a kustomization's build, when it built and validated


def label(document: dict[str, Any]) -> str:
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{document['kind']}/{name}" if isinstance(name, str) else str(document["kind"])


def gvk(document: dict[str, Any]) -> str:
    return f"{document['apiVersion']}/{document['kind']}"


def _not_an_object(document: Any) -> str:
    if not isinstance(document, dict):
        return "not a mapping (a Kubernetes object or compose file)"
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if "services" in document and api_version is None and kind is None:
        return (
            "a compose document inside a multi-document stream; a compose file holds one document"
        )
    if api_version is None and kind is None:
        return "neither a Kubernetes object (apiVersion, kind) nor a compose file (services)"
    return (
        f"a Kubernetes object needs string apiVersion and kind (got apiVersion={api_version!r}, "
        f"kind={kind!r})"
    )


def is_object(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("apiVersion"), str)
        and isinstance(document.get("kind"), str)
        and bool(document["apiVersion"])
    )


def _problems(document: dict[str, Any], version: str, crds: CrdSchemas) -> list[str] | None:
    found = kubernetes_object_problems(document, version)
    if found is None and crds:
        found = crds.problems(document, version)
    return found


def check_documents(
    report: KubernetesReport,
    documents: list[Any],
    version: str,
    crds: CrdSchemas,
    prefix: str = "",
) -> None:
    for index, document in enumerate(documents, start=1):
        where = f"{prefix}document {index}: " if len(documents) > 1 or prefix else ""
        if not is_object(document):
            report.failures.append(where + _not_an_object(document))
            continue
        report.is_kubernetes = True
        api_version, kind = document["apiVersion"], document["kind"]
        name = f"{prefix}{label(document)}"
        try:
            problems = _problems(document, version, crds)
        except MissingExtra:
            raise  # one message for the run, not one per object
        except Exception as exc:  # a broken schema or hostile input must not become a traceback
            report.failures.append(f"{name}: could not be validated: {exc}")
            continue
        if problems is None and api_version.rpartition("/")[0] in builtin_api_groups(version):
            report.failures.append(
                f"{name}: Kubernetes {version} has no {kind} in {api_version} "
                "(a removed or misspelled API version or kind)"
            )
        elif problems is None:
            report.skipped_kinds.append(f"{kind} ({api_version})")
            report.skipped_objects.append(document)
        elif problems:
            report.failures.extend(f"{name}: {problem}" for problem in problems)
        else:
            report.objects.append(document)


def check_manifest(path: Path, text: str, version: str, crds: CrdSchemas) -> KubernetesReport:
    """Validate one manifest file (not a kustomization) in-process."""
    report = KubernetesReport(path)
    documents = parse(text, report, goyaml.load_v2)
    if documents is None:
        return report
    if not documents:
        report.failures.append("no YAML documents (empty file)")
        return report
    check_documents(report, documents, version, crds)
    if report.is_kubernetes and not report.failures:
        labels = [label(document) for document in report.objects]
        if 0 < len(labels) <= 3:
            report.notes.append(", ".join(labels))
        elif labels:
            report.notes.append(f"{len(labels)} objects")
    return report


def _check_resources_exist(report: KubernetesReport, kustomization: dict[str, Any]) -> None:
    """Without a kustomize tool: the local ``resources`` entries exist."""
    resources = kustomization.get("resources") or []
    if not isinstance(resources, list):
        report.failures.append("resources: must be a list")
        return
    for entry in resources:
        if not isinstance(entry, str):
            report.failures.append(f"resources: entry {entry!r} is not a string")
        elif not kustomize.is_remote(entry) and not (report.path.parent / entry).exists():
            report.failures.append(f"resources: {entry!r} does not exist")
    if not report.failures:
        report.notes.append(
            f"{len(resources)} resources present; not built: no kubectl or kustomize on PATH"
        )


def check_kustomization(
    path: Path, text: str, version: str, crds: CrdSchemas, builder: list[str] | None
) -> KubernetesReport:
    """A kustomization is no Kubernetes object: build it and validate every object of the built
    stream, which is what Argo CD / Flux apply (kustomize's warnings, e.g. deprecated fields,
    count as warnings)."""
    report = KubernetesReport(path)
    documents = parse(text, report, goyaml.load_v2)
    if documents is None:
        return report
    if len(documents) != 1 or not isinstance(documents[0], dict):
        report.failures.append("a kustomization holds exactly one YAML mapping")
        return report
    if builder is None:
        _check_resources_exist(report, documents[0])
        return report
    build = kustomize.kustomize_build(path.parent, builder)
    tool = f"{Path(builder[0]).name} {builder[1]}"
    if not build.ok:
        report.failures.append(f"{tool} failed: {build.stderr or 'no output'}")
        return report
    report.warnings.extend(line for line in build.stderr.splitlines() if line.strip())
    try:
        built = goyaml.load_v2(build.output)
    except yaml.YAMLError as exc:
        report.failures.append(f"{tool} output: {goyaml.describe_error(exc)}")
        return report
    check_documents(report, built, version, crds, prefix="built ")
    if not built:
        report.failures.append(f"{tool} built no objects")
    if not report.failures:
        report.built_stream = build.output
        report.notes.append(f"{tool}: {len(report.objects)} objects valid")
    return report
