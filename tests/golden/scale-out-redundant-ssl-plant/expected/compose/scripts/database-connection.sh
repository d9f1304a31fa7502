#!/bin/bash
# Writes a gateway's database connections into its data volume, as Ignition 8.3's file-based
# configuration resources, before the gateway starts. Run by seed-data-volume.sh on every start.
#
#   database-connection.sh VOLUME
#   DATABASE_WAIT              host:port: first wait until the database accepts TCP connections
#                              (Kubernetes; bash's /dev/tcp, no other tool), at most
#   DATABASE_WAIT_SECONDS      seconds (default 600), then fail: the pod's init container is
#                              restarted with a back-off
#   DATABASE_CONNECTIONS       names of the connections to write, separated by spaces; unset:
#                              only wait
#   DATABASE_RESOURCES         their folder, relative to VOLUME (8.3:
#                              config/resources/external/ignition/database-connection)
#   DATABASE_URL               connectURL, from non-secret parts only (no password in it)
#   DATABASE_DRIVER, DATABASE_TRANSLATOR, DATABASE_VALIDATION_QUERY, DATABASE_USERNAME
#   DATABASE_PASSWORD_FILE     the mounted secret whose first line is the password
#   NODE_REDUNDANCY_XML        the node's redundancy.xml (unset outside a pair): a pair's backup
#                              writes nothing, it receives the connections from its master by
#                              config sync (docs/research/around-gateways.md §1.1)
#
# Layout and keys: docs/research/around-gateways.md §1.1, from a real exported 8.3 connection
# (config.json and resource.json of config/resources/core/ignition/database-connection/<name>/).
# Each connection is written once: a marker VOLUME/.ignition-stack-database-<name> records it,
# and a connection folder that exists already (the user's, or a restored one) is kept as it is.
set -euo pipefail

volume=$(cd "${1:?usage: database-connection.sh VOLUME}" && pwd)

log() { printf 'database-connection: %s\n' "$*"; }
die() { log "$*"; exit 1; }

wait_for_database() {
  local host=${DATABASE_WAIT%:*} port=${DATABASE_WAIT##*:} limit=${DATABASE_WAIT_SECONDS:-600}
  local started=$SECONDS
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    if [ $((SECONDS - started)) -ge "$limit" ]; then
      die "the database at $host:$port did not accept connections within $limit s"
    fi
    log "waiting for the database at $host:$port"
    sleep 2
  done
  log "the database at $host:$port accepts connections"
}

# $1 as a JSON string (quotes included); a control character cannot be written and stops.
json_string() {
  local text=$1
  if [[ $text =~ [[:cntrl:]] ]]; then return 1; fi
  text=${text//\\/\\\\}
  text=${text//\"/\\\"}
  printf '"%s"' "$text"
}

new_uuid() {
  if [ -r /proc/sys/kernel/random/uuid ]; then cat /proc/sys/kernel/random/uuid
  else od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
    sed 's/^\(........\)\(....\)\(....\)\(....\)\(............\)$/\1-\2-\3-\4-\5/'; fi
}

# The gateway's keys of a database connection, in the order it exports them; the password as a
# plain JSON string (the form the 8.3 HTTP API takes; docs/security.md, "The database password").
config_json() {
  local password=$1
  cat <<JSON
{
  "connectURL": $(json_string "$DATABASE_URL"),
  "connectionProps": "",
  "connectionResetParams": "",
  "defaultTransactionLevel": "DEFAULT",
  "driver": $(json_string "$DATABASE_DRIVER"),
  "evictionRate": -1,
  "evictionTests": 3,
  "evictionTime": 1800000,
  "failoverMode": "STANDARD",
  "failoverProfile": "",
  "includeSchemaInTableName": false,
  "password": $password,
  "poolInitSize": 0,
  "poolMaxActive": 8,
  "poolMaxIdle": 8,
  "poolMaxWait": 5000,
  "poolMinIdle": 0,
  "slowQueryLogThreshold": 60000,
  "testOnBorrow": true,
  "testOnReturn": false,
  "testWhileIdle": false,
  "translator": $(json_string "$DATABASE_TRANSLATOR"),
  "username": $(json_string "$DATABASE_USERNAME"),
  "validationQuery": $(json_string "$DATABASE_VALIDATION_QUERY"),
  "validationSleepTime": 10000
}
JSON
}

resource_json() {
  cat <<JSON
{
  "scope": "A",
  "description": "",
  "version": 1,
  "restricted": false,
  "overridable": true,
  "files": [
    "config.json"
  ],
  "attributes": {
    "uuid": "$(new_uuid)",
    "enabled": true
  }
}
JSON
}

write_connection() {
  local name=$1 password=$2 folder marker pending
  folder="$volume/${DATABASE_RESOURCES:?DATABASE_RESOURCES is not set}/$name"
  marker="$volume/.ignition-stack-database-$name"
  if [ -e "$marker" ]; then
    log "connection $name was written on an earlier start; keeping it as it is now"
    return 0
  fi
  if [ -e "$folder" ]; then
    log "a connection named $name exists already; keeping it"
    touch "$marker"
    return 0
  fi
  mkdir -p "$(dirname "$folder")"
  pending=$(mktemp -d "$(dirname "$folder")/.$name.XXXXXX")
  # Only the gateway's user reads the file that holds the password.
  (umask 077 && config_json "$password" >"$pending/config.json")
  resource_json >"$pending/resource.json"
  chmod 700 "$pending"
  mv "$pending" "$folder"
  touch "$marker"
  log "wrote the connection $name ($DATABASE_DRIVER, $DATABASE_URL, user $DATABASE_USERNAME)"
}

if [ -n "${DATABASE_WAIT:-}" ]; then wait_for_database; fi
[ -n "${DATABASE_CONNECTIONS:-}" ] || exit 0

if [ -n "${NODE_REDUNDANCY_XML:-}" ] &&
  grep -q '<entry key="redundancy.noderole">Backup</entry>' "$NODE_REDUNDANCY_XML"; then
  log "this node is a pair's backup: it receives the connections from its master"
  exit 0
fi

password_file=${DATABASE_PASSWORD_FILE:?DATABASE_PASSWORD_FILE is not set}
[ -f "$password_file" ] || die "no database password file at $password_file"
password=
IFS= read -r password <"$password_file" || true
[ -n "$password" ] || die "the database password file $password_file is empty"
quoted=$(json_string "$password") || die "the database password holds a control character"
for name in $DATABASE_CONNECTIONS; do
  write_connection "$name" "$quoted"
done
