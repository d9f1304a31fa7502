"""``ignition-stack validate``: offline schema checks of generated targets.

What is checked, per YAML file under PATH (a directory is walked; hidden entries are ignored):

* Kubernetes objects (documents with ``apiVersion`` and ``kind``): the strict JSON schemas
  bundled in ``kubernetes-validate`` (``vX.Y.0-local-strict``: unknown fields are errors) for one
  Kubernetes version. A kind with no bundled schema (a CRD such as cert-manager's Certificate)
  is an explicit, counted skip naming the kind; ``--strict`` turns skips into failures.
* Compose files (named ``compose*.y(a)ml`` / ``docker-compose*.y(a)ml``, or a document with
  ``services`` and no ``apiVersion``): the compose-spec schema vendored in ``check-jsonschema``.
* ``kustomization.yaml`` is not a Kubernetes object. When ``kubectl`` (or a standalone
  ``kustomize``) is on PATH the directory is built and every object of the built stream is
  validated too, since that stream is what Argo CD / Flux apply; kustomize warnings (deprecated
  fields) count as warnings. Without either tool its local ``resources`` entries are checked to
  exist.
* When ``kubeconform`` is installed it runs as a second, independent validator over the same
  files (and the built stream) against the same bundled schemas, see :func:`kubeconform_command`.
  A resource kubeconform could not find a schema for is a failure, never a pass.

Heavy imports (jsonschema, referencing) happen inside functions so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emitter.diagnostics import EmitterError, UsageError
from emitter.extras import MissingExtra, require

# kubeconform resolves the bundled schemas' ``$ref: /api/_definitions.json`` against their
# ``$id`` (https://kubernetes.io/api/...). Offline, that URL is served from kubeconform's
# ``-cache`` folder, whose entries are named by the SHA-256 of the URL.
DEFINITIONS_URL = "https://kubernetes.io/api/_definitions.json"
KUBECONFORM_TIMEOUT = 300
KUSTOMIZE_TIMEOUT = 120
KUBECONFORM_BATCH = 500
MAX_PROBLEMS_PER_OBJECT = 20
_KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
_COMPOSE_NAME = re.compile(r"^(docker-)?compose[^/]*\.ya?ml$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
_SCHEMA_DIRECTORY = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")


class ValidationFailed(EmitterError):
    """At least one file failed (exit 1); the per-file report has already been printed."""


# --- Kubernetes versions and bundled schemas -------------------------------------------------


# The "version" a Compose-only install (no kubernetes extra) validates with.
NO_KUBERNETES_SCHEMAS = "none (the kubernetes extra is not installed)"


def kubernetes_schema_root() -> Path:
    """The ``kubernetes-json-schema`` directory inside the installed kubernetes-validate."""
    require("kubernetes_validate", "validating Kubernetes manifests")
    root = importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    return Path(str(root))


@functools.cache
def bundled_kubernetes_versions() -> tuple[str, ...]:
    """``X.Y`` versions with strict schemas bundled in kubernetes-validate, oldest first."""
    found: list[tuple[int, int]] = []
    try:
        entries = list(kubernetes_schema_root().iterdir())
    except OSError:
        entries = []
    for entry in entries:
        match = _SCHEMA_DIRECTORY.match(entry.name)
        if match and (entry / "_definitions.json").is_file():
            found.append((int(match[1]), int(match[2])))
    return tuple(f"{major}.{minor}" for major, minor in sorted(found))


def latest_kubernetes_version() -> str:
    versions = bundled_kubernetes_versions()
    if not versions:
        raise EmitterError(
            "kubernetes-validate has no bundled schemas; reinstall ignition-stack-emitter"
        )
    return versions[-1]


def normalise_kubernetes_version(value: str | None) -> str:
    """``None`` -> newest bundled; ``1.30``, ``v1.30``, ``1.30.2`` -> ``1.30``; else exit 2."""
    if value is None:
        if importlib.util.find_spec("kubernetes_validate") is None:
            # A Compose-only install validates compose files; a Kubernetes file it meets
            # stops with the message naming the extra (kubernetes_schema_root).
            return NO_KUBERNETES_SCHEMAS
        return latest_kubernetes_version()
    versions = bundled_kubernetes_versions()
    match = _VERSION.match(value.strip())
    candidate = f"{int(match[1])}.{int(match[2])}" if match else None
    if candidate is None or candidate not in versions:
        raise UsageError(
            f"unsupported --kubernetes-version {value!r}; the bundled schemas cover "
            f"{', '.join(versions)} (use X.Y)"
        )
    return candidate


def _schema_directory(version: str) -> Path:
    return kubernetes_schema_root() / f"v{version}.0-local-strict"


def schema_file_name(kind: str, api_version: str) -> str:
    """``StatefulSet`` + ``apps/v1`` -> ``statefulset-apps-v1.json``; ``rbac.authorization.k8s.io/v1``
    -> ``...-rbac-v1.json``; core ``v1`` -> ``service-v1.json`` (kubernetes-validate's and
    kubeconform's ``{{.ResourceKind}}{{.KindSuffix}}``)."""
    group, _, version = api_version.rpartition("/")
    suffix = f"{group.split('.')[0]}-{version}" if group else version
    return f"{kind.lower()}-{suffix.lower()}.json"


@functools.cache
def _definitions(version: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (_schema_directory(version) / "_definitions.json").read_bytes()
    )
    return loaded


@functools.cache
def _kubernetes_registry(version: str) -> Any:
    from referencing import Registry, Resource

    return Registry().with_resource(DEFINITIONS_URL, Resource.from_contents(_definitions(version)))


@functools.cache
def builtin_api_groups(version: str) -> frozenset[str]:
    """The API groups Kubernetes X.Y itself serves (``""`` is core), from the schemas'
    ``x-kubernetes-group-version-kind``. A kind of these groups without a schema does not exist
    in that version (e.g. ``policy/v1beta1`` PodDisruptionBudget on 1.25+): a failure, not a
    CRD to skip."""
    groups: set[str] = set()
    for definition in _definitions(version).get("$defs", {}).values():
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            if isinstance(gvk, dict) and isinstance(gvk.get("group"), str):
                groups.add(gvk["group"])
    return frozenset(groups)


@functools.cache
def _kubernetes_validator(version: str, kind: str, api_version: str) -> Any:
    """A strict validator for one kind, or ``None`` when no schema is bundled for it."""
    import jsonschema

    name = schema_file_name(kind, api_version)
    if "/" in name or name.startswith("."):
        return None
    path = _schema_directory(version) / name
    if not path.is_file():
        return None
    schema = json.loads(path.read_bytes())
    return jsonschema.Draft202012Validator(schema, registry=_kubernetes_registry(version))


@functools.cache
def compose_schema() -> dict[str, Any]:
    """check-jsonschema's vendored compose-spec schema (``--builtin-schema vendor.compose-spec``)."""
    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "compose-spec.json"
    )
    schema: dict[str, Any] = json.loads(resource.read_bytes())
    return schema


