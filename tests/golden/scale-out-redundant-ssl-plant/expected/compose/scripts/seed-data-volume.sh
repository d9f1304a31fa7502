#!/bin/bash
# Seeds an Ignition gateway's data volume. Runs before the gateway, on every start: as the
# Compose bootstrap service (as root) and as the Kubernetes init container (as uid 2003).
#
#   SEED_SOURCE          the image's own data/        (default /usr/local/bin/ignition/data)
#   SEED_VOLUME          the gateway's data volume     (default /data)
#   NODE_REDUNDANCY_XML  the node's redundancy.xml; unset for a gateway outside a pair (placed
#                        or re-asserted by redundancy-keys.sh, next to this script)
#   SEED_OWNER           uid:gid that must own the volume (default 2003:2003; applied as root)
#   GAN_KEYSTORE, GAN_CA_CERT, GAN_KEYSTORE_PASSWORD_FILE, GAN_KEYSTORE_FORMAT
#                        with `transport: ssl`: the gateway's keystore and the stack CA, handed
#                        to install-gateway-network-certificates.sh (next to this script)
#   RESTORE_SOURCE, RESTORE_SHA256, RESTORE_MAX_BYTES
#                        a gateway backup to restore: staged by restore-backup.sh (next to this
#                        script) only right after an empty volume is filled, never otherwise
#   DATABASE_WAIT, DATABASE_CONNECTIONS, ...
#                        wait for the stack's database, and write the gateway's connections to
#                        it (once): database-connection.sh, next to this script
#   ADMIN_PASSWORD_SOURCE, ADMIN_PASSWORD_COPY
#                        copy the admin password file SOURCE to COPY with mode 0400, in a
#                        directory of its own (0500), both owned by SEED_OWNER (as root; else by
#                        the user running this): Compose hands secret files over as bind mounts
#                        that keep the host file's owner and mode, which the gateway's uid could
#                        otherwise not read, or every uid could
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

log() { printf 'seed-data-volume: %s\n' "$*"; }

volume_is_empty() {
  [ -z "$(find "$volume" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit)" ]
}

# Copy file $1 to $2, readable by $owner only; several gateways' steps may run this at once
# (each replaces the copy by an atomic rename), and a copy already right is left untouched.
copy_admin_password() {
  local source_file=$1 copy=$2 directory pending
  directory=$(dirname "$copy")
  [ -f "$source_file" ] || { log "no admin password file at $source_file"; exit 1; }
  local wanted=$owner
  if [ "$(id -u)" = 0 ]; then chown "$owner" "$directory"; else wanted=$(id -u):$(id -g); fi
  chmod 700 "$directory"
  if cmp -s "$source_file" "$copy" && [ "$(stat -c '%u:%g %a' "$copy")" = "$wanted 400" ]; then
    chmod 500 "$directory"
    log "admin password copy up to date"
    return 0
  fi
  pending=$(mktemp "$directory/.admin-password.XXXXXX")
  cat "$source_file" >"$pending"
  if [ "$(id -u)" = 0 ]; then chown "$owner" "$pending"; fi
  chmod 400 "$pending"
  mv -f "$pending" "$copy"
  chmod 500 "$directory"
  log "copied the admin password to $copy (owner $wanted, mode 0400)"
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
    if [ -n "${RESTORE_SOURCE:-}" ]; then
      bash "$(dirname "${BASH_SOURCE[0]}")/restore-backup.sh" "$volume"
    fi
    rm -f "$seeding"
  else
    log "$volume already holds gateway data; keeping it${RESTORE_SOURCE:+ (no restore)}"
  fi
  touch "$seeded"
fi

if [ -n "${NODE_REDUNDANCY_XML:-}" ]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/redundancy-keys.sh" "$NODE_REDUNDANCY_XML" "$volume/redundancy.xml"
fi

if [ -n "${ADMIN_PASSWORD_SOURCE:-}" ]; then
  copy_admin_password "$ADMIN_PASSWORD_SOURCE" "${ADMIN_PASSWORD_COPY:?ADMIN_PASSWORD_COPY is not set}"
fi

if [ -n "${DATABASE_WAIT:-}${DATABASE_CONNECTIONS:-}" ]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/database-connection.sh" "$volume"
fi

if [ -n "${GAN_KEYSTORE:-}" ]; then
  GAN_DATA="$volume" bash "$(dirname "${BASH_SOURCE[0]}")/install-gateway-network-certificates.sh"
fi

if [ "$(id -u)" = 0 ]; then
  chown -R "$owner" "$volume"
fi
log "done"
