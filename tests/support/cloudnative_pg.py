"""CloudNativePG's own CRD schemas, for validating the database ``Cluster`` the Kubernetes
target emits (kubernetes-validate bundles no CRD schemas).

The CRDs come from the CloudNativePG Go module, pinned by version and go.sum hash, through the
Go module proxy (``go mod download``), like cert-manager's (``cert_manager.py``): downloaded
once into ``.tools/cloudnative-pg/<version>/crds`` (``tests/tools/install.sh`` may put them
there beforehand; its ``config/crd/bases``). They are turned into strict JSON schemas by the
tool's own CRD path, ``validate --crd`` (``emitter.targets.kubernetes.validation.crds``), and
checked in-process with jsonschema or, written out in kubeconform's layout, by kubeconform.
Source of the version and hash: docs/research/around-gateways.md §2.
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

from emitter.targets.kubernetes.validation import schemas
from emitter.targets.kubernetes.validation.crds import CrdSchemas, load_crds

from .validators import missing_tool

VERSION = "v1.27.0"
MODULE = "github.com/cloudnative-pg/cloudnative-pg"
# go.sum's h1: hash of the module zip at VERSION: a different download is refused.
MODULE_SUM = "h1:mp0zlYO4vKAJmQdArWORWKr1lmB4Hj8JeBQGX5RBnpg="
GROUP = "postgresql.cnpg.io"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tools" / "cloudnative-pg" / VERSION
CRDS = CACHE / "crds"
DOWNLOAD_TIMEOUT = 300


def _download() -> None:
    """``go mod download`` the pinned module and copy its ``config/crd/bases`` into ``CRDS``."""
    go = shutil.which("go")
    if go is None:
        missing_tool(f"go is not installed; it downloads CloudNativePG {VERSION}'s CRDs")
    with tempfile.TemporaryDirectory(prefix="ignition-stack-cloudnative-pg-") as scratch:
        run = subprocess.run(
            [go, "mod", "download", "-json", f"{MODULE}@{VERSION}"],
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
        source = Path(info["Dir"]) / "config" / "crd" / "bases"
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


@functools.cache
def crd_schemas() -> CrdSchemas:
    """The pinned CRDs as strict schemas (downloaded on first use)."""
    if not CRDS.is_dir():
        _download()
    return load_crds([CRDS])


@functools.cache
def schema_location() -> str:
    """The extra ``-schema-location`` for kubeconform."""
    directory = Path(tempfile.mkdtemp(prefix="ignition-stack-cloudnative-pg-schemas-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return crd_schemas().write(directory)


def is_cloudnative_pg(document: dict[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).startswith(GROUP + "/")


def problems(document: dict[str, Any], kubernetes_version: str) -> list[str] | None:
    """Schema problems of one CloudNativePG object (empty: valid), None: no such CRD kind."""
    version = schemas.normalise_kubernetes_version(kubernetes_version)
    return crd_schemas().problems(document, version)


def validate_objects(documents: Iterable[dict[str, Any]], kubernetes_version: str) -> int:
    """Validate every CloudNativePG object in ``documents`` in-process (others are ignored);
    fails the test on any problem or unknown kind. Returns how many were validated."""
    found: list[str] = []
    validated = 0
    for document in documents:
        if not is_cloudnative_pg(document):
            continue
        label = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        result = problems(document, kubernetes_version)
        if result is None:
            found.append(f"{label}: CloudNativePG {VERSION} has no CRD for it")
            continue
        validated += 1
        found.extend(f"{label}: {problem}" for problem in result)
    if found:
        pytest.fail(f"CloudNativePG {VERSION} CRDs:\n" + "\n".join(found), pytrace=False)
    return validated
