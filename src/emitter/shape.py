"""What a shape error of the stack file (pydantic's) means, in the user's terms: the closest
known key for an unknown one, and for a role key given a yes/no, the roles there are."""

from __future__ import annotations

import difflib
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from emitter.diagnostics import Diagnostic, error, preview
from emitter.licensing import plain_text_problem
from emitter.spec import (
    NUMBER_HINT,
    OUT_OF_RANGE,
    UNKNOWN_KEY,
    StackSpec,
    dotted_path,
)

# Keys whose value names a role of the architecture (not a yes/no switch).
ROLE_KEYS = {
    "redundant": "the role to run as a master/backup pair",
    "edge_role": "the role that runs the Edge edition",
}


def _known_keys(location: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``location`` (the path of an unknown key) accepts."""
    model: type[BaseModel] = StackSpec
    keyed = False  # the part before was a mapping by name (`roles:`): this part is a name
    for part in location[:-1]:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        nested = _model_in(field.annotation)
        if nested is None:
            return []
        model = nested
        keyed = any(get_origin(a) is dict for a in (field.annotation, *get_args(field.annotation)))
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``list[GatewaySpec] | None`` -> GatewaySpec)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _unknown_key_hint(location: tuple[Any, ...]) -> str:
    key = str(location[-1]) if location else ""
    known = _known_keys(location)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`? (`ignition-stack schema` lists every key)"
    if known:
        return f"remove the key; the keys here are {', '.join(known)}"
    return "remove the key, or check its spelling against `ignition-stack schema`"


def _role_key_diagnostic(key: str, value: Any, data: dict[str, Any]) -> Diagnostic:
    """``redundant: yes``: the key names a role; say which roles the architecture has."""
    from emitter.architectures import ARCHITECTURES

    architecture = ARCHITECTURES.get(str(data.get("architecture")))
    # YAML reads yes/no/on/off/true/false as booleans; say it in the user's words.
    shown = ("yes" if value else "no") if isinstance(value, bool) else preview(str(value))
    if architecture is None:
        roles = "; ".join(
            f"{arch.name}: {', '.join(arch.role_names)}" for arch in ARCHITECTURES.values()
        )
        choices = f"a role of the architecture ({roles})"
        example = f"`{key}: ROLE`"
    else:
        choices = f"a role of {architecture.name} ({', '.join(architecture.role_names)})"
        role = architecture.workhorse if key == "redundant" else architecture.role_names[-1]
        example = f"`{key}: {role}`"
    return error(
        "IS002",
        key,
        f"{key} names {ROLE_KEYS[key]}, not a yes/no switch: {shown!r} is not {choices}",
        f"write {example}, or `{key}: none` (or leave the key out) for none",
    )


def shape_diagnostic(item: Any, data: dict[str, Any]) -> Diagnostic:
    location = tuple(item["loc"])
    path = dotted_path(location)
    kind = item["type"]
    plain_text = plain_text_problem(location, kind, path)
    if plain_text is not None:
        return plain_text
    if len(location) == 1 and location[0] in ROLE_KEYS and kind == "string_type":
        return _role_key_diagnostic(str(location[0]), item["input"], data)
    if kind == "extra_forbidden":
        hint = _unknown_key_hint(location)
        message = UNKNOWN_KEY
    elif kind == "missing":
        hint = "add it; `ignition-stack schema` describes every key"
        message = "required key is missing"
    elif kind == "int_parsing_size":  # a quoted number too long for Python to convert
        hint = NUMBER_HINT
        message = f"number {preview(str(item['input']))} is out of range: {OUT_OF_RANGE}"
    else:
        hint = "`ignition-stack schema` describes every key and its allowed values"
        message = item["msg"]
    return error("IS002", path, message, hint)