@functools.cache
def _compose_validator() -> Any:
    import jsonschema

    schema = compose_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _json_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _problems(validator: Any, instance: Any) -> list[str]:
    from jsonschema.exceptions import (
        best_match,
    )

    errors: list[Any] = [best_match([error]) or error for error in validator.iter_errors(instance)]
    errors.sort(key=lambda error: (_json_path(error.absolute_path), error.message))
    problems = [f"{_json_path(error.absolute_path)}: {error.message}" for error in errors]
    if len(problems) > MAX_PROBLEMS_PER_OBJECT:
        extra = len(problems) - MAX_PROBLEMS_PER_OBJECT
        problems = [*problems[:MAX_PROBLEMS_PER_OBJECT], f"... and {extra} more"]
    return problems


def kubernetes_object_problems(document: dict[str, Any], version: str) -> list[str] | None:
    """Schema problems of one object (empty list: valid), or ``None``: no bundled schema."""
    validator = _kubernetes_validator(version, document["kind"], document["apiVersion"])
    if validator is None:
        return None
    return _problems(validator, document)


def compose_problems(document: Any) -> list[str]:
    """Problems of one compose document against the compose-spec schema (empty: valid)."""
    return _problems(_compose_validator(), document)


# --- YAML --------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe loading with duplicate keys as errors (like kubeconform ``-strict``, kubectl and
    Compose), timestamps kept as strings and a bare ``=`` read as a string."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


