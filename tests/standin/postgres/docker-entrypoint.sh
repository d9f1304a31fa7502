#!/bin/bash
# Stand-in for docker-library/postgres's docker-entrypoint.sh, doing as root what it does before
# it drops to the postgres user: read POSTGRES_PASSWORD_FILE (the file_env function), hand the
# data directory to the postgres user with mode 0700, then run as that user (gosu there,
# setpriv here). The "server" becomes ready after STANDIN_STARTUP seconds (a real first start
# runs initdb): it writes what it was started with to $PGDATA/ready, which pg_isready reads.
set -euo pipefail
[ -n "${POSTGRES_PASSWORD_FILE:-}" ] || { echo "stand-in: POSTGRES_PASSWORD_FILE is not set" >&2; exit 1; }
[ -z "${POSTGRES_PASSWORD:-}" ] || { echo "stand-in: POSTGRES_PASSWORD and _FILE are exclusive" >&2; exit 1; }
password=$(cat "$POSTGRES_PASSWORD_FILE")
mkdir -p "$PGDATA"
find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
chmod 0700 "$PGDATA"
export STANDIN_PASSWORD_SHA256
STANDIN_PASSWORD_SHA256=$(printf '%s' "$password" | sha256sum | cut -d ' ' -f 1)
unset password POSTGRES_PASSWORD_FILE
exec setpriv --reuid=999 --regid=999 --init-groups -- bash -c '
  sleep "${STANDIN_STARTUP:-6}"
  printf "%s %s %s %s\n" "$(id -u)" "$POSTGRES_USER" "$POSTGRES_DB" "$STANDIN_PASSWORD_SHA256" \
    > "$PGDATA/ready"
  exec sleep infinity
'
