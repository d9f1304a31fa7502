"""The kustomize overlays ``create`` scaffolds once, one per environment, on top of the base.

They are the user's from then on: ``emit`` never writes them. Each sets a namespace, the
replicas of the replicated tiers, and resources, and shows where a storage class goes.
Everything is addressed by object name and label, the contract of the base.
"""

from __future__ import annotations

from typing import Any

from emitter.ir import Stack
from emitter.targets.kubernetes.metadata import PART_OF_LABEL, workloads_of
from emitter.vocabulary import TransportName
from emitter.yamlio import dump_yaml

BASE = "../../../targets/kubernetes"
ENVIRONMENTS = ("dev", "production")


def overlay_files(stack: Stack) -> dict[str, str]:
    """``overlays/kubernetes/<env>/kustomization.yaml`` for each environment."""
    return {
        f"overlays/kubernetes/{environment}/kustomization.yaml": _overlay(stack, environment)
        for environment in ENVIRONMENTS
    }


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
    production = environment == "production"
    tiers = [workload for workload in workloads_of(stack) if workload.replicated]
    document: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": stack.name if production else f"{stack.name}-{environment}",
        "resources": [BASE],
        # Never in selectors: a StatefulSet's selector cannot change once applied.
        "labels": [{"pairs": {"environment": environment}, "includeSelectors": False}],
    }
    if tiers:
        document["replicas"] = [
            {
                "name": tier.name,
                "count": len(tier.gateways) if production else min(len(tier.gateways), 1),
            }
            for tier in tiers
        ]
    if not production:
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
