"""Building a kustomization the way Argo CD / Flux will: ``kubectl kustomize`` or a standalone
``kustomize build``, whichever is on PATH."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KUSTOMIZE_TIMEOUT = 120
KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


def find_kustomize() -> list[str] | None:
    """The command that builds a kustomization: ``kubectl kustomize`` or ``kustomize build``."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize")
    if kustomize:
        return [kustomize, "build"]
    return None


@dataclass(frozen=True)
class KustomizeBuild:
    ok: bool
    output: str
    stderr: str
    command: tuple[str, ...]


def kustomize_build(directory: Path, command: Sequence[str] | None = None) -> KustomizeBuild:
    """Build a kustomization directory (``ok`` False with stderr when it fails)."""
    tool = list(command) if command is not None else find_kustomize()
    if tool is None:
        return KustomizeBuild(False, "", "neither kubectl nor kustomize is on PATH", ())
    argv = (*tool, str(directory))
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=KUSTOMIZE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return KustomizeBuild(False, "", str(exc), argv)
    return KustomizeBuild(done.returncode == 0, done.stdout, done.stderr.strip(), argv)


def is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "git@"))
