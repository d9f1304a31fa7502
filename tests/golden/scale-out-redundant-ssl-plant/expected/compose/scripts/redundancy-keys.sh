#!/bin/bash
# Places a node's redundancy.xml in its data volume, or re-asserts the pairing keys of an existing
# one. Run on every start of a pair member: by the seeding step (Compose bootstrap service,
# Kubernetes init container) and by start-gateway.sh, which a restart by Compose's restart policy
# or by the kubelet also runs.
#
#   redundancy-keys.sh SOURCE TARGET
#     SOURCE  the node's redundancy.xml as ignition-stack ships it
#     TARGET  data/redundancy.xml in the gateway's data volume
#
# A missing TARGET is copied from SOURCE: redundancy.xml is the only thing that sets a node's
# redundancy role (no environment variable does). An existing one keeps every key the gateway
# wrote, except the four pairing keys (role, master host, port, SSL flag), which are set to
# SOURCE's values. A TARGET that is not a properties document is kept aside as
# redundancy.xml.ignition-stack.bak and replaced.
set -euo pipefail

source_file=${1:?usage: redundancy-keys.sh SOURCE TARGET}
target=${2:?usage: redundancy-keys.sh SOURCE TARGET}
pairing_keys="redundancy.noderole redundancy.gan.host redundancy.gan.port redundancy.gan.enableSsl"

log() { printf 'redundancy-keys: %s\n' "$*"; }

# The value of KEY in the Properties XML file FILE (first match; empty if absent).
read_key() {
  local pattern=${2//./\\.}
  sed -n "s|^[[:space:]]*<entry key=\"$pattern\">\\(.*\\)</entry>[[:space:]]*\$|\\1|p" "$1" | head -n 1
}

# Set KEY to VALUE in FILE: replace its entry, or add one before </properties>.
upsert_key() {
  local file=$1 key=$2 value=$3
  awk -v key="$key" -v value="$value" '
    BEGIN { opening = "<entry key=\"" key "\""; entry = opening ">" value "</entry>"; done = 0 }
    index($0, opening ">") || index($0, opening "/>") {
      if (!done) { print entry; done = 1 }
      next
    }
    /<\/properties>/ && !done { print entry; done = 1 }
    { print }
  ' "$file" > "$file.ignition-stack.tmp"
  if cmp -s "$file" "$file.ignition-stack.tmp"; then
    rm -f "$file.ignition-stack.tmp"
  else
    mv "$file.ignition-stack.tmp" "$file"
    log "set $key=$value in $(basename "$file")"
  fi
}

[ -f "$source_file" ] || { log "missing $source_file"; exit 1; }
if [ -f "$target" ] && ! grep -q '</properties>' "$target"; then
  log "redundancy.xml is not a properties document; keeping it as redundancy.xml.ignition-stack.bak"
  mv "$target" "$target.ignition-stack.bak"
fi
if [ ! -f "$target" ]; then
  cp "$source_file" "$target"
  log "placed redundancy.xml ($(read_key "$target" redundancy.noderole))"
  exit 0
fi
for key in $pairing_keys; do
  upsert_key "$target" "$key" "$(read_key "$source_file" "$key")"
done
