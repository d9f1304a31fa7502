#!/bin/bash
# Installs a gateway's Gateway Network certificates into its data volume, so that the gateway
# presents a certificate signed by the stack CA and trusts every peer signed by that CA (SSL
# pairing on port 8060 with no Approve click). Run by the seeding step before the gateway starts,
# on every start: as the Compose bootstrap service (as root; the caller chowns the volume
# afterwards) and as the Kubernetes init container (as uid 2003).
#
#   GAN_DATA                    the gateway's data volume root
#   GAN_NETWORK_DIR             the Ignition release's Gateway Network folder, relative to
#                               GAN_DATA (8.3: config/local/ignition/gateway-network; 8.1:
#                               gateway-network); ignition-stack's image.py has the table
#   GAN_METRO_KEYSTORE          the release's Gateway Network keystore, relative to GAN_DATA
#                               (8.3: config/local/ignition/gateway-network/keystore/
#                               metro-keystore.pfx; 8.1: local/metro-keystore)
#   GAN_CA_CERT                 PEM CA certificate to trust (only its CERTIFICATE blocks are used)
#   GAN_KEYSTORE                the gateway's keystore (PKCS12, e.g. from the stack PKI or a
#                               cert-manager Secret); its private key entry is used, whatever
#                               its alias (`metro-key` is preferred when there are several)
#   GAN_KEYSTORE_PASSWORD_FILE  file whose first line is that keystore's password (optional;
#                               default password: metro)
#   GAN_KEYSTORE_FORMAT         "metro" when GAN_KEYSTORE already is what Ignition reads (PKCS12,
#                               password metro, its only entry the private key metro-key, as
#                               gateway-network-pki.sh issues it): it is then installed byte for
#                               byte, without starting keytool (optional)
#   KEYTOOL                     the keytool to run (default: keytool on PATH)
#
# Writes, under $GAN_DATA:
#   $GAN_NETWORK_DIR/{server,client}/security/pki/trusted/certs/ignition-stack-ca.crt
#                         the CA, rewritten only when its content differs
#   $GAN_METRO_KEYSTORE   PKCS12, password metro, the private key under alias metro-key (only
#                         that entry); replaced only when its certificate's SHA-256 fingerprint
#                         differs from the source entry's
# A second run changes nothing. Uses only bash, coreutils, sed/awk and keytool (no openssl); with
# GAN_KEYSTORE_FORMAT=metro not even keytool.
set -euo pipefail

log() { printf 'install-gateway-network-certificates: %s\n' "$*"; }
die() {
  printf 'install-gateway-network-certificates: error: %s\n' "$*" >&2
  exit 1
}

keytool=${KEYTOOL:-keytool}
jvm_options=(-J-XX:+IgnoreUnrecognizedVMOptions -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC
  -J-Duser.language=en -J-Duser.country=US)
# An empty PKCS12 keystore protected by the password "metro" (written by Java 17's
# KeyStore.store). keytool refuses to *create* a keystore whose password is shorter than 6
# characters, but works on an existing one; Ignition's keystore password "metro" has 5.
empty_metro_keystore='MGUCAQMwEQYJKoZIhvcNAQcBoAQEAjAAME0wMTANBglghkgBZQMEAgEFAAQgU4KaLpjxPTbL9oSz8bKUP5zbdaKLddZ2amaZgZY/4UgEFOyYWPyx+psa5uoBrd6OjeRcgTaoAgInEA=='

# keytool's output (stdout and stderr) for the given arguments; it never prompts: stdin is empty.
kt() { "$keytool" "${jvm_options[@]}" "$@" </dev/null 2>&1; }

# The "keytool error: ..." line of keytool output $1 (all of it if there is none).
keytool_error() {
  local line
  line=$(printf '%s\n' "$1" | grep -m 1 '^keytool error' || true)
  printf '%s\n' "${line:-$1}"
}

