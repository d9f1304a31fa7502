"""CustomResourceDefinitions given to ``validate --crd FILE|DIR``, as strict JSON schemas.

The conversion follows kubeconform's ``openapi2jsonschema.py``, one schema per served version of
each CRD (``spec.versions[].schema.openAPIV3Schema``, or the older ``spec.validation``):

* ``additionalProperties: false`` wherever a schema lists ``properties`` and does not say
  otherwise, so an unknown or misspelt field is an error; unlike the script, the root too (the
  API server's strict field validation, kubectl's default, refuses unknown fields there as
  well), and not where ``x-kubernetes-preserve-unknown-fields: true`` keeps unknown fields;
* ``x-kubernetes-int-or-string`` becomes "integer or string" (the script does this for
  ``format: int-or-string``), ``nullable: true`` admits ``null``, and the other
  ``x-kubernetes-*`` extensions are dropped;
* ``apiVersion`` and ``kind`` are pinned by ``enum``, and ``metadata`` (a bare ``type: object``
  in a CRD) is checked against Kubernetes' strict ``ObjectMeta`` from the bundled schemas.

The same schemas validate in-process and, written out in the script's layout
(``<group>/<kind>_<version>.json``), through kubeconform's ``-schema-location``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emitter.diagnostics import UsageError
from emitter.targets.kubernetes.validation.schemas import OBJECT_META, registry
from emitter.validation import schema_problems

DRAFT = "https://json-schema.org/draft/2020-12/schema"
LOCATION_TEMPLATE = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
_SUFFIXES = (".yaml", ".yml", ".json")
# What may become a path component of the schema layout: a DNS subdomain group, a kind, a version.
_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_API_VERSION = re.compile(r"^v[0-9][a-z0-9]*$")


def _strict(value: Any) -> Any:
    if isinstance(value, list):
        return [_strict(item) for item in value]
    if not isinstance(value, dict):
        return value
    strict = {
        key: _strict(item) for key, item in value.items() if not key.startswith("x-kubernetes-")
    }
    if value.get("x-kubernetes-int-or-string") and not ({"anyOf", "oneOf"} & strict.keys()):
        strict["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if strict.pop("nullable", False) is True and isinstance(strict.get("type"), str):
        strict["type"] = [strict["type"], "null"]
    preserves = value.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in strict and "additionalProperties" not in strict and not preserves:
        strict["additionalProperties"] = False
    return strict


def strict_schema(group: str, kind: str, version: str, openapi: dict[str, Any]) -> dict[str, Any]:
    """The strict JSON schema of one version of a CRD (see the module docstring)."""
    schema: dict[str, Any] = _strict(copy.deepcopy(openapi))
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "enum": [f"{group}/{version}"]}
    properties["kind"] = {"type": "string", "enum": [kind]}
    properties["metadata"] = {"$ref": OBJECT_META}
    schema.setdefault("additionalProperties", False)
    return {"$schema": DRAFT, **schema}


@dataclass(frozen=True)
class CrdSchema:
    group: str
    kind: str
    version: str
    schema: dict[str, Any]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def schemas_of(crd: dict[str, Any]) -> list[CrdSchema]:
    """The strict schema of every served version of one CRD document ([] when it has none)."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return []
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    if not (isinstance(group, str) and _GROUP.match(group) and isinstance(kind, str)):
        return []
    if not _KIND.match(kind):
        return []
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")
    found = []
    for version in spec.get("versions") or [{"name": spec.get("version")}]:
        name = version.get("name") if isinstance(version, dict) else None
        if not isinstance(name, str) or not _API_VERSION.match(name):
            continue
        if not version.get("served", True):
            continue
        openapi = (version.get("schema") or {}).get("openAPIV3Schema") or shared
        if isinstance(openapi, dict):
            found.append(CrdSchema(group, kind, name, strict_schema(group, kind, name, openapi)))
    return found


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"--crd {path}: no such file or directory")
    found: list[Path] = []
    for root, directories, names in os.walk(path):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        found.extend(
            Path(root) / name
            for name in names
            if not name.startswith(".") and name.endswith(_SUFFIXES)
        )
    return sorted(found)


def _documents(path: Path) -> list[Any]:
    # libyaml when PyYAML has it: cert-manager's CRDs alone are a megabyte of YAML.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [
            doc for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader) if doc
        ]
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"--crd {path}: cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"--crd {path}: not YAML: {exc}") from exc


class CrdSchemas:
    """The schemas of every CRD found in the ``--crd`` paths, by (apiVersion, kind)."""

    def __init__(self, schemas: Iterable[CrdSchema], sources: Sequence[Path] = ()) -> None:
        self.by_kind: dict[tuple[str, str], CrdSchema] = {}
        for schema in schemas:
            key = (schema.api_version, schema.kind)
            if key in self.by_kind and self.by_kind[key].schema != schema.schema:
                raise UsageError(
                    f"--crd: two different definitions of {schema.kind} ({schema.api_version})"
                )
            self.by_kind[key] = schema
        self.sources = tuple(sources)
        self._validators: dict[tuple[str, str, str], Any] = {}

    def __bool__(self) -> bool:
        return bool(self.by_kind)

    def kinds(self) -> list[str]:
        return sorted({f"{schema.kind}.{schema.group}" for schema in self.by_kind.values()})

    def problems(self, document: dict[str, Any], version: str) -> list[str] | None:
        """Schema problems of one custom resource (empty: valid), ``None``: no such CRD.
        ``version`` (``X.Y``) picks the ObjectMeta schema."""
        key = (document["apiVersion"], document["kind"])
        found = self.by_kind.get(key)
        if found is None:
            return None
        cached = (version, *key)
        if cached not in self._validators:
            import jsonschema

            cls = jsonschema.validators.validator_for(found.schema)
            cls.check_schema(found.schema)
            self._validators[cached] = cls(found.schema, registry=registry(version))
        return schema_problems(self._validators[cached], document)

    def write(self, directory: Path) -> str:
        """Write the schemas in kubeconform's layout; returns the ``-schema-location``."""
        for schema in self.by_kind.values():
            path = directory / schema.group / f"{schema.kind.lower()}_{schema.version}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(schema.schema, indent=1), encoding="utf-8")
        return f"{directory}/{LOCATION_TEMPLATE}"


def load_crds(paths: Sequence[Path]) -> CrdSchemas:
    """Every CustomResourceDefinition in ``paths`` (files, or directories walked for
    .yaml/.yml/.json); other documents are ignored, so a whole install bundle may be given.
    A path that is missing, unreadable or holds no CRD is a usage error (exit 2)."""
    found: list[CrdSchema] = []
    for path in paths:
        before = len(found)
        for file in _files(path):
            for document in _documents(file):
                if (
                    isinstance(document, dict)
                    and document.get("kind") == "CustomResourceDefinition"
                ):
                    found.extend(schemas_of(document))
        if len(found) == before:
            raise UsageError(
                f"--crd {path}: no CustomResourceDefinition with a schema found "
                "(give the CRD manifests, e.g. cert-manager's deploy/crds or cert-manager.crds.yaml)"
            )
    return CrdSchemas(found, paths)
