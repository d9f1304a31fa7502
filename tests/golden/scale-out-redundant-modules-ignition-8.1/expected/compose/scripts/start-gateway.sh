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
#
# The seeding step re-asserts the pairing keys too, but a restart by Compose's restart policy or by
# the kubelet runs the gateway container alone: re-asserting here keeps the role on every start.
set -euo pipefail

data=/usr/local/bin/ignition/data
if [ -n "${NODE_ENVIRONMENT:-}" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$NODE_ENVIRONMENT"
  set +a
fi
if [ -n "${NODE_REDUNDANCY_XML:-}" ]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/redundancy-keys.sh" "$NODE_REDUNDANCY_XML" "$data/redundancy.xml"
fi
if [ -n "${NODE_PUBLIC_ADDRESS:-}" ]; then
  set -- -a "$NODE_PUBLIC_ADDRESS" -h "${NODE_PUBLIC_HTTP_PORT:?}" -s "${NODE_PUBLIC_HTTPS_PORT:?}" "$@"
fi
exec "${IGNITION_ENTRYPOINT:-/usr/local/bin/docker-entrypoint.sh}" "$@"