# "alias<TAB>SHA-256 fingerprint" of each private key entry of keystore $1, opened with the
# password held in the environment variable $2.
private_keys() {
  local listing
  listing=$(kt -list -v -keystore "$1" -storepass:env "$2") || {
    keytool_error "$listing"
    return 1
  }
  printf '%s\n' "$listing" | awk '
    /^Alias name: / { alias = substr($0, 13); type = ""; fingerprint = "" }
    /^Entry type: / { type = substr($0, 13) }
    /^[[:space:]]*SHA256: / && fingerprint == "" {
      fingerprint = $2
      if (type == "PrivateKeyEntry") print alias "\t" fingerprint
    }'
}

# --- checks ------------------------------------------------------------------------------------

for variable in GAN_DATA GAN_NETWORK_DIR GAN_METRO_KEYSTORE GAN_CA_CERT GAN_KEYSTORE; do
  [ -n "${!variable:-}" ] || die "$variable is not set"
done
for variable in GAN_NETWORK_DIR GAN_METRO_KEYSTORE; do
  case "/${!variable}/" in
    //* | */../* | */./*) die "$variable must be a plain path relative to GAN_DATA, not '${!variable}'" ;;
  esac
done
[ -d "$GAN_DATA" ] || die "GAN_DATA: no data volume at $GAN_DATA"
[ -f "$GAN_CA_CERT" ] || die "GAN_CA_CERT: CA certificate $GAN_CA_CERT not found"
[ -f "$GAN_KEYSTORE" ] || die "GAN_KEYSTORE: keystore $GAN_KEYSTORE not found"
metro_format=""
case "${GAN_KEYSTORE_FORMAT:-}" in
  "") ;;
  metro) metro_format=1 ;;
  *) die "GAN_KEYSTORE_FORMAT must be metro or unset, not '$GAN_KEYSTORE_FORMAT'" ;;
esac
if [ -n "$metro_format" ] && [ -n "${GAN_KEYSTORE_PASSWORD_FILE:-}" ]; then
  die "GAN_KEYSTORE_FORMAT=metro means the password is metro: unset GAN_KEYSTORE_PASSWORD_FILE"
fi
if [ -n "${GAN_KEYSTORE_PASSWORD_FILE:-}" ]; then
  [ -f "$GAN_KEYSTORE_PASSWORD_FILE" ] || die "GAN_KEYSTORE_PASSWORD_FILE: password file $GAN_KEYSTORE_PASSWORD_FILE not found"
  GAN_SOURCE_STOREPASS=""
  IFS= read -r GAN_SOURCE_STOREPASS <"$GAN_KEYSTORE_PASSWORD_FILE" || true
  GAN_SOURCE_STOREPASS=${GAN_SOURCE_STOREPASS%$'\r'}
  [ -n "$GAN_SOURCE_STOREPASS" ] || die "GAN_KEYSTORE_PASSWORD_FILE: $GAN_KEYSTORE_PASSWORD_FILE is empty"
  password_source="the password in $GAN_KEYSTORE_PASSWORD_FILE"
else
  GAN_SOURCE_STOREPASS=metro
  password_source="the default password 'metro' (set GAN_KEYSTORE_PASSWORD_FILE for another)"
fi
export GAN_SOURCE_STOREPASS
export GAN_METRO_STOREPASS=metro
if [ -z "$metro_format" ]; then
  command -v "$keytool" >/dev/null 2>&1 || die "keytool not found (put it on PATH or set KEYTOOL)"
fi

umask 022
gan=$GAN_DATA/$GAN_NETWORK_DIR
target=$GAN_DATA/$GAN_METRO_KEYSTORE
keystore_dir=$(dirname "$target")
keystore_name=$(basename "$target")
pending=""
trap 'if [ -n "$pending" ]; then rm -f "$pending"; fi' EXIT

