#!/usr/bin/env bash
# Prepares the real-engine tests of the Compose target (tests/engines/docker.py):
#   - installs Debian's docker.io (dockerd, docker), debootstrap, strace, mosquitto and
#     mosquitto-clients with apt when missing;
#   - builds a Debian bookworm root file system with debootstrap and caches it as a tarball
#     OUTSIDE the repository, keyed by its package list, so every clone on this machine reuses
#     it: ${IGNITION_STACK_CACHE:-/var/cache/ignition-stack}/base-bookworm-<key>.tar
#     (about 3 minutes and 250 MB the first time; no image registry is needed);
#   - records that path in .tools/docker-base-image, where the tests look for it.
# Needs root (apt, debootstrap, and the tests' private dockerd); otherwise it says why and
# does nothing, and those tests skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
packages=bash,curl,ca-certificates,python3,openssl,openjdk-17-jre-headless,procps
suite=bookworm
mirror=http://deb.debian.org/debian
cache=${IGNITION_STACK_CACHE:-/var/cache/ignition-stack}
pointer="$PWD/.tools/docker-base-image"

if [ "$(id -u)" != 0 ]; then
  echo "install-docker.sh: skipped: needs root (apt-get, debootstrap, dockerd); the Docker engine tests will skip"
  exit 0
fi
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# The writer's fault-injection tests (tests/test_tree_faults.py) inject kills and errors with it.
command -v strace >/dev/null 2>&1 || missing+=(strace)
# The MQTT broker's tests (tests/test_mqtt_broker.py) run the real Mosquitto and its clients.
PATH="$PATH:/usr/sbin" command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-docker.sh: installing ${missing[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" ||
    { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

key=$(printf '%s minbase %s\n' "$suite" "$packages" | sha256sum | cut -c1-12)
tarball="$cache/base-$suite-$key.tar"
mkdir -p "$cache" "$(dirname "$pointer")"
if [ ! -f "$tarball" ]; then
  rootfs="$cache/rootfs-$key.tmp"
  rm -rf "$rootfs" "$tarball.partial"
  echo "install-docker.sh: debootstrap $suite ($packages) into $rootfs (about 3 minutes)"
  start=$(date +%s)
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$cache/debootstrap-$key.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap-$key.log" >&2; echo "install-docker.sh: debootstrap failed; full log in $cache/debootstrap-$key.log" >&2; exit 1; }
  # The downloaded .deb files and package lists are not needed in an image.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$rootfs"
  echo "install-docker.sh: built $tarball in $(($(date +%s) - start)) s"
fi
printf '%s\n' "$tarball" >"$pointer"
echo "install-docker.sh: Docker engine $(dockerd --version | cut -d' ' -f3 | tr -d ,), base image $tarball ($(du -h "$tarball" | cut -f1))"
