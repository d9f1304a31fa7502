#!/usr/bin/env bash
# Installs the pinned external validators the test suite runs for real, into .tools/bin:
#   kubeconform     Kubernetes manifests against (local, offline) JSON schemas
#   docker-compose  Docker Compose v2 itself: `docker-compose config` parses a generated
#                   project exactly as `docker compose up` would, without a Docker engine
# Both are Go programs built from the Go module proxy; a second run reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
KUBECONFORM_VERSION=v0.7.0
COMPOSE_VERSION=v2.29.7
bin="$PWD/.tools/bin"
mkdir -p "$bin"

if [ ! -x "$bin/kubeconform" ] || ! go version -m "$bin/kubeconform" | grep -q "kubeconform.*$KUBECONFORM_VERSION"; then
  GOBIN="$bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi
if [ ! -x "$bin/docker-compose" ] || ! go version -m "$bin/docker-compose" | grep -q "compose/v2.*$COMPOSE_VERSION"; then
  GOBIN="$bin" go install "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
  mv "$bin/cmd" "$bin/docker-compose"
fi
echo "external validators in $bin: kubeconform $KUBECONFORM_VERSION, docker compose $COMPOSE_VERSION"
