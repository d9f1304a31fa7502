"""The Compose target's part of ``validate``: compose files against the compose-spec schema
that check-jsonschema vendors (``--builtin-schema vendor.compose-spec``), read as Compose
(go-yaml v3) reads YAML.

A compose file is one named ``compose*.y(a)ml`` / ``docker-compose*.y(a)ml``, or any YAML file
holding a single document with ``services`` and neither ``apiVersion`` nor ``kind``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

from emitter import goyaml
from emitter.validation import (
    FileReport,
    ValidateOptions,
    parse,
    read_text,
    schema_problems,
)

_COMPOSE_NAME = re.compile(r"^(docker-)?compose[^/]*\.ya?ml$")


@functools.cache
def compose_schema() -> dict[str, Any]:
    """check-jsonschema's vendored compose-spec schema."""
    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "compose-spec.json"
    )
    schema: dict[str, Any] = json.loads(resource.read_bytes())
    return schema


@functools.cache
def _compose_validator() -> Any:
    import jsonschema

    schema = compose_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def compose_problems(document: Any) -> list[str]:
    """Problems of one compose document against the compose-spec schema (empty: valid)."""
    return schema_problems(_compose_validator(), document)


def is_compose_name(path: Path) -> bool:
    return bool(_COMPOSE_NAME.match(path.name))


def is_compose_document(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and "services" in document
        and "apiVersion" not in document
        and "kind" not in document
    )


def check_compose_text(path: Path, text: str) -> FileReport:
    report = FileReport(path)
    documents = parse(text, report, goyaml.load_v3)
    if documents is None:
        return report
    if len(documents) != 1:
        report.failures.append(
            f"a compose file holds exactly one YAML document, found {len(documents)}"
        )
        return report
    try:
        problems = compose_problems(documents[0])
    except Exception as exc:  # a broken schema or hostile input must not become a traceback
        report.failures.append(f"could not be validated: {exc}")
        return report
    report.failures.extend(problems)
    report.notes.append("compose-spec")
    return report


def compose_file_problems(path: Path) -> list[str]:
    """Why a compose file fails the compose-spec schema (or cannot be read); empty: valid."""
    report = FileReport(path)
    text = read_text(path, report)
    if text is None:
        return report.failures
    return check_compose_text(path, text).failures


# The web proxy's routes (``targets/compose/web.py``), in Traefik's file-provider format.
TRAEFIK_DYNAMIC_NAME = "traefik-dynamic.yaml"


def traefik_problems(document: Any) -> list[str]:
    """What Traefik would refuse or route nowhere in its dynamic configuration: unknown top-level
    sections, a router without a rule, entry point or service, and a router's or failover's
    service that is not defined. (Traefik publishes no schema this tool bundles.)"""
    if not isinstance(document, dict):
        return ["Traefik's dynamic configuration is a mapping (http:, tls:)"]
    problems = [
        f"{key}: not a section of the file provider"
        for key in document
        if key not in ("http", "tls", "tcp", "udp")
    ]
    http = document.get("http") or {}
    services = http.get("services") or {}
    for name, router in (http.get("routers") or {}).items():
        for key in ("rule", "entryPoints", "service"):
            if not (isinstance(router, dict) and router.get(key)):
                problems.append(f"http.routers.{name}: no {key}")
        if isinstance(router, dict) and router.get("service") not in services:
            problems.append(
                f"http.routers.{name}: service {router.get('service')!r} is not defined"
            )
    for name, service in services.items():
        failover = service.get("failover") if isinstance(service, dict) else None
        for key in ("service", "fallback"):
            if failover is not None and failover.get(key) not in services:
                problems.append(f"http.services.{name}.failover: {key} is not defined")
    return problems


def check_traefik_text(path: Path, text: str) -> FileReport:
    report = FileReport(path)
    documents = parse(text, report, goyaml.load_v3)
    if documents is None:
        return report
    if len(documents) != 1:
        report.failures.append(f"one YAML document expected, found {len(documents)}")
        return report
    report.failures.extend(traefik_problems(documents[0]))
    report.notes.append("Traefik routes")
    return report


class ComposeValidator:
    """The compose-spec check; nothing runs after the files."""

    description = "a compose file (services)"
    skip_hint = ""

    def claims_name(self, path: Path) -> bool:
        return is_compose_name(path) or path.name == TRAEFIK_DYNAMIC_NAME

    def claims_documents(self, documents: list[Any]) -> bool:
        return len(documents) == 1 and is_compose_document(documents[0])

    def check(self, path: Path, text: str) -> FileReport:
        if path.name == TRAEFIK_DYNAMIC_NAME:
            return check_traefik_text(path, text)
        return check_compose_text(path, text)

    def finish(self, reports: list[FileReport]) -> list[str]:  # noqa: ARG002 - the protocol's
        return []

    def summary(self) -> str | None:
        return None


def validator(options: ValidateOptions) -> ComposeValidator:  # noqa: ARG001 - no Compose flags
    return ComposeValidator()