# The alias and SHA-256 fingerprint of the source keystore's private key entry.
source_private_key() {
  keys=$(private_keys "$GAN_KEYSTORE" GAN_SOURCE_STOREPASS) ||
    die "GAN_KEYSTORE: keytool cannot open $GAN_KEYSTORE with $password_source: $keys"
  [ -n "$keys" ] || die "GAN_KEYSTORE: $GAN_KEYSTORE holds no private key entry"
  if [ "$(printf '%s\n' "$keys" | wc -l)" -gt 1 ]; then
    keys=$(printf '%s\n' "$keys" | awk -F '\t' '$1 == "metro-key"')
    [ -n "$keys" ] || die "GAN_KEYSTORE: $GAN_KEYSTORE holds several private key entries and none is 'metro-key'"
  fi
  alias=${keys%%$'\t'*}
  fingerprint=${keys#*$'\t'}
}

# --- the source keystore: its private key entry, read before anything is written -------------

# (A keystore in the metro form was checked by the PKI that issued it.)
if [ -z "$metro_format" ]; then source_private_key; fi

# --- the CA, trusted for incoming (server) and outgoing (client) connections -------------------

ca_pem=$(tr -d '\r' <"$GAN_CA_CERT" | awk '
  /^-----BEGIN CERTIFICATE-----$/ { inside = 1 }
  inside { print }
  /^-----END CERTIFICATE-----$/ { inside = 0 }')
[ -n "$ca_pem" ] || die "GAN_CA_CERT: $GAN_CA_CERT holds no PEM certificate"
ca_checked=""
for side in server client; do
  dir=$gan/$side/security/pki/trusted/certs
  file=$dir/ignition-stack-ca.crt
  if printf '%s\n' "$ca_pem" | cmp -s - "$file"; then
    log "$side trusted CA up to date"
    continue
  fi
  mkdir -p "$dir"
  pending=$dir/.ignition-stack-ca.crt.tmp
  printf '%s\n' "$ca_pem" >"$pending"
  if [ -z "$ca_checked" ] && [ -z "$metro_format" ]; then
    output=$(kt -printcert -file "$pending") || die "GAN_CA_CERT: keytool cannot read $GAN_CA_CERT: $(keytool_error "$output")"
    ca_checked=1
  fi
  chmod 644 "$pending"
  mv -f "$pending" "$file"
  pending=""
  log "placed the CA in ${file#"$GAN_DATA"/}"
done

# --- the keystore ($GAN_METRO_KEYSTORE) ------------------------------------------------------

if [ -n "$metro_format" ]; then
  if cmp -s "$GAN_KEYSTORE" "$target"; then
    log "$keystore_name up to date (the same bytes as $GAN_KEYSTORE)"
    exit 0
  fi
  mkdir -p "$keystore_dir"
  pending=$keystore_dir/.$keystore_name.tmp
  (umask 077 && cp "$GAN_KEYSTORE" "$pending")
  chmod 640 "$pending"
  mv -f "$pending" "$target"
  pending=""
  log "installed $keystore_name: $GAN_KEYSTORE as issued by the stack PKI"
  exit 0
fi

installed=""
if [ -f "$target" ]; then
  if listing=$(private_keys "$target" GAN_METRO_STOREPASS); then
    installed=$(printf '%s\n' "$listing" | awk -F '\t' '$1 == "metro-key" { print $2 }')
  fi
fi
if [ "$installed" = "$fingerprint" ]; then
  log "$keystore_name up to date (metro-key SHA-256 $fingerprint)"
  exit 0
fi

mkdir -p "$keystore_dir"
pending=$keystore_dir/.$keystore_name.tmp
rm -f "$pending"
(umask 077 && printf '%s' "$empty_metro_keystore" | base64 -d >"$pending")
output=$(kt -importkeystore -noprompt -srckeystore "$GAN_KEYSTORE" \
  -srcstorepass:env GAN_SOURCE_STOREPASS -srcalias "$alias" \
  -destkeystore "$pending" -deststoretype PKCS12 -deststorepass:env GAN_METRO_STOREPASS \
  -destalias metro-key) || die "keytool could not copy entry '$alias' of $GAN_KEYSTORE: $(keytool_error "$output")"
listing=$(private_keys "$pending" GAN_METRO_STOREPASS) || die "the new $keystore_name does not open with 'metro': $listing"
[ "$listing" = "metro-key"$'\t'"$fingerprint" ] || die "the new $keystore_name does not hold exactly metro-key ($fingerprint): $listing"
# Readable by the gateway: as uid 2003 it owns the file; as root the caller chowns it.
chmod 640 "$pending"
mv -f "$pending" "$target"
pending=""
log "installed $keystore_name: entry '$alias' of $GAN_KEYSTORE as metro-key (SHA-256 $fingerprint)"
