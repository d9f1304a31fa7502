#!/bin/bash
# The gateway container's entrypoint, on both targets: loads the node's own settings, re-asserts
# its pairing keys, then runs the image's own entrypoint with the gateway's arguments. The official
# Helm chart starts its gateways through a shim of the same kind (docker-entrypoint-shim.sh).
#
#   NODE_ENVIRONMENT     a file of NAME='value' lines: the settings that differ between the two
#                        nodes of a Kubernetes pair, whose pods share one template (unset elsewhere)
#   NODE_REDUNDANCY_XML  the node's redundancy.xml as ignition-stack ships it (unset outside a pair)
#   NODE_PUBLIC_ADDRESS, NODE_PUBLIC_HTTP_PORT, NODE_PUBLIC_HTTPS_PORT
#                        a pair node's own public address, from NODE_ENVIRONMENT when the two nodes
#                        have different ones: passed as the image's -a/-h/-s runtime arguments
#   IGNITION_ENTRYPOINT  the image's entrypoint (default /usr/local/bin/docker-entrypoint.sh)
#   IGNITION_STACK_DATA  the gateway's data directory (default /usr/local/bin/ignition/data)
#
# A backup the seeding step staged (restore-backup.sh) is handed to the image's `-r` runtime
# argument on this start only: it is renamed first, and removed on the next start, so no later
# start restores it again. (`-r <file.gwbk>`: how the Testcontainers module for the official
# image restores, 8.1 and 8.3; docs/research/gateway-contents.md §2.)
#
# The seeding step re-asserts the pairing keys too, but a restart by Compose's restart policy or by
# the kubelet runs the gateway container alone: re-asserting here keeps the role on every start.
set -euo pipefail

data=${IGNITION_STACK_DATA:-/usr/local/bin/ignition/data}
if [ -n "${NODE_ENVIRONMENT:-}" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$NODE_ENVIRONMENT"
  set +a
fi
if [ -n "${NODE_REDUNDANCY_XML:-}" ]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/redundancy-keys.sh" "$NODE_REDUNDANCY_XML" "$data/redundancy.xml"
fi
if [ -f "$data/.ignition-stack-restore-given.gwbk" ]; then
  rm -f "$data/.ignition-stack-restore-given.gwbk"
  echo "start-gateway: the staged backup was handed to the gateway on an earlier start; removed"
fi
if [ -f "$data/.ignition-stack-restore.gwbk" ]; then
  mv -f "$data/.ignition-stack-restore.gwbk" "$data/.ignition-stack-restore-given.gwbk"
  set -- -r "$data/.ignition-stack-restore-given.gwbk" "$@"
  echo "start-gateway: restoring the staged backup on this first start (-r)"
fi
if [ -n "${NODE_PUBLIC_ADDRESS:-}" ]; then
  set -- -a "$NODE_PUBLIC_ADDRESS" -h "${NODE_PUBLIC_HTTP_PORT:?}" -s "${NODE_PUBLIC_HTTPS_PORT:?}" "$@"
fi
exec "${IGNITION_ENTRYPOINT:-/usr/local/bin/docker-entrypoint.sh}" "$@"
