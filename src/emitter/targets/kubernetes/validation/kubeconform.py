"""kubeconform as a second, independent validator over the same files (and kustomize builds)
against the same bundled schemas, and the ``--crd`` schemas, offline.

A resource kubeconform could not find a schema for is a failure, never a pass; the counts it
reports must match what the in-process check validated and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emitter.targets.kubernetes.validation.crds import CrdSchemas
from emitter.targets.kubernetes.validation.objects import KubernetesReport, gvk
from emitter.targets.kubernetes.validation.schemas import (
    DEFINITIONS_URL,
    kubernetes_schema_root,
    schema_directory,
)

KUBECONFORM_TIMEOUT = 300
KUBECONFORM_BATCH = 500
INSTALL_HINT = "go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"


def find_kubeconform() -> str | None:
    """kubeconform on PATH, in ``$(go env GOPATH)/bin``, or in ``~/go/bin``."""
    found = shutil.which("kubeconform")
    if found:
        return found
    candidates: list[Path] = []
    go = shutil.which("go")
    if go:
        try:
            gopath = subprocess.run(
                [go, "env", "GOPATH"], capture_output=True, text=True, timeout=20, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            gopath = ""
        candidates.extend(Path(entry) / "bin" for entry in gopath.split(os.pathsep) if entry)
    candidates.append(Path.home() / "go" / "bin")
    for directory in candidates:
        binary = directory / "kubeconform"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def kubeconform_schema_location() -> str:
    """The ``-schema-location`` template mapping kubeconform onto kubernetes-validate's layout
    (``v1.37.0-local-strict/statefulset-apps-v1.json``)."""
    return (
        f"{kubernetes_schema_root()}/{{{{.NormalizedKubernetesVersion}}}}-local"
        "{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"
    )


def seed_kubeconform_cache(cache: Path, version: str) -> None:
    """Serve the version's ``_definitions.json`` for its ``$id`` URL from kubeconform's
    ``-cache`` folder (entries named by the SHA-256 of the URL), so nothing is fetched."""
    name = hashlib.sha256(DEFINITIONS_URL.encode()).hexdigest()
    shutil.copyfile(schema_directory(version) / "_definitions.json", cache / name)


def kubeconform_command(
    kubeconform: str,
    version: str,
    cache: Path,
    *,
    skip: Iterable[str] = (),
    schema_location: str | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    argv = [
        kubeconform,
        "-strict",
        "-summary",
        "-verbose",
        "-output",
        "json",
        "-kubernetes-version",
        f"{version}.0",
        "-schema-location",
        schema_location or kubeconform_schema_location(),
        "-cache",
        str(cache),
    ]
    skipped = sorted(set(skip))
    if skipped:
        argv += ["-skip", ",".join(skipped)]
    return [*argv, *extra_args]


@dataclass(frozen=True)
class KubeconformRun:
    argv: tuple[str, ...]
    returncode: int
    summary: dict[str, int]
    resources: list[dict[str, Any]]
    stderr: str
    error: str | None = None


def _parse_run(argv: list[str], done: subprocess.CompletedProcess[str]) -> KubeconformRun:
    try:
        parsed = json.loads(done.stdout)
        summary = {
            key: int(parsed["summary"][key]) for key in ("valid", "invalid", "errors", "skipped")
        }
        resources = list(parsed.get("resources") or [])
    except (ValueError, KeyError, TypeError):
        return KubeconformRun(
            tuple(argv),
            done.returncode,
            {},
            [],
            done.stderr,
            f"unexpected kubeconform output (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[:500]}",
        )
    return KubeconformRun(tuple(argv), done.returncode, summary, resources, done.stderr)


def run_kubeconform(
    inputs: str | Sequence[Path],
    version: str,
    *,
    kubeconform: str | None = None,
    skip: Iterable[str] = (),
    schema_location: str | None = None,
    extra_args: Sequence[str] = (),
) -> KubeconformRun:
    """Run kubeconform on files, or on a YAML stream (a ``str``, fed on stdin).

    ``skip``: GVKs (``cert-manager.io/v1/Certificate``) or kinds passed to ``-skip``. ``error`` is
    set when kubeconform could not run or its output was not the expected JSON summary.
    """
    binary = kubeconform or find_kubeconform()
    if binary is None:
        return KubeconformRun((), -1, {}, [], "", "kubeconform not found")
    with tempfile.TemporaryDirectory(prefix="ignition-stack-kubeconform-") as cache:
        seed_kubeconform_cache(Path(cache), version)
        argv = kubeconform_command(
            binary,
            version,
            Path(cache),
            skip=skip,
            schema_location=schema_location,
            extra_args=extra_args,
        )
        stdin = inputs if isinstance(inputs, str) else None
        if stdin is None:
            argv += [str(path) for path in inputs]
        try:
            done = subprocess.run(
                argv,
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                timeout=KUBECONFORM_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return KubeconformRun(tuple(argv), -1, {}, [], "", f"could not run kubeconform: {exc}")
    return _parse_run(argv, done)


def kubeconform_version(binary: str) -> str:
    """``v0.7.0``; a ``go install`` build says ``development``, so ask ``go version -m``."""
    try:
        reported = subprocess.run(
            [binary, "-v"], capture_output=True, text=True, timeout=20, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown version"
    if reported.startswith("v"):
        return reported
    go = shutil.which("go")
    if go:
        try:
            info = subprocess.run(
                [go, "version", "-m", binary],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            info = ""
        match = re.search(r"^\s*mod\s+github\.com/yannh/kubeconform\s+(\S+)", info, re.MULTILINE)
        if match:
            return match[1]
    return reported or "unknown version"


def _kubeconform_message(resource: dict[str, Any]) -> str:
    """kubeconform's message without its schema-file URL preamble."""
    message = " ".join(str(resource.get("msg") or resource.get("status")).split())
    match = re.search(r"jsonschema validation failed with '[^']*' - (.*)$", message)
    return match[1] if match else message


