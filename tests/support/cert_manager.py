"""cert-manager's own CRD schemas, for validating the Certificates and Issuers the Kubernetes
target emits with ``transport: ssl`` (kubernetes-validate bundles no CRD schemas).

The CRDs come from the cert-manager Go module, pinned by version and go.sum hash, through the
Go module proxy (``go mod download``; the go command also checks it against sum.golang.org).
They are downloaded once into ``.tools/cert-manager/<version>/crds`` (``tests/tools/install.sh``
may put them there beforehand) and converted, once per test session, into strict JSON schemas:

* ``additionalProperties: false`` wherever a schema lists ``properties`` (as kubeconform's own
  ``openapi2jsonschema.py`` does), so an unknown or misspelt field is an error;
* every ``x-kubernetes-*`` extension dropped, ``x-kubernetes-preserve-unknown-fields`` included:
  nothing the ignition-stack emits relies on unknown fields being kept;
* ``apiVersion`` and ``kind`` pinned by ``enum``, and ``metadata`` (a bare ``type: object`` in a
  CRD) replaced by Kubernetes' strict ``ObjectMeta`` from the schemas kubernetes-validate bundles,
  referenced the way those schemas do, so labels and annotations are checked too.

The files are laid out for kubeconform's
``-schema-location '<dir>/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'``
(``cert-manager.io/certificate_v1.json``); the same schemas validate in-process with jsonschema.
"""

from __future__ import annotations

import atexit
import copy
import functools
import json
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.targets.kubernetes.validation import schemas

from .pinned_crds import PinnedCrds

PINNED = PinnedCrds(
    label="cert-manager",
    name="cert-manager",
    module="github.com/cert-manager/cert-manager",
    version="v1.16.5",
    module_sum="h1:XIhKoS4zQV9RHXAkqQW0NLivvoxAnWzbPsy9BG6cPVc=",
    group="cert-manager.io",
    source="deploy/crds",
    pattern="crd-*.yaml",
)
VERSION, MODULE, GROUP, CRDS = PINNED.version, PINNED.module, PINNED.group, PINNED.crds
DRAFT = "https://json-schema.org/draft/2020-12/schema"
OBJECT_META = f"{schemas.DEFINITIONS_URL}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LOCATION_TEMPLATE = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


def crd_documents() -> list[dict[str, Any]]:
    """The pinned cert-manager CRDs (downloaded on first use)."""
    documents = []
    for path in sorted(PINNED.directory().glob(PINNED.pattern)):
        # The files are Helm templates, but every template directive sits in a comment or a
        # quoted label value: they load as plain YAML.
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
            documents.append(document)
    if not documents:
        pytest.fail(f"no CustomResourceDefinition in {CRDS}; delete it to download again")
    return documents


def _strict(value: Any) -> Any:
    if isinstance(value, list):
        return [_strict(item) for item in value]
    if not isinstance(value, dict):
        return value
    strict = {
        key: _strict(item) for key, item in value.items() if not key.startswith("x-kubernetes-")
    }
    if "properties" in strict and "additionalProperties" not in strict:
        strict["additionalProperties"] = False
    return strict


def strict_schema(crd: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """The strict JSON schema of one version of a CRD (see the module docstring)."""
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    schema: dict[str, Any] = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    properties = schema["properties"]
    properties["apiVersion"] = {**properties["apiVersion"], "enum": [f"{group}/{version['name']}"]}
    properties["kind"] = {**properties["kind"], "enum": [kind]}
    properties["metadata"] = {"$ref": OBJECT_META}
    return {"$schema": DRAFT, **schema}


def schema_file(directory: Path, group: str, kind: str, api_version: str) -> Path:
    """Where kubeconform's LOCATION_TEMPLATE looks (it lower-cases the kind)."""
    return directory / group / f"{kind.lower()}_{api_version}.json"


@functools.cache
def schema_directory() -> Path:
    """The strict schemas of every served version of every cert-manager CRD, written once per
    test session into a fresh directory."""
    directory = Path(tempfile.mkdtemp(prefix="ignition-stack-cert-manager-schemas-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for crd in crd_documents():
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            path = schema_file(
                directory, crd["spec"]["group"], crd["spec"]["names"]["kind"], version["name"]
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(strict_schema(crd, version), indent=1), encoding="utf-8")
    return directory


def schema_location() -> str:
    """The extra ``-schema-location`` for kubeconform."""
    return f"{schema_directory()}/{LOCATION_TEMPLATE}"


@functools.cache
def _validator(kind: str, api_version: str, kubernetes_version: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    group, _, version = api_version.rpartition("/")
    path = schema_file(schema_directory(), group, kind, version)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    definitions = schemas.kubernetes_schema_root() / (
        f"v{kubernetes_version}.0-local-strict/_definitions.json"
    )
    registry = Registry().with_resource(
        schemas.DEFINITIONS_URL,
        Resource.from_contents(json.loads(definitions.read_text(encoding="utf-8"))),
    )
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, registry=registry)


def is_cert_manager(document: dict[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).startswith(GROUP + "/")


def problems(document: dict[str, Any], kubernetes_version: str) -> list[str] | None:
    """Schema problems of one cert-manager object (empty: valid), None: no such CRD kind.
    ``kubernetes_version`` (``1.29``, ``1.29.0``, ``v1.29``) picks the ObjectMeta schema."""
    version = schemas.normalise_kubernetes_version(kubernetes_version)
    validator = _validator(document["kind"], document["apiVersion"], version)
    if validator is None:
        return None
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def validate_cert_manager_objects(
    documents: Iterable[dict[str, Any]], kubernetes_version: str
) -> int:
    """Validate every cert-manager object in ``documents`` in-process (others are ignored);
    fails the test on any problem or unknown kind. Returns how many were validated."""
    version = schemas.normalise_kubernetes_version(kubernetes_version)
    found: list[str] = []
    validated = 0
    for document in documents:
        if not is_cert_manager(document):
            continue
        label = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        result = problems(document, version)
        if result is None:
            found.append(f"{label}: cert-manager {VERSION} has no CRD for {document['apiVersion']}")
            continue
        validated += 1
        found.extend(f"{label}: {problem}" for problem in result)
    if found:
        pytest.fail(
            f"cert-manager {VERSION} CRDs, Kubernetes {version}:\n" + "\n".join(found),
            pytrace=False,
        )
    return validated
