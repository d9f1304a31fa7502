#!/bin/bash
# Seeds an Ignition gateway's data volume. Runs before the gateway, on every start: as the
# Compose bootstrap service (as root) and as the Kubernetes init container (as uid 2003).
#
#   SEED_SOURCE          the image's own data/        (default /usr/local/bin/ignition/data)
#   SEED_VOLUME          the gateway's data volume     (default /data)
#   SEED_REDUNDANCY_XML  the node's redundancy.xml; unset for a gateway outside a pair
#   SEED_OWNER           uid:gid that must own the volume (default 2003:2003; applied as root)
#   GAN_KEYSTORE, GAN_CA_CERT, GAN_KEYSTORE_PASSWORD_FILE
#                        with `transport: ssl`: the gateway's keystore and the stack CA, handed
#                        to install-gateway-network-certificates.sh (next to this script)
#
# First start: fills the empty volume from the image and places redundancy.xml, which is the
# only thing that sets a node's redundancy role. Later starts: re-asserts the four pairing keys
# (role, master host, port, SSL flag) and keeps every other key the gateway wrote.
set -euo pipefail

source_dir=${SEED_SOURCE:-/usr/local/bin/ignition/data}
volume=${SEED_VOLUME:-/data}
owner=${SEED_OWNER:-2003:2003}
seeded="$volume/.ignition-stack-seeded"
seeding="$volume/.ignition-stack-seeding"
pairing_keys="redundancy.noderole redundancy.gan.host redundancy.gan.port redundancy.gan.enableSsl"

log() { printf 'seed-data-volume: %s\n' "$*"; }

volume_is_empty() {
  [ -z "$(find "$volume" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit)" ]
}

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

[ -d "$volume" ] || { log "no data volume mounted at $volume"; exit 1; }

if [ ! -e "$seeded" ]; then
  if [ -e "$seeding" ] || volume_is_empty; then
    # Cloud Edition images keep their pristine data as data_clean.
    if [ -d "${source_dir}_clean" ]; then source_dir="${source_dir}_clean"; fi
    [ -d "$source_dir" ] || { log "no image data at $source_dir"; exit 1; }
    log "first start: copying $source_dir into $volume"
    touch "$seeding"  # an interrupted copy is redone on the next start
    cp -R -p "$source_dir"/. "$volume"/
    rm -f "$seeding"
  else
    log "$volume already holds gateway data; keeping it"
  fi
  touch "$seeded"
fi

if [ -n "${SEED_REDUNDANCY_XML:-}" ]; then
  target="$volume/redundancy.xml"
  [ -f "$SEED_REDUNDANCY_XML" ] || { log "missing $SEED_REDUNDANCY_XML"; exit 1; }
  if [ -f "$target" ] && ! grep -q '</properties>' "$target"; then
    log "redundancy.xml is not a properties document; keeping it as redundancy.xml.ignition-stack.bak"
    mv "$target" "$target.ignition-stack.bak"
  fi
  if [ ! -f "$target" ]; then
    cp "$SEED_REDUNDANCY_XML" "$target"
    log "placed redundancy.xml ($(read_key "$target" redundancy.noderole))"
  else
    for key in $pairing_keys; do
      upsert_key "$target" "$key" "$(read_key "$SEED_REDUNDANCY_XML" "$key")"
    done
  fi
fi

if [ -n "${GAN_KEYSTORE:-}" ]; then
  GAN_DATA="$volume" bash "$(dirname "${BASH_SOURCE[0]}")/install-gateway-network-certificates.sh"
fi

if [ "$(id -u)" = 0 ]; then
  chown -R "$owner" "$volume"
fi
log "done"
