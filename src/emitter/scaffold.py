"""Files ``create`` scaffolds once for a new project and never rewrites: the GitHub Actions
workflow of the user's GitOps repository (and, via the Kubernetes target, its overlays)."""

from __future__ import annotations

import shlex
from typing import Any

from emitter.ir import Stack
from emitter.yamlio import dump_yaml

WORKFLOW = ".github/workflows/ignition-stack.yaml"
KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"
# The cert-manager whose CRDs `validate --crd` checks the Certificates and Issuers against: the
# Go module carries them (deploy/crds), and `go mod download` verifies it against sum.golang.org.
CERT_MANAGER = "github.com/cert-manager/cert-manager@v1.16.5"
# kubeconform's default schemas, plus the community catalogue for cert-manager's CRDs.
CRD_SCHEMAS = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


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
    if "kubernetes" in targets:
        steps += [
            {"uses": "actions/setup-go@v5", "with": {"go-version": "stable"}},
            {
                "name": "Install kubeconform",
                "run": f'go install {KUBECONFORM}\necho "$(go env GOPATH)/bin" >> "$GITHUB_PATH"\n',
            },
            {
                # The demo-only plain transport (warning IS201) is an error for production.
                "name": "The production overlay needs transport: ssl",
                "if": "hashFiles('overlays/kubernetes/production/kustomization.yaml') != ''",
                "run": "ignition-stack emit stack.yaml --target kubernetes --check --strict",
            },
            {
                "name": "Every overlay builds and validates",
                "run": (
                    "set -euo pipefail\n"
                    "for overlay in overlays/kubernetes/*/; do\n"
                    '  echo "::group::$overlay"\n'
                    '  kubectl kustomize "$overlay" | kubeconform -strict -summary \\\n'
                    f"    -schema-location default -schema-location '{CRD_SCHEMAS}'\n"
                    '  echo "::endgroup::"\n'
                    "done\n"
                ),
            },
        ]
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
    """Schema checks; with a Kubernetes target strict (nothing may go unvalidated), with
    cert-manager's CRDs for the Certificates and Issuers of `transport: ssl`, fetched even for
    a plain stack so that switching to ssl later keeps the check passing."""
    if "kubernetes" not in targets:
        return {
            "name": "Schema-check the generated files",
            "run": "ignition-stack validate targets",
        }
    return {
        "name": "Schema-check the generated files (cert-manager's CRDs included)",
        "run": (
            "set -euo pipefail\n"
            f"module=$(go mod download -json {CERT_MANAGER} |\n"
            "  python -c 'import json, sys; print(json.load(sys.stdin)[\"Dir\"])')\n"
            'ignition-stack validate targets --strict --crd "$module/deploy/crds"\n'
        ),
    }
