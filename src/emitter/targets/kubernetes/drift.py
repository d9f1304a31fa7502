"""What ``emit`` and ``emit --check`` tell a reviewer about a change of the Kubernetes base:
the fields Kubernetes refuses to change on an existing StatefulSet.

A StatefulSet's ``selector``, ``serviceName`` and ``volumeClaimTemplates`` cannot be updated in
place: the apply (and an Argo CD or Flux sync) fails until the object is deleted and created
again. ``emit --check`` calls these changes out so a reviewer sees them before merging.
"""

from __future__ import annotations

import yaml

IMMUTABLE_FIELDS = ("selector", "serviceName", "volumeClaimTemplates")


def drift_notes(path: str, before: str | None, after: str | None) -> list[str]:
    """Why changing file ``path`` from ``before`` to ``after`` (None: absent) needs a delete
    and re-create, or leaves a StatefulSet behind."""
    if before is None or after is None:
        return _removed(path, before) if after is None else []
    try:
        old, new = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError:
        return []
    if not all(
        isinstance(document, dict) and document.get("kind") == "StatefulSet"
        for document in (old, new)
    ):
        return []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    changed = [field for field in IMMUTABLE_FIELDS if old_spec.get(field) != new_spec.get(field)]
    if not changed:
        return []
    name = new.get("metadata", {}).get("name", path)
    return [
        f"{path}: changes spec.{', spec.'.join(changed)} of StatefulSet {name}, which Kubernetes "
        "cannot update in place: delete it first (`kubectl delete statefulset "
        f"{name} --cascade=orphan` keeps the pods and volumes) and let the apply or sync re-create it"
    ]


def _removed(path: str, before: str | None) -> list[str]:
    """A StatefulSet that is no longer emitted keeps running, with its volumes, unless the apply
    prunes it (e.g. a pair's backup, which 0.1 ran as a StatefulSet of its own)."""
    try:
        old = yaml.safe_load(before or "")
    except yaml.YAMLError:
        return []
    if not isinstance(old, dict) or old.get("kind") != "StatefulSet":
        return []
    name = old.get("metadata", {}).get("name", path)
    return [
        f"{path}: removes StatefulSet {name}, which keeps running unless your apply prunes it: "
        f"`kubectl delete statefulset {name}`; its PersistentVolumeClaims are kept (delete them "
        "once you no longer need the data)"
    ]
