#!/bin/bash
# Installs a gateway's third-party modules (.modl), on both targets. Two steps:
#
#   install-modules.sh seed    in the seeding step (Compose bootstrap as root, Kubernetes init
#                              container as uid 2003): fetches or copies each module into the
#                              modules volume, checks its pinned SHA-256, then runs
#                              seed-data-volume.sh. A missing file, a failed download, a file
#                              over the size cap or a checksum mismatch stops the start, naming
#                              the module: the gateway never starts with a module it was not given.
#   install-modules.sh start ARGS...
#                              in the gateway container, on every start: copies the modules from
#                              the modules volume into user-lib/modules, then runs
#                              start-gateway.sh ARGS. user-lib/ is on the container's filesystem,
#                              not the data volume, so a new container has none; the official Helm
#                              chart's scripts/docker-entrypoint-shim.sh copies them the same way
#                              (IGNITION_MODULES_LOCATION=${IGNITION_INSTALL_LOCATION}/user-lib/modules).
#
#   SEED_MODULES            lines of `name sha256 source`; source is a file (a repository module
#                           the Compose bootstrap mounts) or an https URL
#   SEED_MODULES_DIR        the modules volume, where the seed places NAME.modl
#   SEED_MODULES_MAX_BYTES  the largest module accepted (default 512 MiB)
#   SEED_OWNER              uid:gid owning the placed modules (default 2003:2003; applied as root)
#   NODE_MODULES_DIR        the modules volume, in the gateway container
#   IGNITION_MODULES_LOCATION  where the image loads modules from (default the image's user-lib/modules)
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
owner=${SEED_OWNER:-2003:2003}

log() { printf 'install-modules: %s\n' "$*" >&2; }
fail() { log "module $1: $2; the gateway is not started"; exit 1; }

# Fetch or copy module $1's source $3 into $4, at most $max bytes.
fetch() {
  local name=$1 source=$2 pending=$3
  case $source in
    https://*)
      # https only, redirects included; `head` caps what reaches the disk whatever the server says.
      if ! curl -fsSL --proto '=https' --proto-redir '=https' --max-filesize "$max" \
        --connect-timeout 30 --max-time 900 "$source" | head -c "$((max + 1))" >"$pending"; then
        fail "$name" "download from $source failed, or it is larger than $max bytes"
      fi
      ;;
    /*)
      [ -f "$source" ] || fail "$name" "no file at $source (the stack file's \`path\`)"
      head -c "$((max + 1))" "$source" >"$pending"
      ;;
    *) fail "$name" "source $source is neither a file nor an https URL" ;;
  esac
  [ "$(stat -c %s "$pending")" -le "$max" ] || fail "$name" "larger than $max bytes"
}

seed() {
  local dir=${SEED_MODULES_DIR:?SEED_MODULES_DIR is not set} name sha256 source target pending actual
  max=${SEED_MODULES_MAX_BYTES:-536870912}
  [ -d "$dir" ] || { log "no modules volume mounted at $dir"; exit 1; }
  local -A wanted=()
  while read -r name sha256 source; do
    [ -n "$name" ] || continue
    target="$dir/$name.modl"
    wanted["$name.modl"]=1
    if [ -f "$target" ] && [ "$(sha256sum <"$target" | cut -d' ' -f1)" = "$sha256" ]; then
      log "module $name: up to date"
      continue
    fi
    pending=$(mktemp "$dir/.$name.XXXXXX")
    trap 'rm -f "$pending"' EXIT
    fetch "$name" "$source" "$pending"
    actual=$(sha256sum <"$pending" | cut -d' ' -f1)
    [ "$actual" = "$sha256" ] ||
      fail "$name" "checksum mismatch: the file has sha256 $actual, the stack file pins $sha256"
    chmod 444 "$pending"
    if [ "$(id -u)" = 0 ]; then chown "$owner" "$pending"; fi
    mv -f "$pending" "$target"
    trap - EXIT
    log "module $name: placed ($sha256)"
  done <<<"${SEED_MODULES:-}"
  # A module the stack file no longer lists leaves the gateway.
  for target in "$dir"/*.modl; do
    [ -e "$target" ] || continue
    if [ -z "${wanted[$(basename "$target")]:-}" ]; then rm -f "$target"; log "removed $(basename "$target")"; fi
  done
  if [ "$(id -u)" = 0 ]; then chown "$owner" "$dir"; fi
  exec bash "$here/seed-data-volume.sh"
}

start() {
  local dir=${NODE_MODULES_DIR:?NODE_MODULES_DIR is not set} file
  local location=${IGNITION_MODULES_LOCATION:-/usr/local/bin/ignition/user-lib/modules}
  mkdir -p "$location"
  for file in "$dir"/*.modl; do
    [ -e "$file" ] || continue
    # Replaced on every start: the modules volume holds exactly the pinned files.
    cp -f "$file" "$location/"
    if [ "$(id -u)" = 0 ]; then chown "$owner" "$location/$(basename "$file")"; fi
    log "installed $(basename "$file") into $location"
  done
  exec bash "$here/start-gateway.sh" "$@"
}

case ${1:-} in
  seed) seed ;;
  start) shift; start "$@" ;;
  *) log "usage: install-modules.sh seed | start ARGS..."; exit 2 ;;
esac
