"""CloudNativePG's own CRDs, for validating the database ``Cluster`` the Kubernetes target emits
(``pinned_crds.py``; version and hash: docs/research/around-gateways.md §2)."""

from __future__ import annotations

from .pinned_crds import PinnedCrds

PINNED = PinnedCrds(
    label="CloudNativePG",
    name="cloudnative-pg",
    module="github.com/cloudnative-pg/cloudnative-pg",
    version="v1.27.0",
    module_sum="h1:mp0zlYO4vKAJmQdArWORWKr1lmB4Hj8JeBQGX5RBnpg=",
    group="postgresql.cnpg.io",
    source="config/crd/bases",
)
VERSION, MODULE, CRDS = PINNED.version, PINNED.module, PINNED.crds
crd_documents = PINNED.crd_documents
crd_schemas = PINNED.crd_schemas
schema_location = PINNED.schema_location
is_cloudnative_pg = PINNED.owns
problems = PINNED.problems
validate_objects = PINNED.validate_objects
