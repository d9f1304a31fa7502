#!/bin/bash
# Prepares what the web proxy (Traefik) of a Compose stack reads, as a one-shot service (as root)
# on every `up`, before the proxy starts.
#
# Without WEB_ACME_DIR: the stack's web CA and the proxy's TLS certificate. The CA is the web's
# own, not the Gateway Network's: a certificate the Gateway Network CA signed is trusted by every
# gateway as a peer, and a web certificate must never be one.
#
#   WEB_CA_DIR          private directory (its own volume, 0700) for the CA: ca.key, ca.crt and
#                       the issue record; only this service mounts it
#   WEB_CERT_DIR        what the proxy mounts read-only: web.crt (the certificate, then the CA),
#                       web.key (0400, owned by WEB_OWNER) and ca.crt (0644), the certificate
#                       users add to their trust store
#   WEB_STACK           stack name; the CA is "CN=<stack> Web CA"
#   WEB_HOSTS           whitespace-separated DNS names the certificate is issued for
#   WEB_OWNER           uid:gid the proxy runs as (it reads web.key)
#   WEB_VALIDITY_DAYS   validity of the certificate in days (default 397)
#   WEB_RENEW_DAYS      re-issue this many days before it expires (default 30)
#
# With WEB_ACME_DIR (the proxy gets its certificate from ACME): only makes that directory, the
# proxy's ACME storage, writable by WEB_OWNER and no one else.
#
# First run: the CA (RSA 2048, CA:true, keyCertSign, 10 years). Every run: a certificate (RSA
# 2048, SAN = the hosts, serverAuth) when there is none, when the hosts or the CA changed, or
# when it expires within WEB_RENEW_DAYS; otherwise nothing is touched. Needs openssl.
set -euo pipefail

log() { printf 'web-certificates: %s\n' "$*"; }
die() {
  printf 'web-certificates: error: %s\n' "$*" >&2
  exit 1
}

owner=${WEB_OWNER:-}
[[ $owner =~ ^[0-9]+:[0-9]+$ ]] || die "WEB_OWNER must be uid:gid, not '$owner'"

if [ -n "${WEB_ACME_DIR:-}" ]; then
  mkdir -p "$WEB_ACME_DIR"
  chown "$owner" "$WEB_ACME_DIR"
  chmod 700 "$WEB_ACME_DIR"
  log "ACME storage $WEB_ACME_DIR is the proxy's ($owner)"
  exit 0
fi

for variable in WEB_CA_DIR WEB_CERT_DIR WEB_STACK WEB_HOSTS; do
  [ -n "${!variable:-}" ] || die "$variable is not set"
done
openssl=${OPENSSL:-openssl}
command -v "$openssl" >/dev/null 2>&1 || die "openssl not found (put it on PATH or set OPENSSL)"
validity_days=${WEB_VALIDITY_DAYS:-397}
renew_days=${WEB_RENEW_DAYS:-30}
[[ $validity_days =~ ^[1-9][0-9]*$ ]] || die "WEB_VALIDITY_DAYS must be a positive number, not '$validity_days'"
[[ $renew_days =~ ^[0-9]+$ ]] || die "WEB_RENEW_DAYS must be a number, not '$renew_days'"
((renew_days < validity_days)) || die "WEB_RENEW_DAYS ($renew_days) must be less than WEB_VALIDITY_DAYS ($validity_days)"
stack_pattern='^[A-Za-z0-9][A-Za-z0-9._ -]*$'
[[ $WEB_STACK =~ $stack_pattern ]] || die "WEB_STACK '$WEB_STACK' may hold only letters, digits, '.', '_', '-' and spaces"

