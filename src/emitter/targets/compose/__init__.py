"""Docker Compose target: one host, one service per gateway, seeded by a one-shot bootstrap.

``TARGET`` is its record; ``NAME`` and ``emit`` load the emitter on first use, so
``validate``, which imports only ``emitter.targets.compose.validation``, never pays for it.
"""

from __future__ import annotations

from typing import Any

from emitter.targets.compose.names import (
    ADMIN_PASSWORD_VOLUME,
    BOOTSTRAP_SUFFIX,
    CA_VOLUME,
    CERTIFICATES_SUFFIX,
    MODULES_SUFFIX,
    PASSWORD_FILE,
    PKI_SERVICE,
    WEB_NAMES,
)
from emitter.targets.registry import (
    NameLimits,
    PinnedFiles,
    Refusal,
    Target,
    lazy,
    stack_options,
)

__all__ = ["NAME", "TARGET", "emit"]


def __getattr__(name: str) -> Any:
    if name not in ("NAME", "emit"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from emitter.targets.compose import project

    return getattr(project, name)


TARGET = Target(
    name="compose",
    title="Docker Compose",
    description="a Docker Compose project (one host)",
    emit=lazy("emitter.targets.compose.project:emit"),
    options=stack_options("emitter.targets.compose.options", key="compose", order=1),
    drift_notes=lazy("emitter.targets.compose.drift:drift_notes"),
    project_files=lazy("emitter.targets.compose.guide:entrypoint"),
    password_files=(PASSWORD_FILE,),
    stack_password_files=lazy("emitter.targets.compose.secrets:password_files"),
    start_command="cd {directory} && docker compose up -d",
    post_setup=lazy("emitter.targets.compose.guide:section"),
    pair_access=lazy("emitter.targets.compose.guide:pair_access"),
    validator=lazy("emitter.targets.compose.validation:validator"),
    limits=NameLimits(
        suffixes=(BOOTSTRAP_SUFFIX,),
        names=frozenset({PKI_SERVICE, CA_VOLUME, ADMIN_PASSWORD_VOLUME, *WEB_NAMES}),
        volume_suffixes=(CERTIFICATES_SUFFIX, MODULES_SUFFIX),
    ),
    # Repository files are bind-mounted read-only; modules are downloaded by a bootstrap on a
    # bridge network, a backup is not (the restoring bootstrap has no network).
    pinned_files=PinnedFiles(
        refuses_url={
            "restore": Refusal(
                "the restore has no `path`: the Compose seeding step runs without a network "
                "(`network_mode: none`), so it cannot download the backup",
                "put the backup in the repository and name it by `path` (git-ignore it "
                "if it must stay out of Git), pinned by the same `sha256`",
            )
        }
    ),
)
