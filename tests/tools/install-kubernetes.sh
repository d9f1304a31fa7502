#!/usr/bin/env bash
# Builds a real Kubernetes control plane into .tools/bin for the engine tests
# (tests/engines/kubernetes.py): kube-apiserver, kube-controller-manager, kube-scheduler and etcd
# from the Go module proxy, plus kwok, which fakes nodes and kubelets so pods become Running and
# Ready without a container runtime.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every staging module with a
# local ./staging path. So a small module of our own is generated under .tools/build/ that
# requires k8s.io/kubernetes and points each staging module at its published v0.Y.Z release.
# Cold, this takes about 8 minutes on 2 idle cores (35 under heavy load) and about 5.5 GB of
# Go caches (README); a second run reuses binaries built for the pinned versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
KUBERNETES_VERSION=v1.34.2  # keep equal to KUBERNETES_VERSION in tests/engines/kubernetes.py
KWOK_VERSION=v0.7.0
STAGING_VERSION="v0.${KUBERNETES_VERSION#v1.}"
bin="$PWD/.tools/bin"
build="$PWD/.tools/build/kubernetes-$KUBERNETES_VERSION"
ldflags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
mkdir -p "$bin"

built_for_version() {  # the binary exists and was linked with our version stamp
  [ -x "$bin/$1" ] && go version -m "$bin/$1" | grep -q "gitVersion=$KUBERNETES_VERSION\b"
}

write_main() {  # write_main BINARY IMPORT CALL
  mkdir -p "$build/cmd/$1"
  cat >"$build/cmd/$1/main.go" <<GO
package main

import (
	"os"

	$2
)

func main() { $3 }
GO
}

generate_module() {
  local gomod
  gomod=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  mkdir -p "$build"
  {
    echo "module ignition-stack.test/control-plane"
    echo
    grep -m1 '^go ' "$gomod"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    sed -n "s#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\) => ./staging/.*#replace \1 => \1 $STAGING_VERSION#p" "$gomod"
  } >"$build/go.mod"
  local cli='"k8s.io/component-base/cli"'
  write_main kube-apiserver "$cli
	\"k8s.io/kubernetes/cmd/kube-apiserver/app\"" 'os.Exit(cli.Run(app.NewAPIServerCommand()))'
  write_main kube-controller-manager "$cli
	\"k8s.io/kubernetes/cmd/kube-controller-manager/app\"" 'os.Exit(cli.Run(app.NewControllerManagerCommand()))'
  write_main kube-scheduler "$cli
	\"k8s.io/kubernetes/cmd/kube-scheduler/app\"" 'os.Exit(cli.Run(app.NewSchedulerCommand()))'
  write_main etcd '"go.etcd.io/etcd/server/v3/etcdmain"' 'etcdmain.Main(os.Args)'
  (cd "$build" && go mod tidy)
}

control_plane=(kube-apiserver kube-controller-manager kube-scheduler etcd)
missing=()
for name in "${control_plane[@]}"; do
  built_for_version "$name" || missing+=("$name")
done
if [ "${#missing[@]}" -gt 0 ]; then
  generate_module
  out="$build/bin.partial"
  rm -rf "$out" && mkdir -p "$out"
  (cd "$build" && go build -ldflags "$ldflags" -o "$out/" "${missing[@]/#/./cmd/}")
  for name in "${missing[@]}"; do mv "$out/$name" "$bin/$name"; done
  rmdir "$out"
fi
if [ ! -x "$bin/kwok" ] || ! go version -m "$bin/kwok" | grep -q "sigs.k8s.io/kwok.*$KWOK_VERSION"; then
  GOBIN="$bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
echo "Kubernetes control plane in $bin: kube-apiserver, kube-controller-manager, kube-scheduler $KUBERNETES_VERSION, etcd, kwok $KWOK_VERSION"
