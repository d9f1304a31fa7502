"""Kubernetes target: a kustomize base of StatefulSets whose init containers seed each
gateway's data volume, with the master and backup of a pair as two StatefulSets."""

from emitter.targets.kubernetes.manifest import NAME, emit

__all__ = ["NAME", "emit"]
