"""What ``emit`` and ``emit --check`` tell a reviewer about a change of the Kubernetes base."""

from emitter.targets.kubernetes.immutable import drift_notes

__all__ = ["drift_notes"]