def _construct_plain_string(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _construct_bool(loader: _Loader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("y", "yes", "true", "on")  # type: ignore[arg-type]


_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
# PyYAML's YAML 1.1 int and float without the base-60 forms (``1:30``), which neither
# Kubernetes' YAML reader (go-yaml v2) nor Compose's (go-yaml v3) has.
_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
# Kubernetes (sigs.k8s.io/yaml, go-yaml v2) reads y/Y/n/N as booleans too: an unquoted
# ``value: Y`` in an env var is a bool there and fails the schema, although PyYAML says "Y".
_GO_YAML_V2_BOOL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
)
# Compose (go-yaml v3) follows YAML 1.2: only true/false are booleans (``restart: no`` is "no").
_YAML_12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _loader(name: str, booleans: re.Pattern[str]) -> type[_Loader]:
    cls: type[_Loader] = type(name, (_Loader,), {})
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver(_BOOL_TAG, booleans, list("yYnNtTfFoO"))
    cls.add_implicit_resolver(_INT_TAG, _INT, list("-+0123456789"))
    cls.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))
    cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    cls.add_constructor("tag:yaml.org,2002:timestamp", _construct_plain_string)
    cls.add_constructor("tag:yaml.org,2002:value", _construct_plain_string)
    cls.add_constructor(_BOOL_TAG, _construct_bool)
    return cls


_KubernetesLoader = _loader("_KubernetesLoader", _GO_YAML_V2_BOOL)
_ComposeLoader = _loader("_ComposeLoader", _YAML_12_BOOL)


def _jsonable(value: Any) -> Any:
    """What a YAML-to-JSON conversion gives: string keys, no bytes."""
    if isinstance(value, dict):
        return {_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


def load_documents(text: str, *, compose: bool = False) -> list[Any]:
    """Every non-empty document of a YAML stream (raises ``yaml.YAMLError``), read as
    Kubernetes reads YAML, or with ``compose`` as Compose does."""
    loader = _ComposeLoader if compose else _KubernetesLoader
    return [_jsonable(doc) for doc in yaml.load_all(text, Loader=loader) if doc is not None]


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"invalid YAML: {where}{problem}"


# --- Reports -----------------------------------------------------------------------------------


@dataclass
class FileReport:
    """The outcome for one file (or a kustomize build)."""

    path: Path
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    skipped_objects: list[dict[str, Any]] = field(default_factory=list)
    is_kubernetes: bool = False
    built_stream: str | None = None

    @property
    def status(self) -> str:
        if self.failures:
            return "FAIL"
        if self.skipped_kinds:
            return "skipped"
        return "ok"

    def render(self) -> str:
        notes = ", ".join(self.notes)
        if self.failures:
            first, *rest = self.failures
            lines = [f"{self.path}: FAIL: {first}", *(f"  {line}" for line in rest)]
        elif self.skipped_kinds:
            kinds = ", ".join(sorted(set(self.skipped_kinds)))
            extra = f"; ok: {notes}" if notes else ""
            lines = [f"{self.path}: skipped (no schema for {kinds}){extra}"]
        else:
            lines = [f"{self.path}: ok" + (f" ({notes})" if notes else "")]
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)


def _label(document: dict[str, Any]) -> str:
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{document['kind']}/{name}" if isinstance(name, str) else str(document["kind"])


