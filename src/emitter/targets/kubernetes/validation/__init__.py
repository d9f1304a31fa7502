"""The Kubernetes target's part of ``validate``.

* Kubernetes objects (documents with ``apiVersion`` and ``kind``, read as Kubernetes reads
  YAML) against the strict schemas bundled in ``kubernetes-validate`` for one Kubernetes version
  (``schemas``), custom resources against the ``--crd`` CustomResourceDefinitions (``crds``),
  and a kind with no schema at all as an explicit, counted skip (``objects``);
* ``kustomization.yaml`` built with ``kubectl kustomize`` / ``kustomize build`` and its stream
  validated (``kustomize``, ``objects``);
* kubeconform, when installed, as a second opinion over the same files and builds
  (``kubeconform``);
* with ``--server``, a server-side dry run on the current kubeconfig context (``server``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from emitter.targets.kubernetes.validation import kubeconform, kustomize, server
from emitter.targets.kubernetes.validation.crds import CrdSchemas, load_crds
from emitter.targets.kubernetes.validation.objects import (
    KubernetesReport,
    check_kustomization,
    check_manifest,
)
from emitter.targets.kubernetes.validation.schemas import normalise_kubernetes_version
from emitter.validation import FileReport, ValidateOptions


class KubernetesValidator:
    description = "a Kubernetes object (apiVersion, kind)"
    skip_hint = "give their CustomResourceDefinitions with --crd FILE|DIR"

    def __init__(self, version: str, crds: CrdSchemas, cluster: server.Cluster | None) -> None:
        self.version = version
        self.crds = crds
        self.cluster = cluster
        self._builder: list[str] | None = None
        self._builder_found = False

    def claims_name(self, path: Path) -> bool:
        return path.name in kustomize.KUSTOMIZATION_NAMES

    def claims_documents(self, documents: list[Any]) -> bool:
        return any(
            isinstance(document, dict) and ("apiVersion" in document or "kind" in document)
            for document in documents
        )

    def _kustomize(self) -> list[str] | None:
        if not self._builder_found:
            self._builder = kustomize.find_kustomize()
            self._builder_found = True
        return self._builder

    def check(self, path: Path, text: str) -> FileReport:
        if path.name in kustomize.KUSTOMIZATION_NAMES:
            return check_kustomization(path, text, self.version, self.crds, self._kustomize())
        return check_manifest(path, text, self.version, self.crds)

    def finish(self, reports: list[FileReport]) -> list[str]:
        mine = [cast(KubernetesReport, report) for report in reports]
        lines = []
        if any(report.is_kubernetes for report in mine):
            binary = kubeconform.find_kubeconform()
            if binary is None:
                lines.append(
                    f"kubeconform: not found, second check not run ({kubeconform.INSTALL_HINT})"
                )
            else:
                lines.append(kubeconform.run_on_reports(binary, mine, self.version, self.crds))
        if self.cluster is not None:
            lines.append(server.dry_run(self.cluster, mine))
        return lines

    def summary(self) -> str | None:
        kinds = len(self.crds.kinds())
        crds = (
            f", {kinds} custom resource kind{'s' if kinds != 1 else ''} from --crd" if kinds else ""
        )
        return f"Kubernetes {self.version}, strict schemas{crds}"


def validator(options: ValidateOptions) -> KubernetesValidator:
    """Checks the flags (exit 2 on a bad one) before any file is read."""
    version = normalise_kubernetes_version(options.flags.get("kubernetes_version"))
    crd_paths = tuple(options.flags.get("crd") or ())
    crds = load_crds(crd_paths) if crd_paths else CrdSchemas(())
    cluster = server.connect() if options.flags.get("server") else None
    return KubernetesValidator(version, crds, cluster)
