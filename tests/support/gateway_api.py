"""The Gateway API's own CRDs (standard channel), for validating the HTTPRoutes the Kubernetes
target emits with ``web:`` and ``kubernetes.web.route: httproute`` (``pinned_crds.py``; version
and hash: docs/research/around-gateways.md §4.3)."""

from __future__ import annotations

from .pinned_crds import PinnedCrds

PINNED = PinnedCrds(
    label="Gateway API",
    name="gateway-api",
    module="sigs.k8s.io/gateway-api",
    version="v1.3.0",
    module_sum="h1:q6okN+/UKDATola4JY7zXzx40WO4VISk7i9DIfOvr9M=",
    group="gateway.networking.k8s.io",
    source="config/crd/standard",
)
VERSION, MODULE, CRDS = PINNED.version, PINNED.module, PINNED.crds
crd_documents = PINNED.crd_documents
schema_location = PINNED.schema_location
is_gateway_api = PINNED.owns
problems = PINNED.problems
validate_gateway_api_objects = PINNED.validate_objects
