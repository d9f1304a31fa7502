"""The Kubernetes target's steps in the scaffolded CI workflow: every overlay builds and passes
kubeconform, production needs `transport: ssl`, and ``validate`` is strict with cert-manager's
CRDs."""

from __future__ import annotations

from typing import Any

KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"
# The cert-manager whose CRDs `validate --crd` checks the Certificates and Issuers against: the
# Go module carries them (deploy/crds), and `go mod download` verifies it against sum.golang.org.
CERT_MANAGER = "github.com/cert-manager/cert-manager@v1.16.5"
# The Gateway API whose CRDs (config/crd/standard) check the HTTPRoutes of `web:`.
GATEWAY_API = "sigs.k8s.io/gateway-api@v1.3.0"
# The CloudNativePG whose CRDs check a `database:`'s Cluster (config/crd/bases of its module).
CLOUDNATIVE_PG = "github.com/cloudnative-pg/cloudnative-pg@v1.27.0"
# kubeconform's default schemas, plus the community catalogue for cert-manager's CRDs.
CRD_SCHEMAS = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


def steps() -> list[dict[str, Any]]:
    return [
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


def validate_step() -> dict[str, Any]:
    """Strict (nothing may go unvalidated), with cert-manager's CRDs for the Certificates and
    Issuers of `transport: ssl`, the Gateway API's for the HTTPRoutes of `web:` and
    CloudNativePG's for a `database:`'s Cluster, fetched whatever the stack uses so that adding
    any of them later keeps the check passing."""
    directory = "  python -c 'import json, sys; print(json.load(sys.stdin)[\"Dir\"])')\n"
    return {
        "name": "Schema-check the generated files (cert-manager, Gateway API and CloudNativePG CRDs included)",
        "run": (
            "set -euo pipefail\n"
            f"module=$(go mod download -json {CERT_MANAGER} |\n"
            + directory
            + f"gateway_api=$(go mod download -json {GATEWAY_API} |\n"
            + directory
            + f"database=$(go mod download -json {CLOUDNATIVE_PG} |\n"
            + directory
            + 'ignition-stack validate targets --strict --crd "$module/deploy/crds" \\\n'
            '  --crd "$gateway_api/config/crd/standard" --crd "$database/config/crd/bases"\n'
        ),
    }
