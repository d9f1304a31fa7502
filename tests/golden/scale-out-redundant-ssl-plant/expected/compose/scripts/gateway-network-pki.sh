#!/bin/bash
# Issues the Gateway Network certificates of a Compose stack: one stack CA, and per gateway the
# keystore Ignition reads as metro-keystore.pfx (PKCS12, password "metro", one private key entry
# `metro-key` whose certificate the CA signed), so that every gateway trusts every other one over
# SSL (port 8060) without an Approve click. Runs as a one-shot service (as root) on every `up`,
# before the gateways' bootstrap steps, which install the issued files with
# install-gateway-network-certificates.sh.
#
#   PKI_CA_DIR          private directory (its own volume, kept 0700) for the CA: ca.p12, its
#                       random password (ca.password), ca.crt and one issue record per gateway
#                       (issued/<name>); only this service ever mounts it
#   PKI_GATEWAY_DIR     where a gateway's files go: a path in which "{gateway}" stands for the
#                       gateway's name (the Compose target mounts each gateway's own certificates
#                       volume there, and only that gateway's bootstrap mounts it again). Each
#                       receives keystore.p12 (0600) and ca.crt (0644)
#   PKI_STACK           stack name; the CA is "CN=<stack> Gateway Network CA"
#   PKI_GATEWAYS        whitespace-separated entries name=dns1,dns2,... (dns1 is the gateway's
#                       own service name; a bare name means name=name)
#   PKI_VALIDITY_DAYS   validity of a gateway certificate in days (default 825)
#   PKI_RENEW_DAYS      re-issue a certificate this many days before it expires (default 30)
#   PKI_TOOL            openssl or keytool (default: openssl when the image has it, else keytool)
#   PKI_JOBS            keystores issued in parallel (default: the CPUs for openssl, half of them
#                       for keytool, at least 1)
#   OPENSSL, KEYTOOL    the openssl and keytool to run (default: the ones on PATH)
#
# First run: creates the CA (RSA 2048, CA:true, keyCertSign, 10 years). Every run: issues a
# keystore (RSA 2048; SAN = the DNS names; digitalSignature, keyEncipherment; serverAuth,
# clientAuth) for each gateway that has none, whose certificate expires within PKI_RENEW_DAYS,
# or whose DNS names or CA changed. Everything else is left byte for byte as it was. The CA key
# and its password never leave PKI_CA_DIR. Both tools write the same files: openssl needs a few
# milliseconds per gateway, keytool (a JVM start per step, five steps) about two seconds.
set -euo pipefail

log() { printf 'gateway-network-pki: %s\n' "$*"; }
die() {
  printf 'gateway-network-pki: error: %s\n' "$*" >&2
  exit 1
}

for variable in PKI_CA_DIR PKI_GATEWAY_DIR PKI_STACK PKI_GATEWAYS; do
  [ -n "${!variable:-}" ] || die "$variable is not set"
done
# What Ignition opens metro-keystore.pfx with; the bootstrap copies the keystore as it is.
export PKI_KEYSTORE_PASSWORD=metro
validity_days=${PKI_VALIDITY_DAYS:-825}
renew_days=${PKI_RENEW_DAYS:-30}
ca_validity_days=3650
openssl=${OPENSSL:-openssl}
keytool=${KEYTOOL:-keytool}
tool=${PKI_TOOL:-}
if [ -z "$tool" ]; then
  if command -v "$openssl" >/dev/null 2>&1; then tool=openssl; else tool=keytool; fi
fi
cpus=$(nproc 2>/dev/null || echo 2)
case "$tool" in
  openssl) default_jobs=$cpus ;;
  # A keytool JVM keeps about two CPUs busy, so more jobs than half the CPUs only slow it down.
  keytool) default_jobs=$((cpus > 3 ? cpus / 2 : 1)) ;;
  *) die "PKI_TOOL must be openssl or keytool, not '$tool'" ;;
