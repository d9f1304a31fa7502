#!/bin/bash
# Issues the Gateway Network certificates of a Compose stack: one stack CA, and per gateway a
# PKCS12 keystore whose private key entry `metro-key` holds a certificate signed by that CA, so
# that every gateway trusts every other one over SSL (port 8060) without an Approve click.
# Runs as a one-shot service (as root) on every `up`, before the gateways' bootstrap steps,
# which install the issued files with install-gateway-network-certificates.sh.
#
#   PKI_CA_DIR             private directory (its own volume, kept 0700) for the CA: ca.p12, its
#                          random password (ca.password), ca.crt and one issue record per
#                          gateway (issued/<name>); only this service ever mounts it
#   PKI_ISSUED_DIR         receives ca.crt and, per gateway, gateways/<name>/keystore.p12 and a
#                          copy of ca.crt (files 0644, directories 0755): each bootstrap step
#                          mounts only its own gateways/<name>, read-only
#   PKI_STACK              stack name; the CA is "CN=<stack> Gateway Network CA"
#   PKI_GATEWAYS           whitespace-separated entries name=dns1,dns2,... (dns1 is the gateway's
#                          own service name; a bare name means name=name)
#   PKI_KEYSTORE_PASSWORD  password of the issued keystores (default metro, what Ignition expects)
#   PKI_VALIDITY_DAYS      validity of a gateway certificate in days (default 825)
#   PKI_RENEW_DAYS         re-issue a certificate this many days before it expires (default 30)
#   PKI_JOBS               keystores issued in parallel (default: half the CPUs, at least 1)
#   KEYTOOL                the keytool to run (default: keytool on PATH)
#
# First run: creates the CA (RSA 2048, CA:true, keyCertSign, 10 years). Every run: issues a
# keystore (RSA 2048; SAN = the DNS names; digitalSignature, keyEncipherment; serverAuth,
# clientAuth) for each gateway that has none, whose certificate expires within PKI_RENEW_DAYS,
# or whose DNS names, keystore password or CA changed. Everything else is left byte for byte as
# it was. The CA key and its password never leave PKI_CA_DIR. Uses only bash, coreutils,
# sed/awk and keytool (no openssl: the Ignition image does not promise it).
set -euo pipefail

log() { printf 'gateway-network-pki: %s\n' "$*"; }
die() {
  printf 'gateway-network-pki: error: %s\n' "$*" >&2
  exit 1
}

for variable in PKI_CA_DIR PKI_ISSUED_DIR PKI_STACK PKI_GATEWAYS; do
  [ -n "${!variable:-}" ] || die "$variable is not set"
done
export PKI_KEYSTORE_PASSWORD=${PKI_KEYSTORE_PASSWORD:-metro}
validity_days=${PKI_VALIDITY_DAYS:-825}
renew_days=${PKI_RENEW_DAYS:-30}
ca_validity_days=3650
# A keytool JVM keeps about two CPUs busy, so more jobs than half the CPUs only slow things down.
cpus=$(nproc 2>/dev/null || echo 2)
parallel=${PKI_JOBS:-$((cpus > 3 ? cpus / 2 : 1))}
keytool=${KEYTOOL:-keytool}

# keytool starts a JVM per call: a client-compiler-only, serial-GC JVM starts about twice as
# fast; English output keeps it parseable whatever the image's locale.
jvm_options=(-J-XX:+IgnoreUnrecognizedVMOptions -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC
  -J-Duser.language=en -J-Duser.country=US)

# An empty PKCS12 keystore protected by the password "metro" (written by Java 17's
# KeyStore.store). keytool refuses to *create* a keystore whose password is shorter than 6
# characters, but works on an existing one; Ignition's keystore password "metro" has 5.
empty_metro_keystore='MGUCAQMwEQYJKoZIhvcNAQcBoAQEAjAAME0wMTANBglghkgBZQMEAgEFAAQgU4KaLpjxPTbL9oSz8bKUP5zbdaKLddZ2amaZgZY/4UgEFOyYWPyx+psa5uoBrd6OjeRcgTaoAgInEA=='

# Run keytool quietly (it never prompts: stdin is empty); on failure show what it said.
kt() {
  local output
  if ! output=$("$keytool" "${jvm_options[@]}" "$@" </dev/null 2>&1); then
    printf 'gateway-network-pki: error: keytool %s failed: %s\n' "$1" "$output" >&2
    return 1
  fi
}

