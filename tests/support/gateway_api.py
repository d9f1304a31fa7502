"""The Gateway API's own CRD schemas (standard channel), for validating the HTTPRoutes the
Kubernetes target emits with ``web:`` and ``kubernetes.web.route: httproute``.

Pinned and fetched like cert-manager's (``support/cert_manager.py``): the
``sigs.k8s.io/gateway-api`` Go module at VERSION, checked against its go.sum hash, through the
Go module proxy; ``config/crd/standard/*.yaml`` copied once into
``.tools/gateway-api/<version>/crds`` (``tests/tools/install.sh`` may put them there
beforehand), and converted into strict JSON schemas the same way (cert_manager's
``strict_schema``), laid out for kubeconform's ``-schema-location``.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import cert_manager
from .validators import missing_tool

VERSION = "v1.3.0"
MODULE = "sigs.k8s.io/gateway-api"
# go.sum's h1: hash of the module zip at VERSION: a different download is refused.
MODULE_SUM = "h1:q6okN+/UKDATola4JY7zXzx40WO4VISk7i9DIfOvr9M="
GROUP = "gateway.networking.k8s.io"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tools" / "gateway-api" / VERSION
CRDS = CACHE / "crds"
DOWNLOAD_TIMEOUT = 300


def _download() -> None:
    go = shutil.which("go")
    if go is None:
        missing_tool(f"go is not installed; it downloads the Gateway API {VERSION} CRDs")
    with tempfile.TemporaryDirectory(prefix="ignition-stack-gateway-api-") as scratch:
        run = subprocess.run(
            [str(go), "mod", "download", "-json", f"{MODULE}@{VERSION}"],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT,
            check=False,
        )
        try:
            info = json.loads(run.stdout)
        except ValueError:
            info = {}
        if run.returncode != 0 or "Dir" not in info:
            missing_tool(
                f"cannot download {MODULE}@{VERSION} from the Go module proxy: "
                f"{(info.get('Error') or run.stderr or run.stdout).strip()[:500]}"
            )
        if info.get("Sum") != MODULE_SUM:
            pytest.fail(
                f"{MODULE}@{VERSION} has hash {info.get('Sum')}, not the pinned {MODULE_SUM}",
                pytrace=False,
            )
        source = Path(info["Dir"]) / "config" / "crd" / "standard"
        CACHE.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".crds-", dir=CACHE))
        staged.chmod(0o755)
        try:
            for path in sorted(source.glob("*.yaml")):
                shutil.copyfile(path, staged / path.name)
            try:
                staged.rename(CRDS)
            except OSError:
                if not CRDS.is_dir():  # another session won the race: use its copy
                    raise
        finally:
            shutil.rmtree(staged, ignore_errors=True)


def crd_documents() -> list[dict[str, Any]]:
    """The pinned Gateway API CRDs (downloaded on first use)."""
    if not CRDS.is_dir():
        _download()
    documents = []
    for path in sorted(CRDS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                documents.append(document)
    if not any(d["spec"]["names"]["kind"] == "HTTPRoute" for d in documents):
        pytest.fail(f"no HTTPRoute CustomResourceDefinition in {CRDS}; delete it to download again")
    return documents


@functools.cache
def schema_directory() -> Path:
    """The strict schemas of every served version of every Gateway API CRD."""
    directory = Path(tempfile.mkdtemp(prefix="ignition-stack-gateway-api-schemas-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for crd in crd_documents():
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            path = cert_manager.schema_file(
                directory, crd["spec"]["group"], crd["spec"]["names"]["kind"], version["name"]
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            schema = cert_manager.strict_schema(crd, version)
            path.write_text(json.dumps(schema, indent=1), encoding="utf-8")
    return directory


def schema_location() -> str:
    """The extra ``-schema-location`` for kubeconform."""
    return f"{schema_directory()}/{cert_manager.LOCATION_TEMPLATE}"


def is_gateway_api(document: dict[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).startswith(GROUP + "/")


@functools.cache
def _validator(kind: str, api_version: str, kubernetes_version: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    from emitter.targets.kubernetes.validation import schemas

    group, _, version = api_version.rpartition("/")
    path = cert_manager.schema_file(schema_directory(), group, kind, version)
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


def problems(document: dict[str, Any], kubernetes_version: str) -> list[str] | None:
    """Schema problems of one Gateway API object (empty: valid), None: no such CRD kind."""
    from emitter.targets.kubernetes.validation import schemas

    version = schemas.normalise_kubernetes_version(kubernetes_version)
    validator = _validator(document["kind"], document["apiVersion"], version)
    if validator is None:
        return None
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def validate_gateway_api_objects(
    documents: Iterable[dict[str, Any]], kubernetes_version: str
) -> int:
    """Validate every Gateway API object in ``documents`` in-process; fails the test on any
    problem or unknown kind. Returns how many were validated."""
    found: list[str] = []
    validated = 0
    for document in documents:
        if not is_gateway_api(document):
            continue
        label = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        result = problems(document, kubernetes_version)
        if result is None:
            found.append(f"{label}: Gateway API {VERSION} has no CRD for {document['apiVersion']}")
            continue
        validated += 1
        found.extend(f"{label}: {problem}" for problem in result)
    if found:
        pytest.fail(f"Gateway API {VERSION} CRDs:\n" + "\n".join(found), pytrace=False)
    return validated
