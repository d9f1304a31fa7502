#!/bin/bash
# Stages a gateway backup (.gwbk) in a data volume the seeding step has just filled, for the
# gateway's first start. Run by seed-data-volume.sh only then: a restore into a volume that
# already holds gateway data never happens.
#
#   restore-backup.sh VOLUME
#   RESTORE_SOURCE       the backup as the target mounts it (Compose), or
#   RESTORE_URL          an https URL it is downloaded from (Kubernetes; curl, which the
#                        gateway's health check also runs in the image)
#   RESTORE_SHA256       its pinned SHA-256: any other file stops the start
#   RESTORE_MAX_BYTES    the largest backup staged (default 4 GiB)
#   NODE_REDUNDANCY_XML  the node's redundancy.xml (unset outside a pair): its pairing keys are
#                        written into the backup's own redundancy.xml, which a restore would
#                        otherwise bring back from the gateway the backup was taken on (a gwbk
#                        holds redundancy.xml at its root; docs/research/gateway-contents.md §5)
#   RESTORE_TOOL         zip (zip and unzip, as the official Helm chart's prepare-gan-certificates.sh
#                        edits a gwbk), python3 (its zipfile module) or none; default: the first
#                        one the image has
#
# The staged file, VOLUME/.ignition-stack-restore.gwbk, is what start-gateway.sh hands the
# image's `-r` runtime argument once (the Testcontainers module for the official image restores
# with `-r <file.gwbk>`, 8.1 and 8.3; docs/research/gateway-contents.md §2).
set -euo pipefail

volume=$(cd "${1:?usage: restore-backup.sh VOLUME}" && pwd)
staged="$volume/.ignition-stack-restore.gwbk"
limit=${RESTORE_MAX_BYTES:-4294967296}
here=$(dirname "${BASH_SOURCE[0]}")

log() { printf 'restore-backup: %s\n' "$*"; }
die() { log "$*"; exit 1; }

tool() {
  if [ -n "${RESTORE_TOOL:-}" ]; then echo "$RESTORE_TOOL"
  elif command -v zip >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1; then echo zip
  elif command -v python3 >/dev/null 2>&1; then echo python3
  else echo none; fi
}

# Write the node's pairing keys into the redundancy.xml inside gwbk $1 (added if it has none).
set_pairing_keys() {
  local gwbk=$1 found
  case $(tool) in
    zip)
      if unzip -p "$gwbk" redundancy.xml >"$work/redundancy.xml" 2>/dev/null; then found=1; else found=0; fi
      [ "$found" = 1 ] || rm -f "$work/redundancy.xml"
      bash "$here/redundancy-keys.sh" "$NODE_REDUNDANCY_XML" "$work/redundancy.xml"
      (cd "$work" && zip -q "$gwbk" redundancy.xml)
      ;;
    python3)
      python3 - extract "$gwbk" "$work/redundancy.xml" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2]) as z:
    if "redundancy.xml" in z.namelist():
        open(sys.argv[3], "wb").write(z.read("redundancy.xml"))
PY
      bash "$here/redundancy-keys.sh" "$NODE_REDUNDANCY_XML" "$work/redundancy.xml"
      python3 - "$gwbk" "$work/redundancy.xml" "$work/new.gwbk" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as old, zipfile.ZipFile(sys.argv[3], "w", zipfile.ZIP_DEFLATED) as new:
    for item in old.infolist():
        if item.filename != "redundancy.xml":
            new.writestr(item, old.read(item))
    new.write(sys.argv[2], "redundancy.xml")
PY
      mv -f "$work/new.gwbk" "$gwbk"
      ;;
    *)
      log "WARNING: neither zip/unzip nor python3 in the image: the backup keeps its own" \
        "redundancy.xml; start-gateway.sh re-asserts this node's pairing keys on the gateway's" \
        "next start (README, \"Restoring a gateway backup\")"
      return 0
      ;;
  esac
  log "wrote this node's pairing keys into the backup's redundancy.xml ($(tool))"
}

# A pair's backup takes everything from its master when it pairs: it never restores (on
# Kubernetes both pods of a pair share one template, so this step tells them apart here).
if [ -n "${NODE_REDUNDANCY_XML:-}" ] &&
  grep -q '<entry key="redundancy.noderole">Backup</entry>' "$NODE_REDUNDANCY_XML"; then
  log "this node is a pair's backup: it takes everything from its master; no restore"
  exit 0
fi
pending=$(mktemp "$volume/.ignition-stack-restore.XXXXXX")
work=$(mktemp -d)
trap 'rm -rf "$pending" "$work"' EXIT
if [ -n "${RESTORE_URL:-}" ]; then
  # The URL is not logged: a pre-signed URL is a credential.
  log "downloading the backup"
  curl -fsSL --proto =https --max-filesize "$limit" --retry 3 -o "$pending" "$RESTORE_URL" ||
    die "could not download the backup from restore.url (reachable, https, at most $limit bytes?)"
else
  source_file=${RESTORE_SOURCE:?neither RESTORE_SOURCE nor RESTORE_URL is set}
  [ -f "$source_file" ] || die "no backup at $source_file: is restore.path a file in the repository?"
  size=$(stat -L -c %s "$source_file")
  [ "$size" -le "$limit" ] || die "the backup is $size bytes, more than the $limit a restore stages"
  cp "$source_file" "$pending"
fi
size=$(stat -c %s "$pending")
[ "$size" -le "$limit" ] || die "the backup is $size bytes, more than the $limit a restore stages"
# The checksum of the copy that is staged, not of the source, which could change in between.
actual=$(sha256sum "$pending" | cut -d ' ' -f 1)
if [ "$actual" != "${RESTORE_SHA256:?RESTORE_SHA256 is not set}" ]; then
  die "checksum mismatch: the backup's sha256 is $actual, restore.sha256 pins $RESTORE_SHA256;" \
    "the gateway does not start until they agree"
fi
# A gwbk is a zip archive (local file headers start with "PK").
[ "$(head -c 2 "$pending")" = PK ] || die "the pinned file is not a gateway backup (not a zip archive)"
if [ -n "${NODE_REDUNDANCY_XML:-}" ]; then set_pairing_keys "$pending"; fi
mv -f "$pending" "$staged"
log "staged the backup (sha256 $actual) for the gateway's first start"
