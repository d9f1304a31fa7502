"""The kustomize overlays ``create`` scaffolds once, one per environment, on top of the base.

They are the user's from then on: ``emit`` never writes them. Each overlay owns its namespace
(``namespace.yaml``, Pod Security ``restricted`` enforced, created before anything is put in it)
and changes only what differs per environment: dev runs one replica per replicated tier on
smaller resources; production keeps every count from stack.yaml, which reaches it through the
base, so changing ``spokes:`` and running ``emit`` resizes production too. Everything is
addressed by object name and label, the contract of the base.
"""

from __future__ import annotations

from typing import Any

from emitter.ir import Stack
from emitter.targets.kubernetes.metadata import PART_OF_LABEL, workloads_of
from emitter.targets.kubernetes.names import ENVIRONMENTS, PRODUCTION, overlay_namespace
from emitter.vocabulary import TransportName
from emitter.yamlio import dump_yaml

BASE = "../../../targets/kubernetes"
NAMESPACE_FILE = "namespace.yaml"
# Every gateway pod meets the restricted Pod Security Standard; enforcing it in the namespace
# keeps anything added later to the same bar (warn: kubectl says why before it refuses).
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}


def overlay_files(stack: Stack) -> dict[str, str]:
    """``overlays/kubernetes/<env>/`` for each environment: its kustomization and namespace."""
    files: dict[str, str] = {}
    for environment in ENVIRONMENTS:
        directory = f"overlays/kubernetes/{environment}"
        files[f"{directory}/kustomization.yaml"] = _overlay(stack, environment)
        files[f"{directory}/{NAMESPACE_FILE}"] = _namespace(stack, environment)
    return files


def _namespace(stack: Stack, environment: str) -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": overlay_namespace(stack.name, environment),
            "labels": dict(POD_SECURITY_LABELS),
        },
    }
    header = (
        f"# The namespace of the {environment} environment of stack {stack.name!r}: `namespace:` in\n"
        "# kustomization.yaml names the same one (rename both together). Apply this file first\n"
        "# and create the Secrets in it before the rest (POST-SETUP.md).\n"
    )
    return header + dump_yaml(document)


def _resources_patch(cpu_request: str, cpu_limit: str, memory: str) -> str:
    # The heap follows the memory limit (MaxRAMPercentage), so changing it here resizes the heap.
    resources = {
        "requests": {"cpu": cpu_request, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory},
    }
    operations = [
        {
            "op": "replace",
            "path": f"/spec/template/spec/{containers}/0/resources",
            "value": resources,
        }
        for containers in ("initContainers", "containers")
    ]
    return dump_yaml(operations)


def _overlay(stack: Stack, environment: str) -> str:
    production = environment == PRODUCTION
    document: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": overlay_namespace(stack.name, environment),
        "resources": [NAMESPACE_FILE, BASE],
        # Never in selectors: a StatefulSet's selector cannot change once applied.
        "labels": [{"pairs": {"environment": environment}, "includeSelectors": False}],
    }
    if not production:
        # Development is deliberately small: one replica per replicated tier, whatever
        # stack.yaml counts. Production has no `replicas:` at all: its counts are stack.yaml's.
        tiers = [workload for workload in workloads_of(stack) if workload.replicated]
        if tiers:
            document["replicas"] = [
                {"name": tier.name, "count": min(len(tier.gateways), 1)} for tier in tiers
            ]
        document["patches"] = [
            {
                "target": {"kind": "StatefulSet", "labelSelector": f"{PART_OF_LABEL}={stack.name}"},
                "patch": _resources_patch("250m", "1", "1536Mi"),
            }
        ]
    header = [
        f"# The {environment} environment of stack {stack.name!r}, on top of the generated base.",
        "# Scaffolded once by `ignition-stack create`; it is yours: `ignition-stack emit` never",
        "# writes it. Objects are addressed by name and label (the base's contract).",
    ]
    if production:
        header += [
            "# Replica counts and resources come from stack.yaml through the base: change them",
            "# there and run `ignition-stack emit`. Patch here only what differs in production.",
        ]
    if production and stack.transport is TransportName.PLAIN:
        header += [
            "# This stack uses the plain Gateway Network transport, which is demo-only: set",
            "# `transport: ssl` in stack.yaml before deploying this environment (docs/security.md).",
        ]
    footer = ""
    if production:
        footer = (
            "# A storage class for the gateways' data volumes (only before the first deploy:\n"
            "# volumeClaimTemplates cannot change on an existing StatefulSet). Or set\n"
            "# kubernetes.storage_class in stack.yaml.\n"
            "# patches:\n"
            "#   - target: {kind: StatefulSet, labelSelector: "
            + f"{PART_OF_LABEL}={stack.name}"
            + "}\n"
            "#     patch: |-\n"
            "#       - op: add\n"
            "#         path: /spec/volumeClaimTemplates/0/spec/storageClassName\n"
            "#         value: fast-ssd\n"
        )
    return "\n".join(header) + "\n" + dump_yaml(document) + footer
