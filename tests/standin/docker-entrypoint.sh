#!/bin/bash
# Entrypoint of the Ignition gateway test double (same path as the official image's,
# /usr/local/bin/docker-entrypoint.sh; facts §2.2). Not Ignition: see gateway.py.
exec python3 /usr/local/lib/ignition-standin/gateway.py "$@"