label='[a-z0-9]([-a-z0-9]*[a-z0-9])?'
host_pattern="^$label(\\.$label)*\$"
hosts=()
read -r -d '' -a hosts <<<"$WEB_HOSTS" || true
[ "${#hosts[@]}" -gt 0 ] || die "WEB_HOSTS lists no host"
for host in "${hosts[@]}"; do
  if ! [[ $host =~ $host_pattern ]] || [ "${#host}" -gt 253 ]; then
    die "host '$host' in WEB_HOSTS is not a lower-case DNS name"
  fi
done
subject_names="DNS:$(
  IFS=,
  echo "${hosts[*]}" | sed 's/,/,DNS:/g'
)"

ca_dir=$(realpath -m "$WEB_CA_DIR")
cert_dir=$(realpath -m "$WEB_CERT_DIR")
case "$ca_dir/" in "$cert_dir"/*) die "WEB_CA_DIR must not be inside WEB_CERT_DIR: the CA key would be published" ;; esac
umask 077
mkdir -p "$ca_dir" "$cert_dir"
chmod 700 "$ca_dir"
chmod 755 "$cert_dir"
work=$(mktemp -d "$ca_dir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

quietly() {
  local output
  if ! output=$("$@" </dev/null 2>&1); then
    printf 'web-certificates: error: %s failed: %s\n' "$1 $2" "$output" >&2
    return 1
  fi
}

# Replace file $2 by file $1 with mode $3 and owner $4 (atomically, within $2's directory).
publish() {
  local pending
  pending=$(dirname "$2")/.$(basename "$2").tmp
  cp "$1" "$pending"
  chmod "$3" "$pending"
  chown "$4" "$pending"
  mv -f "$pending" "$2"
}

cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $subject_names
EOF

if [ ! -f "$ca_dir/ca.key" ] || [ ! -f "$ca_dir/ca.crt" ]; then
  quietly "$openssl" req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -subj "/CN=$WEB_STACK Web CA" -config "$work/openssl.cnf" -extensions ca \
    -keyout "$work/ca.key" -out "$work/ca.crt"
  mv -f "$work/ca.key" "$ca_dir/ca.key"
  mv -f "$work/ca.crt" "$ca_dir/ca.crt"
  log "created the CA 'CN=$WEB_STACK Web CA'"
fi
ca_sum=$(sha256sum <"$ca_dir/ca.crt" | cut -d ' ' -f 1)
wanted="hosts=${hosts[*]} ca=$ca_sum"

reason=""
if [ ! -f "$cert_dir/web.crt" ] || [ ! -f "$cert_dir/web.key" ]; then
  reason="no certificate yet"
elif [ "$(cat "$ca_dir/issued" 2>/dev/null || true)" != "$wanted" ]; then
  reason="the hosts or the CA changed"
elif ! "$openssl" x509 -in "$cert_dir/web.crt" -noout -checkend $((renew_days * 86400)) >/dev/null 2>&1; then
  reason="it expires within $renew_days days"
fi

if [ -n "$reason" ]; then
  serial=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  quietly "$openssl" req -new -newkey rsa:2048 -nodes -subj "/CN=${hosts[0]}" \
    -config "$work/openssl.cnf" -keyout "$work/web.key" -out "$work/web.csr"
  quietly "$openssl" x509 -req -in "$work/web.csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" \
    -set_serial "0x$serial" -sha256 -days "$validity_days" -extfile "$work/openssl.cnf" \
    -extensions server -out "$work/web.crt"
  cat "$ca_dir/ca.crt" >>"$work/web.crt"
  publish "$work/web.key" "$cert_dir/web.key" 400 "$owner"
  publish "$work/web.crt" "$cert_dir/web.crt" 444 "$owner"
  printf '%s\n' "$wanted" >"$ca_dir/issued"
  log "issued web.crt for ${hosts[*]}, valid $validity_days days ($reason)"
else
  log "web.crt is up to date"
fi
if ! cmp -s "$ca_dir/ca.crt" "$cert_dir/ca.crt"; then
  publish "$ca_dir/ca.crt" "$cert_dir/ca.crt" 444 0:0
  log "published ca.crt"
fi
