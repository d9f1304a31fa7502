"""The strict Kubernetes JSON schemas bundled in ``kubernetes-validate``
(``vX.Y.0-local-strict``: unknown fields are errors), one directory per Kubernetes version."""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from emitter.diagnostics import EmitterError, UsageError
from emitter.targets.kubernetes.extras import require
from emitter.validation import schema_problems

# The bundled schemas ``$ref`` ``/api/_definitions.json`` against their ``$id``
# (https://kubernetes.io/api/...); it is served from the bundled copy, never fetched.
DEFINITIONS_URL = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = f"{DEFINITIONS_URL}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
_SCHEMA_DIRECTORY = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")
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


def schema_directory(version: str) -> Path:
    return kubernetes_schema_root() / f"v{version}.0-local-strict"


def schema_file_name(kind: str, api_version: str) -> str:
    """``StatefulSet`` + ``apps/v1`` -> ``statefulset-apps-v1.json``; ``rbac.authorization.k8s.io/v1``
    -> ``...-rbac-v1.json``; core ``v1`` -> ``service-v1.json`` (kubernetes-validate's and
    kubeconform's ``{{.ResourceKind}}{{.KindSuffix}}``)."""
    group, _, version = api_version.rpartition("/")
    suffix = f"{group.split('.')[0]}-{version}" if group else version
    return f"{kind.lower()}-{suffix.lower()}.json"


@functools.cache
def definitions(version: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (schema_directory(version) / "_definitions.json").read_bytes()
    )
    return loaded


@functools.cache
def registry(version: str) -> Any:
    """A ``referencing`` registry serving the version's ``_definitions.json`` at its URL."""
    from referencing import Registry, Resource

    return Registry().with_resource(DEFINITIONS_URL, Resource.from_contents(definitions(version)))


@functools.cache
def builtin_api_groups(version: str) -> frozenset[str]:
    """The API groups Kubernetes X.Y itself serves (``""`` is core), from the schemas'
    ``x-kubernetes-group-version-kind``. A kind of these groups without a schema does not exist
    in that version (e.g. ``policy/v1beta1`` PodDisruptionBudget on 1.25+): a failure, not a
    custom resource to skip."""
    groups: set[str] = set()
    for definition in definitions(version).get("$defs", {}).values():
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
    path = schema_directory(version) / name
    if not path.is_file():
        return None
    schema = json.loads(path.read_bytes())
    return jsonschema.Draft202012Validator(schema, registry=registry(version))


def kubernetes_object_problems(document: dict[str, Any], version: str) -> list[str] | None:
    """Schema problems of one object (empty list: valid), or ``None``: no bundled schema."""
    validator = _kubernetes_validator(version, document["kind"], document["apiVersion"])
    if validator is None:
        return None
    return schema_problems(validator, document)
