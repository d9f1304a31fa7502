"""``create``: a new project directory, written whole or not at all.

A project is ``NAME/stack.yaml`` (the explicit stack, with the targets and the tool
requirement it was created with), ``NAME/targets/<target>/`` and ``NAME/POST-SETUP.md`` (what
``emit`` writes, listed in the manifests ``.ignition-stack-files``), a GitHub Actions workflow,
and what each target's record adds: project files (an entry point, overlays) and git-ignored
admin passwords. Only ``targets/`` and POST-SETUP.md are ever rewritten (by ``emit``); the
rest is scaffolded once and belongs to the user.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from emitter.diagnostics import EmitterError
from emitter.documents import post_setup
from emitter.ir import Stack
from emitter.pipeline import Resolved, render
from emitter.scaffold import WORKFLOW, ci_workflow
from emitter.scratch import SCRATCH_PREFIX
from emitter.spec import dump_stack
from emitter.targets import Emission, registry
from emitter.tool import requirement
from emitter.tree import write_trees

STACK_FILE = "stack.yaml"
GITIGNORE = (
    "# The passwords written once by `ignition-stack create` (admin, MQTT broker), and license\n"
    "# files; never commit them.\n"
    "secrets/\n"
    "# Left only by an interrupted `ignition-stack emit`; the next emit removes it.\n"
    f"{SCRATCH_PREFIX}*\n"
)
TARGETS = "targets"
POST_SETUP = "POST-SETUP.md"
# A POST-SETUP.md that starts so was written by ignition-stack 0.1, which did not list it in a
# manifest: emit takes it as its own (per tree ``""``: path -> the text it starts with).
POST_SETUP_ADOPT = {POST_SETUP: "# POST-SETUP: "}


def project_files(resolved: Resolved, targets: tuple[str, ...], ci: bool = True) -> dict[str, str]:
    """The project's own files (outside targets/), as text; ``ci`` adds the GitHub workflow."""
    stack = resolved.stack
    files = {
        STACK_FILE: dump_stack(resolved.explicit),
        ".gitignore": GITIGNORE,
    }
    for name in targets:
        scaffold = registry.get(name).project_files
        if scaffold:
            files.update(scaffold(stack))
    if ci:
        files[WORKFLOW] = ci_workflow(stack, targets, requirement(resolved.explicit))
    return files


def create_project(
    directory: Path,
    resolved: Resolved,
    targets: tuple[str, ...],
    ci: bool = True,
    emissions: dict[str, Emission] | None = None,
) -> list[str]:
    """Write a new project at ``directory`` (with ``emissions``, when the caller rendered
    them already); returns the relative paths written."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise EmitterError(
            f"{directory} already exists and is not empty; choose another name or parent (-o), "
            f"or run `ignition-stack emit` inside it to regenerate its targets"
        )
    if emissions is None:
        emissions = render(resolved, targets)
    parent = directory.parent
    written: list[str] = []
    try:
        parent.mkdir(exist_ok=True)  # one level only: `create` refuses a deeper missing path
        scratch_directory = tempfile.TemporaryDirectory(prefix=f".{directory.name}-", dir=parent)
    except OSError as exc:
        raise EmitterError(f"cannot create a project in {parent}: {exc.strerror or exc}") from None
    # Build the whole project beside its final place, then rename it in: no half-written project.
    with scratch_directory as scratch:
        staging = Path(scratch) / directory.name
        staging.mkdir()
        for relative, text in project_files(resolved, targets, ci).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(relative)
        # Through the tree writer, as `emit` does: the manifests make them emit's to rewrite.
        trees = {f"{TARGETS}/{name}": e.files for name, e in emissions.items()}
        trees[""] = {POST_SETUP: post_setup(resolved.stack, targets)}
        write_trees(staging, trees)
        for sub, files in trees.items():
            written.extend(f"{sub}/{path}" if sub else path for path in files)
        for password_file in _password_files(targets, stack=resolved.stack):
            _write_password(staging / password_file)
            written.append(password_file)
        if directory.exists():
            directory.rmdir()  # empty, checked above
        staging.replace(directory)
    return sorted(written)


def _password_files(targets: tuple[str, ...], stack: Stack) -> list[str]:
    found: set[str] = set()
    for name in targets:
        target = registry.get(name)
        found.update(target.password_files)
        if target.stack_password_files is not None:
            found.update(target.stack_password_files(stack))
    return sorted(found)


def _write_password(path: Path) -> None:
    """A random password (the admin's, the MQTT broker's, a database's), generated once; the only randomness
    ignition-stack produces."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.parent.chmod(0o700)  # other host users cannot reach it
    # Created 0600 (readable by the user who starts the stack only): the target copies it
    # where only the gateway's uid 2003 can read it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(24) + "\n")