sha256() { sha256sum | cut -d ' ' -f 1; }

# Create directory $1 (parents 0755) and give it mode $2, touching it only when needed.
ensure_dir() {
  [ -d "$1" ] || (umask 022 && mkdir -p "$1")
  [ "$(stat -c %a "$1")" = "$2" ] || chmod "$2" "$1"
}

# --- checks ------------------------------------------------------------------------------------

command -v "$keytool" >/dev/null 2>&1 || die "keytool not found (put it on PATH or set KEYTOOL)"
[[ $validity_days =~ ^[1-9][0-9]*$ ]] || die "PKI_VALIDITY_DAYS must be a positive number of days, not '$validity_days'"
[[ $parallel =~ ^[1-9][0-9]*$ ]] || die "PKI_JOBS must be a positive number, not '$parallel'"
[[ $renew_days =~ ^[0-9]+$ ]] || die "PKI_RENEW_DAYS must be a number of days, not '$renew_days'"
((renew_days < validity_days)) || die "PKI_RENEW_DAYS ($renew_days) must be less than PKI_VALIDITY_DAYS ($validity_days)"
if [ "$PKI_KEYSTORE_PASSWORD" != metro ] && [ "${#PKI_KEYSTORE_PASSWORD}" -lt 6 ]; then
  die "PKI_KEYSTORE_PASSWORD must be 'metro' or at least 6 characters (keytool cannot create keystores with shorter passwords)"
fi
stack_pattern='^[A-Za-z0-9][A-Za-z0-9._ -]*$'
[[ $PKI_STACK =~ $stack_pattern ]] || die "PKI_STACK '$PKI_STACK' may hold only letters, digits, '.', '_', '-' and spaces"

