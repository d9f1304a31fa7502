"""The one YAML (and JSON) writer every emitted file goes through.

Safe dumper, no anchors or aliases (Kubernetes tooling treats them inconsistently and they
hurt diffs), insertion order kept (builders insert keys in canonical order), literal blocks
for multi-line text, no line folding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:  # noqa: ARG002
        # Indent list items under their key, as kubectl and most hand-written YAML do.
        return super().increase_indent(flow, False)


# YAML 1.1 booleans PyYAML itself does not quote; Kubernetes' parser reads `value: Y` as true.
_ONE_LETTER_BOOLEANS = frozenset({"y", "Y", "n", "N"})


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if data in _ONE_LETTER_BOOLEANS:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )


def dump_yaml_documents(documents: Iterable[Any]) -> str:
    return "".join("---\n" + dump_yaml(document) for document in documents)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
