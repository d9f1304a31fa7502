#!/bin/sh
# Turns the MQTT broker's password (a Docker secret file, or a Kubernetes Secret's key) into
# the broker's password file, on every start, so a changed password takes effect on the next.
# mosquitto_passwd reads the password from its standard input, written there by the shell's
# builtin printf: it never appears on a command line (`ps`). (`-b` would put it there, and
# `-U` cuts a password at its first ':'.)
#
#   MQTT_USERNAME         the user the gateways log in as
#   MQTT_PASSWORD_SOURCE  the file that holds the password (one line)
#   MQTT_PASSWORD_FILE    the password file the broker reads (mosquitto.conf's password_file)
#   MQTT_PASSWORD_OWNER   optional uid:gid to hand the written files to (the broker's user)
#   MQTT_CLIENT_PASSWORD  optional: also copy the password here, for the broker's own health
#                         check (a client that logs in), readable by that owner only
set -eu

: "${MQTT_USERNAME:?MQTT_USERNAME is not set}"
: "${MQTT_PASSWORD_SOURCE:?MQTT_PASSWORD_SOURCE is not set}"
: "${MQTT_PASSWORD_FILE:?MQTT_PASSWORD_FILE is not set}"

fail() {
  echo "mqtt-password-file: $*" >&2
  exit 1
}

[ -r "$MQTT_PASSWORD_SOURCE" ] || fail "cannot read the password file $MQTT_PASSWORD_SOURCE (see POST-SETUP.md, MQTT broker)"
# $(...) drops the trailing newline(s) of the file; a newline inside would start a second entry.
password=$(cat "$MQTT_PASSWORD_SOURCE")
[ -n "$password" ] || fail "the password in $MQTT_PASSWORD_SOURCE is empty"
case $password in
  *"
"*) fail "the password in $MQTT_PASSWORD_SOURCE has more than one line" ;;
esac

# The directory (a volume, usually there already) must let the broker's user through.
mkdir -p "$(dirname "$MQTT_PASSWORD_FILE")"
umask 077
staged="$MQTT_PASSWORD_FILE.new"
rm -f "$staged"
# It asks twice ("Password:", "Reenter password:"); -c creates the file with this one user.
printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd -c "$staged" "$MQTT_USERNAME" >/dev/null ||
  { rm -f "$staged"; fail "mosquitto_passwd could not hash the password"; }
if [ -n "${MQTT_PASSWORD_OWNER:-}" ]; then
  chown "$MQTT_PASSWORD_OWNER" "$staged"
fi
chmod 0400 "$staged"
mv -f "$staged" "$MQTT_PASSWORD_FILE"

if [ -n "${MQTT_CLIENT_PASSWORD:-}" ]; then
  rm -f "$MQTT_CLIENT_PASSWORD.new"
  printf '%s\n' "$password" >"$MQTT_CLIENT_PASSWORD.new"
  if [ -n "${MQTT_PASSWORD_OWNER:-}" ]; then
    chown "$MQTT_PASSWORD_OWNER" "$MQTT_CLIENT_PASSWORD.new"
  fi
  chmod 0400 "$MQTT_CLIENT_PASSWORD.new"
  mv -f "$MQTT_CLIENT_PASSWORD.new" "$MQTT_CLIENT_PASSWORD"
fi
echo "mqtt-password-file: wrote the password file for user $MQTT_USERNAME"
