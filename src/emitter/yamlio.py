"""The one YAML (and JSON) writer every emitted file goes through.

Safe dumper, no anchors or aliases (Kubernetes tooling treats them inconsistently and they
hurt diffs), insertion order kept (builders insert keys in canonical order), literal blocks
for multi-line text, no line folding, lists not indented under their key (as kubectl writes
them). libyaml's emitter is used when PyYAML has it (about three times faster on a
1000-gateway compose file); the pure-Python emitter writes the same bytes, which a test checks.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

# YAML 1.1 booleans PyYAML itself does not quote; Kubernetes' parser reads `value: Y` as true.
_ONE_LETTER_BOOLEANS = frozenset({"y", "Y", "n", "N"})
_STRING = "tag:yaml.org,2002:str"


def _represent_str(dumper: yaml.representer.SafeRepresenter, data: str) -> yaml.ScalarNode:
    # A literal block for text that ends in exactly one newline (scripts, XML). Other
    # multi-line text would need the "keep" chomping indicator, after which libyaml also writes
    # a "..." end marker and the pure-Python emitter does not: let both quote it instead.
    if "\n" in data and data.strip() and data.endswith("\n") and not data.endswith("\n\n"):
        return dumper.represent_scalar(_STRING, data, style="|")
    if data in _ONE_LETTER_BOOLEANS:
        return dumper.represent_scalar(_STRING, data, style="'")
    return dumper.represent_scalar(_STRING, data)


def _dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    class Dumper(base):  # type: ignore[valid-type,misc]
        def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002
            return True

    Dumper.add_representer(str, _represent_str)
    return Dumper


PYTHON_DUMPER = _dumper(yaml.SafeDumper)
DUMPER = _dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def dump_yaml(data: Any, dumper: type[yaml.SafeDumper] = DUMPER) -> str:
    return yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
