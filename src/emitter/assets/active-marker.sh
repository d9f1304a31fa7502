#!/bin/bash
# Marks which node of a redundant pair is active, for the pair's `-active` Service (Kubernetes).
#
# Every few seconds it reads the gateway's /system/gwinfo on localhost and sets its own pod's
# label ignition-stack.io/active to "true" when the gateway is RUNNING and reports
# RedundantNodeActiveStatus=Active, "false" otherwise (no answer included). /system/gwinfo is the
# only source of which node is active (docs/research/around-gateways.md §4.5); the pair's
# readiness cannot tell, because a healthy standby is ready too.
#
# It writes to the Kubernetes API only when the value changes: a JSON merge patch of the pod's
# labels, with the pod's projected ServiceAccount token, whose Role may get and patch the pair's
# two pods and nothing else (docs/security.md). On start it reads the label it finds, so a
# restarted marker patches nothing that is already right.
#
#   POD_NAME, POD_NAMESPACE   the pod to label (the downward API sets them)
#   GATEWAY_HTTP_PORT         the gateway's HTTP port (default 8088)
#   KUBERNETES_API            the API server (default https://kubernetes.default.svc)
#   ACTIVE_MARKER_CREDENTIALS directory with `token` and `ca.crt`
#                             (default /var/run/secrets/ignition-stack/kubernetes-api)
#   ACTIVE_MARKER_INTERVAL    seconds between two looks (default 5)
set -uo pipefail

: "${POD_NAME:?the pod to label (downward API metadata.name)}"
: "${POD_NAMESPACE:?the namespace of the pod (downward API metadata.namespace)}"
port=${GATEWAY_HTTP_PORT:-8088}
api=${KUBERNETES_API:-https://kubernetes.default.svc}
credentials=${ACTIVE_MARKER_CREDENTIALS:-/var/run/secrets/ignition-stack/kubernetes-api}
interval=${ACTIVE_MARKER_INTERVAL:-5}
label=ignition-stack.io/active
pod_url="$api/api/v1/namespaces/$POD_NAMESPACE/pods/$POD_NAME"
current="" # the label as last seen or set; empty: unknown

# The token goes to curl on its standard input (a config file), never on a command line that
# other processes could read; it is read again on every call, as the kubelet rotates it.
kubernetes() {
  local token
  token=$(cat "$credentials/token") || return 1
  printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl -fsS --max-time 5 --cacert "$credentials/ca.crt" --config - "$@" "$pod_url"
}

# "true" when this node is the active one, "false" otherwise.
observe() {
  local info context activity
  if ! info=$(curl -fsS --max-time 3 "http://localhost:$port/system/gwinfo" 2>/dev/null); then
    echo false
    return
  fi
  field() { printf '%s\n' "$info" | tr ';' '\n' | sed -n "s/^$1=//p" | head -n 1; }
  context=$(field ContextStatus)
  activity=$(field RedundantNodeActiveStatus)
  if [ "$context" = RUNNING ] && [ "$activity" = Active ]; then echo true; else echo false; fi
}

mark() {
  local body
  body=$(printf '{"metadata":{"labels":{"%s":"%s"}}}' "$label" "$1")
  if kubernetes -X PATCH -H "Content-Type: application/merge-patch+json" --data "$body" \
    -o /dev/null; then
    echo "$POD_NAME: $label=$1"
    current=$1
  else
    echo "could not set $label=$1 on $POD_NAME; trying again" >&2
    current=""
  fi
}

# The label as the pod has it now (the API server may pretty-print its JSON).
seen=$(kubernetes 2>/dev/null |
  tr -d ' \n' | grep -o "\"$label\":\"[a-z]*\"" | head -n 1 | cut -d'"' -f4) || seen=""
current=${seen:-}

# On stop (a rollout, a drain): this node stops serving, so say so at once instead of leaving
# the Service on a pod that is going away until its endpoints follow.
stop() {
  [ "$current" = false ] || mark false
  exit 0
}
trap stop TERM INT

while :; do
  now=$(observe)
  [ "$now" = "$current" ] || mark "$now"
  sleep "$interval" &
  wait $! # in the background, so a TERM is handled at once
done