esac
parallel=${PKI_JOBS:-$default_jobs}
# Written into every issue record: a keystore issued in another form is issued again.
keystore_format=metro-pkcs12-1

# keytool starts a JVM per call: a client-compiler-only, serial-GC JVM starts about twice as
# fast; English output keeps it parseable whatever the image's locale.
jvm_options=(-J-XX:+IgnoreUnrecognizedVMOptions -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC
  -J-Duser.language=en -J-Duser.country=US)

# An empty PKCS12 keystore protected by the password "metro" (written by Java 17's
# KeyStore.store). keytool refuses to *create* a keystore whose password is shorter than 6
# characters, but works on an existing one; Ignition's keystore password "metro" has 5.
empty_metro_keystore='MGUCAQMwEQYJKoZIhvcNAQcBoAQEAjAAME0wMTANBglghkgBZQMEAgEFAAQgU4KaLpjxPTbL9oSz8bKUP5zbdaKLddZ2amaZgZY/4UgEFOyYWPyx+psa5uoBrd6OjeRcgTaoAgInEA=='

# Run a tool quietly (stdin is empty, so it never prompts); on failure show what it said.
quietly() {
  local name=$1 output
  shift
  if ! output=$("$@" </dev/null 2>&1); then
    printf 'gateway-network-pki: error: %s failed: %s\n' "$name" "$output" >&2
    return 1
  fi
}
kt() { quietly "keytool $1" "$keytool" "${jvm_options[@]}" "$@"; }
ossl() { quietly "openssl $1" "$openssl" "$@"; }

sha256() { sha256sum | cut -d ' ' -f 1; }

# Create directory $1 (parents 0755) and give it mode $2, touching it only when needed.
ensure_dir() {
  [ -d "$1" ] || (umask 022 && mkdir -p "$1")
  [ "$(stat -c %a "$1")" = "$2" ] || chmod "$2" "$1"
}

# Replace file $2 by file $1 with mode $3 (atomically: a rename within $2's directory).
publish() {
  local pending
  pending=$(dirname "$2")/.$(basename "$2").tmp
  cp "$1" "$pending"
  chmod "$3" "$pending"
  mv -f "$pending" "$2"
}

# --- checks ------------------------------------------------------------------------------------

if [ "$tool" = openssl ]; then
  command -v "$openssl" >/dev/null 2>&1 || die "openssl not found (put it on PATH, set OPENSSL, or set PKI_TOOL=keytool)"
else
  command -v "$keytool" >/dev/null 2>&1 || die "keytool not found (put it on PATH or set KEYTOOL)"
