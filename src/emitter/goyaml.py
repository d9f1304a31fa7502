"""YAML read the way the Go programs that consume the generated files read it.

Kubernetes (``sigs.k8s.io/yaml``, on go-yaml v2) and Compose (go-yaml v3) disagree with PyYAML
and with each other about which plain scalars are booleans and numbers: an unquoted ``value: Y``
is a boolean to Kubernetes and "Y" to PyYAML, ``restart: no`` is "no" to Compose and false to
PyYAML. A validator that reads a file differently from the program that will apply it passes
files that fail there, so each target reads with the loader of its consumer.

Both loaders are safe, refuse duplicate keys (like kubeconform ``-strict``, kubectl and Compose),
keep timestamps as strings and read a bare ``=`` as a string.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """The common base; see the module docstring."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


def _construct_plain_string(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _construct_bool(loader: _Loader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("y", "yes", "true", "on")  # type: ignore[arg-type]


_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
# PyYAML's YAML 1.1 int and float without the base-60 forms (``1:30``), which neither
# Kubernetes' YAML reader (go-yaml v2) nor Compose's (go-yaml v3) has.
_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
# go-yaml v2 reads y/Y/n/N as booleans too: an unquoted ``value: Y`` in an env var is a bool
# to Kubernetes and fails the schema, although PyYAML says "Y".
_GO_YAML_V2_BOOL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
)
# go-yaml v3 follows YAML 1.2: only true/false are booleans (``restart: no`` is "no").
_GO_YAML_V3_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _loader(name: str, booleans: re.Pattern[str]) -> type[_Loader]:
    cls: type[_Loader] = type(name, (_Loader,), {})
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver(_BOOL_TAG, booleans, list("yYnNtTfFoO"))
    cls.add_implicit_resolver(_INT_TAG, _INT, list("-+0123456789"))
    cls.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))
    cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    cls.add_constructor("tag:yaml.org,2002:timestamp", _construct_plain_string)
    cls.add_constructor("tag:yaml.org,2002:value", _construct_plain_string)
    cls.add_constructor(_BOOL_TAG, _construct_bool)
    return cls


_GoYamlV2Loader = _loader("_GoYamlV2Loader", _GO_YAML_V2_BOOL)
_GoYamlV3Loader = _loader("_GoYamlV3Loader", _GO_YAML_V3_BOOL)


def _jsonable(value: Any) -> Any:
    """What a YAML-to-JSON conversion gives: string keys, no bytes."""
    if isinstance(value, dict):
        return {_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


def load_v2(text: str) -> list[Any]:
    """Every non-empty document of a YAML stream, read as go-yaml v2 (Kubernetes) reads it.
    Raises ``yaml.YAMLError``."""
    return [
        _jsonable(doc) for doc in yaml.load_all(text, Loader=_GoYamlV2Loader) if doc is not None
    ]


def load_v3(text: str) -> list[Any]:
    """Every non-empty document of a YAML stream, read as go-yaml v3 (Compose) reads it.
    Raises ``yaml.YAMLError``."""
    return [
        _jsonable(doc) for doc in yaml.load_all(text, Loader=_GoYamlV3Loader) if doc is not None
    ]


def describe_error(exc: yaml.YAMLError) -> str:
    """``invalid YAML: line L column C: problem``."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"invalid YAML: {where}{problem}"
