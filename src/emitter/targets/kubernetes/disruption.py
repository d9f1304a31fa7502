"""PodDisruptionBudgets: a node drain takes down at most one node of a pair, and at most one
gateway of a replicated tier, at a time."""

from __future__ import annotations

from kubernetes.client.models import (
    V1LabelSelector,
    V1PodDisruptionBudget,
    V1PodDisruptionBudgetSpec,
)

from emitter.ir import Stack
from emitter.targets.kubernetes.metadata import (
    PAIR_SUFFIX,
    Workload,
    object_meta,
    pair_labels,
    selector_labels,
    stack_labels,
    workload_labels,
)


def _budget(name: str, labels: dict[str, str], selector: dict[str, str]) -> V1PodDisruptionBudget:
    return V1PodDisruptionBudget(
        api_version="policy/v1",
        kind="PodDisruptionBudget",
        metadata=object_meta(name, labels),
        spec=V1PodDisruptionBudgetSpec(
            # Never 0: a budget that allows no disruption blocks every node drain.
            max_unavailable=1,
            # A pod that is not ready protects nothing; evicting it must not wait for it.
            unhealthy_pod_eviction_policy="AlwaysAllow",
            selector=V1LabelSelector(match_labels=selector),
        ),
    )


def disruption_budgets(
    stack: Stack, workloads: tuple[Workload, ...]
) -> list[V1PodDisruptionBudget]:
    found = []
    for master, _backup in stack.pairs:
        found.append(
            _budget(
                master.role + PAIR_SUFFIX,
                stack_labels(stack, component=master.role),
                pair_labels(stack, master),
            )
        )
    for workload in workloads:
        if workload.replicated and len(workload.gateways) >= 2:
            found.append(
                _budget(workload.name, workload_labels(stack, workload), selector_labels(workload))
            )
    return found