fi
[[ $validity_days =~ ^[1-9][0-9]*$ ]] || die "PKI_VALIDITY_DAYS must be a positive number of days, not '$validity_days'"
[[ $parallel =~ ^[1-9][0-9]*$ ]] || die "PKI_JOBS must be a positive number, not '$parallel'"
[[ $renew_days =~ ^[0-9]+$ ]] || die "PKI_RENEW_DAYS must be a number of days, not '$renew_days'"
((renew_days < validity_days)) || die "PKI_RENEW_DAYS ($renew_days) must be less than PKI_VALIDITY_DAYS ($validity_days)"
stack_pattern='^[A-Za-z0-9][A-Za-z0-9._ -]*$'
[[ $PKI_STACK =~ $stack_pattern ]] || die "PKI_STACK '$PKI_STACK' may hold only letters, digits, '.', '_', '-' and spaces"
case "$PKI_GATEWAY_DIR" in
  /*"{gateway}"*) ;;
  *) die "PKI_GATEWAY_DIR must be an absolute path with {gateway} in it, not '$PKI_GATEWAY_DIR'" ;;
esac

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

# The directory of gateway $1's files.
gateway_dir() { printf '%s\n' "${PKI_GATEWAY_DIR//\{gateway\}/$1}"; }

ca_dir=$(realpath -m "$PKI_CA_DIR")
# Everything below the fixed part of PKI_GATEWAY_DIR may be published to a bootstrap.
published_root=$(realpath -m "${PKI_GATEWAY_DIR%%\{gateway\}*}")
case "$ca_dir/" in
  "$published_root"/*) die "PKI_CA_DIR ($ca_dir) must not be inside $published_root, where PKI_GATEWAY_DIR publishes the gateways' files: the CA key would be published" ;;
esac
umask 077
ensure_dir "$ca_dir" 700

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
# A scratch directory inside the private CA directory, made when first needed (a run that
# changes nothing touches nothing).
ensure_work() {
  if [ -z "$work" ]; then work=$(mktemp -d "$ca_dir/.work.XXXXXX"); fi
}

# --- openssl -----------------------------------------------------------------------------------

# The extensions of the CA and of each gateway's certificate (the same ones keytool writes).
openssl_config() {
  cat <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[gateway]
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# A PKCS12 file $4 holding key $1 and certificate $2 under alias $3, protected by password
# source $5 (openssl's -passout syntax); the key is read with password source $6 (empty: it is
# not encrypted), and certificate $7 (optional) is added to the chain. PBES2 with AES-256 and an
# HMAC-SHA256 MAC whatever the openssl version's defaults: what Java 17 opens.
openssl_pkcs12() {
  local arguments=(-export -inkey "$1" -in "$2" -name "$3" -out "$4" -passout "$5"
    -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256)
  if [ -n "${6:-}" ]; then arguments+=(-passin "$6"); fi
  if [ -n "${7:-}" ]; then arguments+=(-certfile "$7"); fi
  ossl pkcs12 "${arguments[@]}"
}

openssl_create_ca() {
  openssl_config >"$work/openssl.cnf"
  ossl req -x509 -new -newkey rsa:2048 -sha256 -days "$ca_validity_days" \
    -subj "/CN=$PKI_STACK Gateway Network CA" -config "$work/openssl.cnf" -extensions ca \
    -passout env:PKI_CA_PASSWORD -keyout "$work/ca.key" -out "$work/ca.crt"
  openssl_pkcs12 "$work/ca.key" "$work/ca.crt" ca "$pending" env:PKI_CA_PASSWORD \
    env:PKI_CA_PASSWORD
  rm -f "$work/ca.key" "$work/ca.crt"
}

# The CA key, still encrypted with the CA password, for signing in this run.
openssl_prepare() {
  openssl_config >"$work/openssl.cnf"
  ossl pkcs12 -in "$ca_keystore" -nocerts -passin env:PKI_CA_PASSWORD \
    -passout env:PKI_CA_PASSWORD -out "$work/ca.key"
}

# Gateway $1's keystore $3 for DNS names $2.
openssl_issue() {
  local name=$1 dns=$2 keystore=$3 serial
  local key=$work/$name.key csr=$work/$name.csr certificate=$work/$name.crt
  local extensions=$work/$name.cnf
  {
    openssl_config | sed -n '/^\[gateway\]/,$p'
    echo "subjectAltName = DNS:${dns//,/,DNS:}"
  } >"$extensions"
  ossl req -new -newkey rsa:2048 -nodes -subj "/CN=${dns%%,*}" -config "$work/openssl.cnf" \
    -keyout "$key" -out "$csr"
  serial=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  ossl x509 -req -in "$csr" -CA "$ca_cert" -CAkey "$work/ca.key" \
    -passin env:PKI_CA_PASSWORD -set_serial "0x$serial" -sha256 -days "$validity_days" \
    -extfile "$extensions" -extensions gateway -out "$certificate"
  openssl_pkcs12 "$key" "$certificate" metro-key "$keystore" env:PKI_KEYSTORE_PASSWORD "" \
    "$ca_cert"
  rm -f "$key" "$csr" "$certificate" "$extensions"
}

# --- keytool -----------------------------------------------------------------------------------

keytool_create_ca() {
  kt -genkeypair -alias ca -keyalg RSA -keysize 2048 -sigalg SHA256withRSA \
    -validity "$ca_validity_days" -dname "CN=$PKI_STACK Gateway Network CA" \
    -ext BC:c=ca:true,pathlen:0 -ext KU:c=keyCertSign,cRLSign \
    -keystore "$pending" -storetype PKCS12 -storepass:env PKI_CA_PASSWORD
}

# A keystore holding only the CA as a trusted certificate, so that keytool accepts the signed
# reply: each gateway starts from a copy of it.
keytool_prepare() {
  printf '%s' "$empty_metro_keystore" | base64 -d >"$work/base.p12"
  kt -importcert -noprompt -alias ignition-stack-ca -file "$ca_cert" \
    -keystore "$work/base.p12" -storetype PKCS12 -storepass:env PKI_KEYSTORE_PASSWORD
}

keytool_issue() {
  local name=$1 dns=$2 keystore=$3 csr=$work/$1.csr reply=$work/$1.crt
  local store=(-keystore "$keystore" -storetype PKCS12 -storepass:env PKI_KEYSTORE_PASSWORD)
  cp "$work/base.p12" "$keystore"
  kt -genkeypair -alias metro-key -keyalg RSA -keysize 2048 -sigalg SHA256withRSA \
    -dname "CN=${dns%%,*}" "${store[@]}"
  kt -certreq -alias metro-key "${store[@]}" -file "$csr"
  kt -gencert -alias ca -keystore "$ca_keystore" -storepass:env PKI_CA_PASSWORD \
    -infile "$csr" -outfile "$reply" -rfc -sigalg SHA256withRSA -validity "$validity_days" \
    -ext "SAN=dns:${dns//,/,dns:}" -ext KU:c=digitalSignature,keyEncipherment \
    -ext EKU=serverAuth,clientAuth
  kt -importcert -alias metro-key -file "$reply" "${store[@]}"
  # Only metro-key stays: the gateways trust the CA from their trust folders.
  kt -delete -alias ignition-stack-ca "${store[@]}"
  rm -f "$csr" "$reply"
}

# The CA password, for the tools (in this process's environment only: never on a command line).
read_ca_password() {
  IFS= read -r PKI_CA_PASSWORD <"$ca_password_file" || true
  [ -n "$PKI_CA_PASSWORD" ] || die "the CA password file $ca_password_file is empty"
  export PKI_CA_PASSWORD
}

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
  read_ca_password
  ensure_work
  "${tool}_create_ca"
  chmod 600 "$pending"
  mv -f "$pending" "$ca_keystore"
  pending=""
  rm -f "$ca_cert"
  log "created the CA 'CN=$PKI_STACK Gateway Network CA' ($ca_keystore, valid $ca_validity_days days, $tool)"
fi
[ -f "$ca_password_file" ] || die "$ca_keystore exists but its password file $ca_password_file is missing: restore it, or delete $ca_keystore to start a new CA (every gateway then gets a new keystore)"
read_ca_password
if [ ! -f "$ca_cert" ]; then
  ensure_work
  if [ "$tool" = openssl ]; then
    ossl pkcs12 -in "$ca_keystore" -nokeys -clcerts -passin env:PKI_CA_PASSWORD -out "$work/ca.pem"
    awk '/^-----BEGIN CERTIFICATE-----$/ { inside = 1 } inside { print } /^-----END CERTIFICATE-----$/ { inside = 0 }' \
      "$work/ca.pem" >"$work/ca.crt"
  else
    kt -exportcert -rfc -alias ca -keystore "$ca_keystore" -storepass:env PKI_CA_PASSWORD -file "$work/ca.crt"
  fi
  publish "$work/ca.crt" "$ca_cert" 644
  log "exported the CA certificate to $ca_cert"
fi
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_cert" || die "$ca_cert is not a PEM certificate; delete it to export it again"

# --- the gateways ------------------------------------------------------------------------------

ca_sum=$(sha256 <"$ca_cert")
now=$(date +%s)

# Why gateway $1 (DNS names $2) needs a new keystore; prints nothing when it does not.
reissue_reason() {
  local name=$1 dns=$2 record="$records/$1" keystore
  local not_after
  keystore=$(gateway_dir "$name")/keystore.p12
  if [ ! -f "$keystore" ]; then echo "no keystore yet"; return 0; fi
  if [ ! -f "$record" ]; then echo "no issue record for the existing keystore"; return 0; fi
  field() { sed -n "s/^$1=//p" "$record" | head -n 1; }
  if [ "$(field format)" != "$keystore_format" ]; then echo "issued in an older form"; return 0; fi
  if [ "$(field dns)" != "$dns" ]; then echo "DNS names changed from $(field dns)"; return 0; fi
  if [ "$(field ca)" != "$ca_sum" ]; then echo "the CA changed"; return 0; fi
  if [ "$(field keystore)" != "$(sha256 <"$keystore")" ]; then echo "keystore.p12 was modified"; return 0; fi
  not_after=$(field not_after)
  if ! [[ $not_after =~ ^[0-9]+$ ]]; then echo "unreadable issue record"; return 0; fi
  if ((not_after - now <= renew_days * 86400)); then echo "expires within $renew_days days"; fi
  return 0
}

# Issue gateway $1's keystore for DNS names $2 (because $3). Runs as a background job.
issue() {
  local name=$1 dns=$2 reason=$3 keystore=$work/$1.p12 dir not_after record_tmp
  dir=$(gateway_dir "$name")
  # Recorded before signing, so it is never later than the certificate's real notAfter.
  not_after=$(($(date +%s) + validity_days * 86400))
  "${tool}_issue" "$name" "$dns" "$keystore"
  ensure_dir "$dir" 755
  publish "$keystore" "$dir/keystore.p12" 600
  rm -f "$keystore"
  record_tmp=$records/.$name.tmp
  {
    echo "format=$keystore_format"
    echo "dns=$dns"
    echo "not_after=$not_after"
    echo "ca=$ca_sum"
    echo "keystore=$(sha256 <"$dir/keystore.p12")"
  } >"$record_tmp"
  mv -f "$record_tmp" "$records/$name"
  log "$name: issued keystore.p12 for $dns, valid $validity_days days ($reason)"
}

# Up to PKI_JOBS gateways are issued at once.
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
prepared=""
issued=0
for name in "${names[@]}"; do
  dns=${dns_of[$name]}
  reason=$(reissue_reason "$name" "$dns")
  if [ -z "$reason" ]; then
    expiry=$(sed -n 's/^not_after=//p' "$records/$name" | head -n 1)
    log "$name: keystore up to date (valid until $(date -u -d "@$expiry" +%Y-%m-%d))"
    continue
  fi
  if [ -z "$prepared" ]; then
    ensure_work
    "${tool}_prepare"
    ensure_dir "$records" 700
    prepared=1
  fi
  issue "$name" "$dns" "$reason" &
  job_pids+=("$!")
  job_names+=("$name")
  issued=$((issued + 1))
  [ "${#job_pids[@]}" -lt "$parallel" ] || wait_for_jobs
done
wait_for_jobs
[ "${#failed[@]}" -eq 0 ] || die "could not issue the keystore of: ${failed[*]}"

# Each gateway's directory carries the CA certificate too, so that its bootstrap needs nothing
# outside it (and never sees another gateway's keystore).
for name in "${names[@]}"; do
  dir=$(gateway_dir "$name")
  if ! cmp -s "$ca_cert" "$dir/ca.crt"; then
    ensure_dir "$dir" 755
    publish "$ca_cert" "$dir/ca.crt" 644
    log "$name: published ca.crt"
  fi
done
log "done ($issued keystore(s) issued with $tool)"
