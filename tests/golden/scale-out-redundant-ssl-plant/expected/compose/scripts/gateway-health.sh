#!/bin/bash
# Readiness of an Ignition gateway: the Compose healthcheck and the Kubernetes readiness probe.
# Exit 0 ready, 1 not ready (the reason on stderr), 2 usage.
#
#   NODE_REDUNDANCY_XML  the node's redundancy.xml as ignition-stack ships it (unset: the node is
#                        in no pair). Its redundancy.noderole is the role this node must have;
#                        the copy in the data volume is what the gateway runs, and may differ.
#   GATEWAY_HTTP_PORT    the gateway's HTTP port (default 8088)
#   HEALTH_DATA          the gateway's data directory (default /usr/local/bin/ignition/data)
#   HEALTH_TIMEOUT       seconds to wait for /system/gwinfo (default 3)
#
# /system/gwinfo answers `key=value;` pairs (the official Helm chart's redundant-health-check.sh
# and its helm test parse the same fields): ContextStatus, RedundancyStatus (Independent, Master,
# Backup), RedundantState (Good, OutOfDate, Incompatible, Unknown) and RedundantNodeActiveStatus
# (Active, Standby). The README's health table lists every situation and its verdict:
#
# - not RUNNING (STARTING, NEEDS_COMMISSIONING, FAULTED, no answer): not ready. The environment
#   commissions every gateway, so one that waits for commissioning did not take it.
# - outside any pair: ready when RUNNING.
# - a pair member whose RedundancyStatus is not its role (Independent: its redundancy.xml did not
#   take): never ready.
# - the master: ready when active, or standby and connected (after a failover it comes back as
#   standby when master recovery is manual).
# - the backup: ready when connected to its master: RedundantState Good, or OutOfDate / Incompatible
#   (a sync in progress, or a version skew while the pair is upgraded backup first: the official
#   chart accepts both "to facilitate better automated upgrades", CHANGELOG 0.2.1).
# - the backup, active: ready only if it has been connected to its master before (a failover). A
#   backup that never reached its master makes itself active once its startup connection allowance
#   (redundancy.joinwaittime) runs out (IA docs, "Setting Up Redundancy"): two active nodes, a
#   split brain, never shown as ready. The first time a backup is seen connected, this script
#   records it in the data volume ($HEALTH_DATA/.ignition-stack-paired).
set -uo pipefail

port=${GATEWAY_HTTP_PORT:-8088}
timeout=${HEALTH_TIMEOUT:-3}
data=${HEALTH_DATA:-/usr/local/bin/ignition/data}
paired_marker="$data/.ignition-stack-paired"

not_ready() {
  echo "not ready: $*" >&2
  exit 1
}

if [ "$#" -gt 1 ] || { [ "$#" = 1 ] && [ "$1" != ready ]; }; then
  echo "usage: $0 [ready]" >&2
  exit 2
fi

expected=Independent
if [ -n "${NODE_REDUNDANCY_XML:-}" ]; then
  expected=$(sed -n 's|^[[:space:]]*<entry key="redundancy\.noderole">\(.*\)</entry>.*|\1|p' \
    "$NODE_REDUNDANCY_XML" 2>/dev/null | head -n 1)
  [ -n "$expected" ] || not_ready "no redundancy.noderole in $NODE_REDUNDANCY_XML"
fi

info=$(curl -fsS --max-time "$timeout" "http://localhost:$port/system/gwinfo") ||
  not_ready "no answer from http://localhost:$port/system/gwinfo"
field() { printf '%s\n' "$info" | tr ';' '\n' | sed -n "s/^$1=//p" | head -n 1; }
context=$(field ContextStatus)
status=$(field RedundancyStatus)
state=$(field RedundantState)
activity=$(field RedundantNodeActiveStatus)

[ "$context" = RUNNING ] || not_ready "ContextStatus is ${context:-missing}"
if [ "$expected" = Independent ]; then
  exit 0
fi
[ "$status" = "$expected" ] ||
  not_ready "RedundancyStatus is ${status:-missing}, expected $expected (is data/redundancy.xml the one ignition-stack seeded?)"

connected=false
case "$state" in Good | OutOfDate | Incompatible) connected=true ;; esac

if [ "$expected" = Master ]; then
  if [ "$activity" = Active ] || $connected; then exit 0; fi
  not_ready "master is ${activity:-not active} and not connected to its backup (RedundantState=${state:-missing})"
fi

if $connected; then
  [ -e "$paired_marker" ] || touch "$paired_marker" 2>/dev/null ||
    echo "cannot record the pairing in $paired_marker" >&2
  exit 0
fi
if [ "$activity" = Active ]; then
  [ -e "$paired_marker" ] && exit 0
  not_ready "backup is active but has never been connected to its master (split brain): check that the master runs and that the backup can reach and trust it"
fi
not_ready "backup is not connected to its master (RedundantState=${state:-missing})"
