"""Files ``create`` scaffolds once for a new project and never rewrites: the GitHub Actions
workflow of the user's GitOps repository, with each target's steps from its record."""

from __future__ import annotations

import shlex
from typing import Any

from emitter.ir import Stack
from emitter.targets import registry
from emitter.yamlio import dump_yaml

WORKFLOW = ".github/workflows/ignition-stack.yaml"


def ci_workflow(stack: Stack, targets: tuple[str, ...], tool: str) -> str:
    """A workflow that fails a pull request whose generated files drift from stack.yaml, or
    whose manifests (base and every overlay) do not validate. ``tool``: the pip requirement
    it installs ignition-stack from (the stack file's ``tool:``)."""
    steps: list[dict[str, Any]] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.12"}},
        {
            # The distribution ignition-stack-emitter (PyPI's `ignition-stack` is another tool),
            # the release that generated these files: another version may emit other bytes.
            "name": "Install ignition-stack",
            "run": f"python -m pip install {shlex.quote(tool)}",
        },
        {
            # The targets and POST-SETUP.md, as stack.yaml's `targets:` lists them.
            "name": "Generated files match stack.yaml",
            "run": "ignition-stack emit stack.yaml --check",
        },
    ]
    for name in targets:
        target = registry.get(name)
        if target.ci_steps:
            steps += target.ci_steps()
    steps.append(_validate_step(targets))
    workflow = {
        "name": "ignition-stack",
        "on": {"pull_request": {}, "push": {"branches": ["main"]}},
        "permissions": {"contents": "read"},
        "jobs": {"check": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    header = (
        f"# Checks the {stack.name!r} stack on every pull request. Scaffolded once by\n"
        "# `ignition-stack create`; it is yours to edit.\n"
        "# It installs the tool from `tool:` in stack.yaml (`create --tool-spec`): the\n"
        "# distribution ignition-stack-emitter. PyPI's `ignition-stack` is a different tool.\n"
    )
    return header + dump_yaml(workflow)


def _validate_step(targets: tuple[str, ...]) -> dict[str, Any]:
    """Schema checks: a target's own step when it has one (it checks every target's files),
    else the plain ``validate``."""
    for name in reversed(targets):
        replacement = registry.get(name).ci_validate_step
        if replacement:
            return replacement()
    return {
        "name": "Schema-check the generated files",
        "run": "ignition-stack validate targets",
    }
