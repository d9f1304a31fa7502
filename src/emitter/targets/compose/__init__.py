"""Docker Compose target: one host, one service per gateway, seeded by a one-shot bootstrap.

``NAME`` and ``emit`` load the emitter on first use, so ``validate``, which imports only
``emitter.targets.compose.validation``, never pays for it.
"""

from typing import Any

__all__ = ["NAME", "emit"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from emitter.targets.compose import project

    return getattr(project, name)