label='[a-z0-9]([-a-z0-9]*[a-z0-9])?'
name_pattern="^$label\$"
dns_pattern="^(\\*\\.)?$label(\\.$label)*\$"
names=()
declare -A dns_of=()
entries=()
read -r -d '' -a entries <<<"$PKI_GATEWAYS" || true
[ "${#entries[@]}" -gt 0 ] || die "PKI_GATEWAYS lists no gateway"
for entry in "${entries[@]}"; do
  name=${entry%%=*}
  dns=${entry#*=}
  if [[ $entry != *=* ]]; then dns=$name; fi
  if ! [[ $name =~ $name_pattern ]] || [ "${#name}" -gt 63 ]; then
    die "gateway name '$name' in PKI_GATEWAYS is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)"
  fi
  [ -z "${dns_of[$name]+set}" ] || die "gateway '$name' is listed twice in PKI_GATEWAYS"
  if [ -z "$dns" ] || [[ $dns == ,* || $dns == *, || $dns == *,,* ]]; then
    die "gateway '$name' in PKI_GATEWAYS has an empty DNS name ('$entry')"
  fi
  IFS=, read -r -a dns_names <<<"$dns"
  for dns_name in "${dns_names[@]}"; do
    if ! [[ $dns_name =~ $dns_pattern ]] || [ "${#dns_name}" -gt 253 ] || [[ $dns_name =~ [^.]{64} ]]; then
      die "DNS name '$dns_name' of gateway '$name' is not a valid DNS-1123 name"
    fi
  done
  names+=("$name")
  dns_of[$name]=$dns
done

ca_dir=$(realpath -m "$PKI_CA_DIR")
issued_dir=$(realpath -m "$PKI_ISSUED_DIR")
case "$ca_dir/" in
  "$issued_dir"/*) die "PKI_CA_DIR ($ca_dir) must not be PKI_ISSUED_DIR or inside it: the CA key would be published" ;;
esac
umask 077
ensure_dir "$ca_dir" 700
ensure_dir "$issued_dir" 755

ca_keystore=$ca_dir/ca.p12
ca_password_file=$ca_dir/ca.password
ca_cert=$ca_dir/ca.crt
records=$ca_dir/issued
work=""
pending=""
cleanup() {
  if [ -n "$pending" ]; then rm -f "$pending"; fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

# --- the CA ------------------------------------------------------------------------------------

if [ ! -f "$ca_keystore" ]; then
  if [ ! -f "$ca_password_file" ]; then
    password=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
    [ "${#password}" -eq 64 ] || die "could not read 32 random bytes from /dev/urandom"
    printf '%s\n' "$password" >"$ca_password_file.tmp"
    unset password
    chmod 600 "$ca_password_file.tmp"
    mv -f "$ca_password_file.tmp" "$ca_password_file"
    log "generated the CA keystore password ($ca_password_file)"
  fi
  pending=$ca_dir/.ca.p12.tmp
  rm -f "$pending"
  kt -genkeypair -alias ca -keyalg RSA -keysize 2048 -sigalg SHA256withRSA \
    -validity "$ca_validity_days" -dname "CN=$PKI_STACK Gateway Network CA" \
    -ext BC:c=ca:true,pathlen:0 -ext KU:c=keyCertSign,cRLSign \
    -keystore "$pending" -storetype PKCS12 -storepass:file "$ca_password_file"
  chmod 600 "$pending"
  mv -f "$pending" "$ca_keystore"
  pending=""
  rm -f "$ca_cert"
  log "created the CA 'CN=$PKI_STACK Gateway Network CA' ($ca_keystore, valid $ca_validity_days days)"
fi
[ -f "$ca_password_file" ] || die "$ca_keystore exists but its password file $ca_password_file is missing: restore it, or delete $ca_keystore to start a new CA (every gateway then gets a new keystore)"
if [ ! -f "$ca_cert" ]; then
  rm -f "$ca_cert.tmp"
  kt -exportcert -rfc -alias ca -keystore "$ca_keystore" -storepass:file "$ca_password_file" -file "$ca_cert.tmp"
  chmod 644 "$ca_cert.tmp"
  mv -f "$ca_cert.tmp" "$ca_cert"
  log "exported the CA certificate to $ca_cert"
fi
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_cert" || die "$ca_cert is not a PEM certificate; delete it to export it again"

if ! cmp -s "$ca_cert" "$issued_dir/ca.crt"; then
  cp "$ca_cert" "$issued_dir/.ca.crt.tmp"
  chmod 644 "$issued_dir/.ca.crt.tmp"
  mv -f "$issued_dir/.ca.crt.tmp" "$issued_dir/ca.crt"
  log "published ca.crt to $issued_dir"
fi
[ "$(stat -c %a "$issued_dir/ca.crt")" = 644 ] || chmod 644 "$issued_dir/ca.crt"

# --- the gateways ------------------------------------------------------------------------------

ca_sum=$(sha256 <"$ca_cert")
password_sum=$(printf '%s' "$PKI_KEYSTORE_PASSWORD" | sha256)
now=$(date +%s)

# Why gateway $1 (DNS names $2) needs a new keystore; prints nothing when it does not.
reissue_reason() {
  local name=$1 dns=$2 record="$records/$1" keystore="$issued_dir/gateways/$1/keystore.p12"
  local not_after
  if [ ! -f "$keystore" ]; then echo "no keystore yet"; return 0; fi
  if [ ! -f "$record" ]; then echo "no issue record for the existing keystore"; return 0; fi
  field() { sed -n "s/^$1=//p" "$record" | head -n 1; }
  if [ "$(field dns)" != "$dns" ]; then echo "DNS names changed from $(field dns)"; return 0; fi
  if [ "$(field ca)" != "$ca_sum" ]; then echo "the CA changed"; return 0; fi
  if [ "$(field password)" != "$password_sum" ]; then echo "the keystore password changed"; return 0; fi
  if [ "$(field keystore)" != "$(sha256 <"$keystore")" ]; then echo "keystore.p12 was modified"; return 0; fi
  not_after=$(field not_after)
  if ! [[ $not_after =~ ^[0-9]+$ ]]; then echo "unreadable issue record"; return 0; fi
  if ((not_after - now <= renew_days * 86400)); then echo "expires within $renew_days days"; fi
  return 0
}

# A scratch directory inside the private CA directory, and in it a keystore holding only the
# CA as a trusted certificate (so keytool accepts the signed reply): each gateway starts from
# a copy of it.
prepare_work() {
  work=$(mktemp -d "$ca_dir/.work.XXXXXX")
  if [ "$PKI_KEYSTORE_PASSWORD" = metro ]; then
    printf '%s' "$empty_metro_keystore" | base64 -d >"$work/base.p12"
  fi
  kt -importcert -noprompt -alias ignition-stack-ca -file "$ca_cert" \
    -keystore "$work/base.p12" -storetype PKCS12 -storepass:env PKI_KEYSTORE_PASSWORD
}

# Issue gateway $1's keystore for DNS names $2 (because $3). Runs as a background job.
issue() {
  local name=$1 dns=$2 reason=$3
  local keystore=$work/$name.p12 csr=$work/$name.csr reply=$work/$name.crt
  local dir=$issued_dir/gateways/$name not_after record_tmp
  trap 'rm -f "$pending"' EXIT
  cp "$work/base.p12" "$keystore"
  kt -genkeypair -alias metro-key -keyalg RSA -keysize 2048 -sigalg SHA256withRSA \
    -dname "CN=${dns%%,*}" -keystore "$keystore" -storetype PKCS12 \
    -storepass:env PKI_KEYSTORE_PASSWORD
  kt -certreq -alias metro-key -keystore "$keystore" -storetype PKCS12 \
    -storepass:env PKI_KEYSTORE_PASSWORD -file "$csr"
  # Recorded before signing, so it is never later than the certificate's real notAfter.
  not_after=$(($(date +%s) + validity_days * 86400))
  kt -gencert -alias ca -keystore "$ca_keystore" -storepass:file "$ca_password_file" \
    -infile "$csr" -outfile "$reply" -rfc -sigalg SHA256withRSA -validity "$validity_days" \
    -ext "SAN=dns:${dns//,/,dns:}" -ext KU:c=digitalSignature,keyEncipherment \
    -ext EKU=serverAuth,clientAuth
  kt -importcert -alias metro-key -file "$reply" -keystore "$keystore" -storetype PKCS12 \
    -storepass:env PKI_KEYSTORE_PASSWORD
  ensure_dir "$dir" 755
  pending=$dir/.keystore.p12.tmp
  cp "$keystore" "$pending"
  chmod 644 "$pending"
  mv -f "$pending" "$dir/keystore.p12"
  pending=""
  rm -f "$keystore" "$csr" "$reply"
  record_tmp=$records/.$name.tmp
  {
    echo "dns=$dns"
    echo "not_after=$not_after"
    echo "ca=$ca_sum"
    echo "password=$password_sum"
    echo "keystore=$(sha256 <"$dir/keystore.p12")"
  } >"$record_tmp"
  mv -f "$record_tmp" "$records/$name"
  log "$name: issued gateways/$name/keystore.p12 for $dns, valid $validity_days days ($reason)"
}

# Up to PKI_JOBS gateways are issued at once (each keytool call is a JVM start).
job_pids=()
job_names=()
failed=()
wait_for_jobs() {
  local index
  for index in "${!job_pids[@]}"; do
    wait "${job_pids[$index]}" || failed+=("${job_names[$index]}")
  done
  job_pids=()
  job_names=()
}
for name in "${names[@]}"; do
  dns=${dns_of[$name]}
  reason=$(reissue_reason "$name" "$dns")
  if [ -z "$reason" ]; then
    expiry=$(sed -n 's/^not_after=//p' "$records/$name" | head -n 1)
    log "$name: keystore up to date (valid until $(date -u -d "@$expiry" +%Y-%m-%d))"
    continue
  fi
  if [ -z "$work" ]; then
    prepare_work
    ensure_dir "$issued_dir/gateways" 755
    ensure_dir "$records" 700
  fi
  issue "$name" "$dns" "$reason" &
  job_pids+=("$!")
  job_names+=("$name")
  [ "${#job_pids[@]}" -lt "$parallel" ] || wait_for_jobs
done
wait_for_jobs
[ "${#failed[@]}" -eq 0 ] || die "could not issue the keystore of: ${failed[*]}"

# Each gateway's directory carries the CA certificate too, so that its bootstrap needs nothing
# outside it (and never sees another gateway's keystore).
for name in "${names[@]}"; do
  dir=$issued_dir/gateways/$name
  if ! cmp -s "$ca_cert" "$dir/ca.crt"; then
    cp "$ca_cert" "$dir/.ca.crt.tmp"
    chmod 644 "$dir/.ca.crt.tmp"
    mv -f "$dir/.ca.crt.tmp" "$dir/ca.crt"
    log "$name: published ca.crt to gateways/$name"
  fi
done

if [ -d "$issued_dir/gateways" ]; then
  for dir in "$issued_dir"/gateways/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    [ -n "${dns_of[$name]+set}" ] || log "$name: not in PKI_GATEWAYS; its keystore is left in place"
  done
fi
log "done"