@dataclass
class _Inputs:
    """What kubeconform is given, and what the in-process check says it must find."""

    paths: list[Path]
    owners: dict[str, KubernetesReport]
    skip: set[str]
    expected_valid: int = 0
    expected_skipped: int = 0


def _inputs(reports: list[KubernetesReport], scratch: Path) -> _Inputs:
    inputs = _Inputs([], {}, set())
    for index, report in enumerate(reports):
        if report.built_stream is not None:
            path = scratch / f"built-{index}.yaml"
            path.write_text(report.built_stream, encoding="utf-8")
        elif report.is_kubernetes and not report.failures:
            path = report.path
        else:
            continue
        inputs.paths.append(path)
        inputs.owners[str(path)] = report
        inputs.skip.update(gvk(document) for document in report.skipped_objects)
        inputs.expected_skipped += len(report.skipped_objects)
        inputs.expected_valid += len(report.objects)
    return inputs


def run_on_reports(
    binary: str, reports: list[KubernetesReport], version: str, crds: CrdSchemas
) -> str:
    """Second opinion on every Kubernetes file and built stream; failures land in the reports.
    Returns the summary line."""
    with tempfile.TemporaryDirectory(prefix="ignition-stack-built-") as scratch:
        inputs = _inputs(reports, Path(scratch))
        if not inputs.paths:
            return "kubeconform: no Kubernetes objects to check"
        extra: list[str] = []
        if crds:
            extra = ["-schema-location", crds.write(Path(scratch) / "crd-schemas")]
        # In batches, so a stack of thousands of gateways stays under the argument-size limit.
        runs = [
            run_kubeconform(
                inputs.paths[start : start + KUBECONFORM_BATCH],
                version,
                kubeconform=binary,
                skip=inputs.skip,
                extra_args=extra,
            )
            for start in range(0, len(inputs.paths), KUBECONFORM_BATCH)
        ]
    return _judge(
        f"kubeconform {kubeconform_version(binary)} (-kubernetes-version {version}.0)", runs, inputs
    )


def _judge(name: str, runs: list[KubeconformRun], inputs: _Inputs) -> str:
    error = next((run.error for run in runs if run.error), None)
    if error:
        for report in inputs.owners.values():
            report.failures.append(f"kubeconform: {error}")
        return f"{name}: FAIL: {error}"
    summary = {key: sum(run.summary[key] for run in runs) for key in runs[0].summary}
    for resource in (resource for run in runs for resource in run.resources):
        owner = inputs.owners.get(str(resource.get("filename")))
        if resource.get("status") in ("statusInvalid", "statusError") and owner is not None:
            label = f"{resource.get('kind') or '?'}/{resource.get('name') or '?'}"
            owner.failures.append(f"kubeconform: {label}: {_kubeconform_message(resource)}")
    counts = (
        f"{summary['valid']} valid, {summary['invalid']} invalid, "
        f"{summary['errors']} errors, {summary['skipped']} skipped"
    )
    checked = summary["valid"] + summary["invalid"] + summary["errors"]
    if checked != inputs.expected_valid or summary["skipped"] != inputs.expected_skipped:
        problem = (
            f"expected {inputs.expected_valid} valid and {inputs.expected_skipped} skipped "
            "resources; kubeconform did not validate everything"
        )
        for report in inputs.owners.values():
            if not report.failures:
                report.failures.append(f"kubeconform: {problem}")
        return f"{name}: FAIL: {counts}; {problem}"
    if summary["invalid"] or summary["errors"]:
        return f"{name}: FAIL: {counts}"
    return f"{name}: {counts}"
