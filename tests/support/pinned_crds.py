"""A third-party project's CRDs, pinned by Go module version and go.sum hash, for validating the
custom resources the Kubernetes target emits (kubernetes-validate bundles no CRD schemas).

One record per project (``cert_manager.py``, ``gateway_api.py``, ``cloudnative_pg.py``): the
module is fetched through the Go module proxy (``go mod download``; the go command also checks
it against sum.golang.org), its CRD folder copied once into ``.tools/<name>/<version>/crds``
(``tests/tools/install.sh`` may put it there beforehand), and a different download refused.
Gateway API's and CloudNativePG's are turned into strict schemas by the tool's own CRD path,
``validate --crd`` (``emitter.targets.kubernetes.validation.crds``); cert-manager's module keeps
its own conversion for its Helm-templated files.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter.targets.kubernetes.validation import schemas
from emitter.targets.kubernetes.validation.crds import CrdSchemas, load_crds

from .validators import missing_tool

ROOT = Path(__file__).resolve().parents[2]
DOWNLOAD_TIMEOUT = 300


@dataclass(frozen=True)
class PinnedCrds:
    label: str  # how messages name the project: "CloudNativePG"
    name: str  # its folder under .tools/
    module: str
    version: str
    module_sum: str  # go.sum's h1: hash of the module zip at ``version``
    group: str  # the API group of its custom resources
    source: str  # the CRD folder inside the module
    pattern: str = "*.yaml"

    @property
    def crds(self) -> Path:
        return ROOT / ".tools" / self.name / self.version / "crds"

    def directory(self) -> Path:
        """The CRD folder, downloaded on first use."""
        if not self.crds.is_dir():
            self._copy(self._module_dir())
        return self.crds

    def _module_dir(self) -> Path:
        go = shutil.which("go")
        if go is None:
            missing_tool(f"go is not installed; it downloads {self.label} {self.version}'s CRDs")
        with tempfile.TemporaryDirectory(prefix=f"ignition-stack-{self.name}-") as scratch:
            # Outside any module, so no go.mod is read or written.
            run = subprocess.run(
                [go, "mod", "download", "-json", f"{self.module}@{self.version}"],
                cwd=scratch, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, check=False,
            )  # fmt: skip
        try:
            info = json.loads(run.stdout)
        except ValueError:
            info = {}
        if run.returncode != 0 or "Dir" not in info:
            missing_tool(
                f"cannot download {self.module}@{self.version} from the Go module proxy: "
                f"{(info.get('Error') or run.stderr or run.stdout).strip()[:500]}"
            )
        if info.get("Sum") != self.module_sum:
            pytest.fail(
                f"{self.module}@{self.version} has hash {info.get('Sum')}, "
                f"not the pinned {self.module_sum}",
                pytrace=False,
            )
        return Path(info["Dir"]) / self.source

    def _copy(self, source: Path) -> None:
        cache = self.crds.parent
        cache.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".crds-", dir=cache))
        staged.chmod(0o755)
        try:
            for path in sorted(source.glob(self.pattern)):
                shutil.copyfile(path, staged / path.name)
            try:
                staged.rename(self.crds)
            except OSError:
                if not self.crds.is_dir():  # another session won the race: use its copy
                    raise
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def crd_documents(self) -> list[dict[str, Any]]:
        """The CustomResourceDefinitions, as objects to apply to an API server."""
        documents = [
            document
            for path in sorted(self.directory().glob(self.pattern))
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition"
        ]
        if not documents:
            pytest.fail(f"no CustomResourceDefinition in {self.crds}; delete it to download again")
        return documents

    def crd_schemas(self) -> CrdSchemas:
        """The CRDs as strict schemas, by the tool's own ``validate --crd`` path."""
        return _schemas(self)

    def schema_location(self) -> str:
        """The extra ``-schema-location`` for kubeconform."""
        return _location(self)

    def owns(self, document: dict[str, Any]) -> bool:
        return str(document.get("apiVersion", "")).startswith(self.group + "/")

    def problems(self, document: dict[str, Any], kubernetes_version: str) -> list[str] | None:
        """Schema problems of one object (empty: valid), None: no such CRD kind."""
        version = schemas.normalise_kubernetes_version(kubernetes_version)
        return self.crd_schemas().problems(document, version)

    def validate_objects(self, documents: Iterable[dict[str, Any]], kubernetes_version: str) -> int:
        """Validate every object of this project in ``documents`` in-process (others are
        ignored); fails the test on any problem or unknown kind. Returns how many were checked."""
        found: list[str] = []
        validated = 0
        for document in filter(self.owns, documents):
            label = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
            result = self.problems(document, kubernetes_version)
            if result is None:
                found.append(f"{label}: {self.label} {self.version} has no CRD for it")
                continue
            validated += 1
            found.extend(f"{label}: {problem}" for problem in result)
        if found:
            pytest.fail(f"{self.label} {self.version} CRDs:\n" + "\n".join(found), pytrace=False)
        return validated


@functools.cache
def _schemas(pinned: PinnedCrds) -> CrdSchemas:
    return load_crds([pinned.directory()])


@functools.cache
def _location(pinned: PinnedCrds) -> str:
    directory = Path(tempfile.mkdtemp(prefix=f"ignition-stack-{pinned.name}-schemas-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return _schemas(pinned).write(directory)
