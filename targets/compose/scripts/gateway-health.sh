#!/bin/bash
# Health of an Ignition gateway, for Compose healthchecks and Kubernetes probes.
#
#   gateway-health.sh live    the gateway's web server answers /StatusPing
#   gateway-health.sh ready   /system/gwinfo says RUNNING and, in a redundant pair, this node
#                             is the active one or a backup whose sync state is Good
#
# A backup therefore turns healthy (Compose) / ready (Kubernetes) only once it has paired:
# `docker compose ps` and `kubectl get pods` show whether the pair formed.
set -uo pipefail

port=${GATEWAY_HTTP_PORT:-8088}
timeout=${HEALTH_TIMEOUT:-3}
base="http://localhost:$port"

case "${1:-ready}" in
  live)
    curl -fsS --max-time "$timeout" -o /dev/null "$base/StatusPing"
    ;;
  ready)
    if ! info=$(curl -fsS --max-time "$timeout" "$base/system/gwinfo"); then
      echo "no answer from $base/system/gwinfo" >&2
      exit 1
    fi
    field() { printf '%s\n' "$info" | tr ';' '\n' | sed -n "s/^$1=//p" | head -n 1; }
    context=$(field ContextStatus)
    case "$context" in
      RUNNING | NEEDS_COMMISSIONING) ;;
      *) echo "ContextStatus is ${context:-missing}" >&2; exit 1 ;;
    esac
    role=$(field RedundancyStatus)
    if [ -z "$role" ] || [ "$role" = Independent ]; then exit 0; fi
    if [ "$(field RedundantNodeActiveStatus)" = Active ]; then exit 0; fi
    if [ "$(field RedundantState)" = Good ]; then exit 0; fi
    echo "$role not active and not in sync (RedundantState=$(field RedundantState))" >&2
    exit 1
    ;;
  *)
    echo "usage: $0 live|ready" >&2
    exit 2
    ;;
esac
