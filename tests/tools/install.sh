#!/usr/bin/env bash
# Installs the pinned external validators the test suite runs for real, into .tools/bin:
#   kubeconform     Kubernetes manifests against (local, offline) JSON schemas
#   docker-compose  Docker Compose v2 itself: `docker-compose config` parses a generated
#                   project exactly as `docker compose up` would, without a Docker engine
#   kube-score,     the static checks of Kubernetes objects that docs/security.md lists the
#   trivy           reasoned exceptions of (tests/support/scanners.py); trivy is the heaviest
#                   build here (cold: about 3 GB of modules, 2.5 GB of build cache, 330 MB binary)
# and cert-manager's CRDs (.tools/cert-manager/), the schemas its Certificates and Issuers are
# validated against, the Gateway API's standard-channel CRDs (.tools/gateway-api/), the schemas
# of the HTTPRoutes of `web:`, and CloudNativePG's (.tools/cloudnative-pg/), the database
# Cluster's. All come from the Go module proxy; a second run reuses what is there.
# Last, install-kubernetes.sh builds the Kubernetes control plane the engine tests run
# (about 8 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/../.."
KUBECONFORM_VERSION=v0.7.0
COMPOSE_VERSION=v2.29.7
KUBE_SCORE_VERSION=v1.20.0  # keep equal to KUBE_SCORE_VERSION in tests/support/scanners.py
TRIVY_VERSION=v0.74.0  # keep equal to TRIVY_VERSION in tests/support/scanners.py
CERT_MANAGER_VERSION=v1.16.5  # keep equal to VERSION in tests/support/cert_manager.py
GATEWAY_API_VERSION=v1.3.0  # keep equal to VERSION in tests/support/gateway_api.py
CLOUDNATIVE_PG_VERSION=v1.27.0  # keep equal to VERSION in tests/support/cloudnative_pg.py
bin="$PWD/.tools/bin"
mkdir -p "$bin"

if [ ! -x "$bin/kubeconform" ] || ! go version -m "$bin/kubeconform" | grep -q "kubeconform.*$KUBECONFORM_VERSION"; then
  GOBIN="$bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi
if [ ! -x "$bin/docker-compose" ] || ! go version -m "$bin/docker-compose" | grep -q "compose/v2.*$COMPOSE_VERSION"; then
  GOBIN="$bin" go install "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
  mv "$bin/cmd" "$bin/docker-compose"
fi
if [ ! -x "$bin/kube-score" ] || ! go version -m "$bin/kube-score" | grep -q "zegl/kube-score.*$KUBE_SCORE_VERSION"; then
  GOBIN="$bin" go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
fi
# trivy imports encoding/json/v2, which Go 1.25 and 1.26 build only with GOEXPERIMENT=jsonv2 (as
# trivy's own release builds do); its checks are built into the binary, so it runs offline.
if [ ! -x "$bin/trivy" ] || ! go version -m "$bin/trivy" | grep -q "aquasecurity/trivy.*$TRIVY_VERSION"; then
  GOEXPERIMENT=jsonv2 GOBIN="$bin" go install "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
fi
# fetch_crds NAME MODULE@VERSION FOLDER GLOB: copy a pinned module's CRD files once into
# .tools/NAME/VERSION/crds (tests/support/pinned_crds.py reads them from there, and fetches them
# itself, hash-checked, when they are missing).
fetch_crds() {
  local crds="$PWD/.tools/$1/${2##*@}/crds" module
  [ -d "$crds" ] && return 0
  module=$(cd "$(mktemp -d)" && go mod download -json "$2" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  mkdir -p "$crds.partial" && cp "$module/$3"/$4 "$crds.partial/" && mv "$crds.partial" "$crds"
}
fetch_crds cert-manager "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" deploy/crds 'crd-*.yaml'
fetch_crds gateway-api "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" config/crd/standard '*.yaml'
# CloudNativePG's: the schemas of the database's Cluster (docs/research/around-gateways.md §2).
fetch_crds cloudnative-pg "github.com/cloudnative-pg/cloudnative-pg@$CLOUDNATIVE_PG_VERSION" config/crd/bases '*.yaml'
echo "external validators in $bin: kubeconform $KUBECONFORM_VERSION, docker compose $COMPOSE_VERSION, kube-score $KUBE_SCORE_VERSION, trivy $TRIVY_VERSION; CRDs: cert-manager $CERT_MANAGER_VERSION, Gateway API $GATEWAY_API_VERSION, CloudNativePG $CLOUDNATIVE_PG_VERSION"
# The real engines of the engine tests: a Kubernetes control plane (built from the Go module
# proxy), and the Docker engine with the cached Debian base image of the Compose tests (root only).
tests/tools/install-kubernetes.sh  # from the repository root, where the cd above left us
tests/tools/install-docker.sh