def _check_kubernetes_documents(
    report: FileReport, documents: list[Any], version: str, prefix: str = ""
) -> None:
    for index, document in enumerate(documents, start=1):
        where = f"{prefix}document {index}" if len(documents) > 1 or prefix else ""
        if not isinstance(document, dict):
            report.failures.append(
                f"{where + ': ' if where else ''}not a mapping (a Kubernetes object or compose file)"
            )
            continue
        api_version, kind = document.get("apiVersion"), document.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version:
            if "services" in document and api_version is None and kind is None:
                report.failures.append(
                    f"{where + ': ' if where else ''}a compose document inside a multi-document "
                    "stream; a compose file holds one document"
                )
            elif api_version is None and kind is None:
                report.failures.append(
                    f"{where + ': ' if where else ''}neither a Kubernetes object "
                    "(apiVersion, kind) nor a compose file (services)"
                )
            else:
                report.failures.append(
                    f"{where + ': ' if where else ''}a Kubernetes object needs string apiVersion "
                    f"and kind (got apiVersion={api_version!r}, kind={kind!r})"
                )
            continue
        report.is_kubernetes = True
        label = f"{prefix}{_label(document)}"
        try:
            problems = kubernetes_object_problems(document, version)
        except MissingExtra:
            raise  # one message for the run, not one per object
        except Exception as exc:  # a broken schema or hostile input must not become a traceback
            report.failures.append(f"{label}: could not be validated: {exc}")
            continue
        if problems is None and api_version.rpartition("/")[0] in builtin_api_groups(version):
            report.failures.append(
                f"{label}: Kubernetes {version} has no {kind} in {api_version} "
                "(a removed or misspelled API version or kind)"
            )
        elif problems is None:
            report.skipped_kinds.append(f"{kind} ({api_version})")
            report.skipped_objects.append(document)
        elif problems:
            report.failures.extend(f"{label}: {problem}" for problem in problems)
        else:
            report.objects.append(document)


def is_compose_name(path: Path) -> bool:
    return bool(_COMPOSE_NAME.match(path.name))


def _is_compose_document(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and "services" in document
        and "apiVersion" not in document
        and "kind" not in document
    )


def _check_compose(report: FileReport, documents: list[Any]) -> None:
    if len(documents) != 1:
        report.failures.append(
            f"a compose file holds exactly one YAML document, found {len(documents)}"
        )
        return
    try:
        problems = compose_problems(documents[0])
    except Exception as exc:  # a broken schema or hostile input must not become a traceback
        report.failures.append(f"could not be validated: {exc}")
        return
    report.failures.extend(problems)
    report.notes.append("compose-spec")


