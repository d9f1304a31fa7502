"""Docker Compose target: one host, one service per gateway, seeded by a one-shot bootstrap."""

from emitter.targets.compose.project import NAME, emit

__all__ = ["NAME", "emit"]
