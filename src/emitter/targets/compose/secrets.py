"""The git-ignored password files that a Compose stack's optional services add beside the admin
password (the target record's ``stack_password_files``): ``create`` writes each once."""

from __future__ import annotations

from emitter.ir import Stack
from emitter.targets.compose import database, mqtt


def password_files(stack: Stack) -> tuple[str, ...]:
    return (*mqtt.password_files(stack), *database.password_files(stack))