def _read(path: Path, report: FileReport, *, compose: bool = False) -> list[Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        report.failures.append(f"cannot read: not UTF-8 text ({exc.reason})")
        return None
    except OSError as exc:
        report.failures.append(f"cannot read: {exc.strerror or exc}")
        return None
    try:
        return load_documents(text, compose=compose)
    except yaml.YAMLError as exc:
        report.failures.append(_yaml_error(exc))
    except RecursionError:
        report.failures.append("invalid YAML: nested too deeply")
    return None


def check_file(path: Path, version: str) -> FileReport:
    """Validate one YAML file (not a kustomization) in-process."""
    report = FileReport(path)
    compose = is_compose_name(path)
    documents = _read(path, report, compose=compose)
    if documents is None:
        return report
    if not documents:
        report.failures.append("no YAML documents (empty file)")
        return report
    if not compose and len(documents) == 1 and _is_compose_document(documents[0]):
        compose = True
        documents = _read(path, report, compose=True)  # again, as Compose reads YAML
        if documents is None:
            return report
    if compose:
        _check_compose(report, documents)
        return report
    _check_kubernetes_documents(report, documents, version)
    if report.is_kubernetes and not report.failures:
        labels = [_label(document) for document in report.objects]
        if 0 < len(labels) <= 3:
            report.notes.append(", ".join(labels))
        elif labels:
            report.notes.append(f"{len(labels)} objects")
    return report


def compose_file_problems(path: Path) -> list[str]:
    """Why a compose file fails the compose-spec schema (or cannot be read); empty: valid."""
    report = FileReport(path)
    documents = _read(path, report, compose=True)
    if documents is not None:
        _check_compose(report, documents)
    return report.failures


# --- kustomize -----------------------------------------------------------------------------------


def find_kustomize() -> list[str] | None:
    """The command that builds a kustomization: ``kubectl kustomize`` or ``kustomize build``."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize")
    if kustomize:
        return [kustomize, "build"]
    return None


@dataclass(frozen=True)
class KustomizeBuild:
    ok: bool
    output: str
    stderr: str
    command: tuple[str, ...]


def kustomize_build(directory: Path, command: Sequence[str] | None = None) -> KustomizeBuild:
    """Build a kustomization directory (``ok`` False with stderr when it fails)."""
    tool = list(command) if command is not None else find_kustomize()
    if tool is None:
        return KustomizeBuild(False, "", "neither kubectl nor kustomize is on PATH", ())
    argv = (*tool, str(directory))
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=KUSTOMIZE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return KustomizeBuild(False, "", str(exc), argv)
    return KustomizeBuild(done.returncode == 0, done.stdout, done.stderr.strip(), argv)


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "git@"))


def check_kustomization(path: Path, version: str, builder: list[str] | None) -> FileReport:
    report = FileReport(path)
    documents = _read(path, report)
    if documents is None:
        return report
    if len(documents) != 1 or not isinstance(documents[0], dict):
        report.failures.append("a kustomization holds exactly one YAML mapping")
        return report
    if builder is None:
        resources = documents[0].get("resources") or []
        if not isinstance(resources, list):
            report.failures.append("resources: must be a list")
            return report
        for entry in resources:
            if not isinstance(entry, str):
                report.failures.append(f"resources: entry {entry!r} is not a string")
            elif not _is_remote(entry) and not (path.parent / entry).exists():
                report.failures.append(f"resources: {entry!r} does not exist")
        if not report.failures:
            report.notes.append(
                f"{len(resources)} resources present; not built: no kubectl or kustomize on PATH"
            )
        return report
    build = kustomize_build(path.parent, builder)
    tool = f"{Path(builder[0]).name} {builder[1]}"
    if not build.ok:
        report.failures.append(f"{tool} failed: {build.stderr or 'no output'}")
        return report
    report.warnings.extend(line for line in build.stderr.splitlines() if line.strip())
    try:
        built = load_documents(build.output)
    except yaml.YAMLError as exc:
        report.failures.append(f"{tool} output: {_yaml_error(exc)}")
        return report
    _check_kubernetes_documents(report, built, version, prefix="built ")
    if not built:
        report.failures.append(f"{tool} built no objects")
    if not report.failures:
        report.built_stream = build.output
        report.notes.append(f"{tool}: {len(report.objects)} objects valid")
    return report


# --- kubeconform ---------------------------------------------------------------------------------


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
    """Serve the version's ``_definitions.json`` for its ``$id`` URL from kubeconform's cache."""
    name = hashlib.sha256(DEFINITIONS_URL.encode()).hexdigest()
    shutil.copyfile(_schema_directory(version) / "_definitions.json", cache / name)


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


def _gvk(document: dict[str, Any]) -> str:
    return f"{document['apiVersion']}/{document['kind']}"


def _run_kubeconform_on_reports(binary: str, reports: list[FileReport], version: str) -> str:
    """Second opinion on every Kubernetes file and built stream; failures land in the reports.
    Returns the summary line."""
    targets: dict[str, FileReport] = {}
    expected_valid = expected_skipped = 0
    skip: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="ignition-stack-built-") as scratch:
        paths: list[Path] = []
        for index, report in enumerate(reports):
            if report.built_stream is not None:
                path = Path(scratch) / f"built-{index}.yaml"
                path.write_text(report.built_stream, encoding="utf-8")
            elif report.is_kubernetes and not report.failures:
                path = report.path
            else:
                continue
            paths.append(path)
            targets[str(path)] = report
            skip.update(_gvk(document) for document in report.skipped_objects)
            expected_skipped += len(report.skipped_objects)
            expected_valid += len(report.objects)
        if not paths:
            return "kubeconform: no Kubernetes objects to check"
        # In batches, so a stack of thousands of gateways stays under the argument-size limit.
        runs = [
            run_kubeconform(
                paths[start : start + KUBECONFORM_BATCH], version, kubeconform=binary, skip=skip
            )
            for start in range(0, len(paths), KUBECONFORM_BATCH)
        ]
    name = f"kubeconform {kubeconform_version(binary)} (-kubernetes-version {version}.0)"
    error = next((run.error for run in runs if run.error), None)
    if error:
        for report in targets.values():
            report.failures.append(f"kubeconform: {error}")
        return f"{name}: FAIL: {error}"
    summary = {key: sum(run.summary[key] for run in runs) for key in runs[0].summary}
    for resource in (resource for run in runs for resource in run.resources):
        status = resource.get("status")
        owner = targets.get(str(resource.get("filename")))
        if status in ("statusInvalid", "statusError") and owner is not None:
            label = f"{resource.get('kind') or '?'}/{resource.get('name') or '?'}"
            owner.failures.append(f"kubeconform: {label}: {_kubeconform_message(resource)}")
    counts = (
        f"{summary['valid']} valid, {summary['invalid']} invalid, "
        f"{summary['errors']} errors, {summary['skipped']} skipped"
    )
    checked = summary["valid"] + summary["invalid"] + summary["errors"]
    if checked != expected_valid or summary["skipped"] != expected_skipped:
        problem = (
            f"expected {expected_valid} valid and {expected_skipped} skipped resources; "
            "kubeconform did not validate everything"
        )
        for report in targets.values():
            if not report.failures:
                report.failures.append(f"kubeconform: {problem}")
        return f"{name}: FAIL: {counts}; {problem}"
    if summary["invalid"] or summary["errors"]:
        return f"{name}: FAIL: {counts}"
    return f"{name}: {counts}"


# --- The command ------------------------------------------------------------------------------------


def _walk(directory: Path) -> list[Path]:
    found: list[Path] = []
    for root, directories, files in os.walk(directory, followlinks=False):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        found.extend(
            Path(root) / name
            for name in files
            if not name.startswith(".")
            and (name.endswith((".yaml", ".yml")) or name in _KUSTOMIZATION_NAMES)
        )
    return sorted(found)


def validate_command(*, path: Path, kubernetes_version: str | None, strict: bool) -> None:
    version = normalise_kubernetes_version(kubernetes_version)
    if path.is_dir():
        files = _walk(path)
        if not files:
            raise ValidationFailed(f"nothing to validate in {path} (no .yaml or .yml files)")
    elif path.exists():
        files = [path]
    else:
        raise UsageError(f"{path}: no such file or directory")

    builder = find_kustomize() if any(f.name in _KUSTOMIZATION_NAMES for f in files) else None
    reports: list[FileReport] = []
    for file in files:
        if file.name in _KUSTOMIZATION_NAMES:
            reports.append(check_kustomization(file, version, builder))
        else:
            reports.append(check_file(file, version))

    kubeconform_line = ""
    if any(report.is_kubernetes for report in reports):
        kubeconform = find_kubeconform()
        if kubeconform is None:
            kubeconform_line = (
                "kubeconform: not found, second check not run (go install "
                "github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0)"
            )
        else:
            kubeconform_line = _run_kubeconform_on_reports(kubeconform, reports, version)

    for report in reports:
        print(report.render())
    if kubeconform_line:
        print(kubeconform_line)

    failed = sum(1 for report in reports if report.failures)
    skipped = [report for report in reports if report.status == "skipped"]
    skipped_kinds = sorted({kind for report in reports for kind in report.skipped_kinds})
    warned = sum(1 for report in reports if report.warnings)
    ok = len(reports) - failed - len(skipped)
    line = (
        f"{len(reports)} file{'s' if len(reports) != 1 else ''}: {ok} ok, {failed} failed, "
        f"{len(skipped)} skipped"
    )
    if skipped_kinds:
        line += f" (no schema for {', '.join(skipped_kinds)})"
    if warned:
        line += f", {warned} with warnings"
    line += f"; Kubernetes {version}, strict schemas"
    print(line)
    sys.stdout.flush()

    if failed:
        raise ValidationFailed(f"validation failed: {failed} of {len(reports)} files failed")
    if strict and skipped_kinds:
        raise ValidationFailed(
            f"validation failed (--strict): no schema for {', '.join(skipped_kinds)}; "
            "those objects were not validated"
        )
    if strict and warned:
        raise ValidationFailed(f"validation failed (--strict): {warned} files with warnings")
