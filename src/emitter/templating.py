"""The Jinja environment for prose (templates live in emitter/templates)."""

from __future__ import annotations

from typing import Any

import jinja2

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("emitter", "templates"),
    undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
    keep_trailing_newline=True,
    autoescape=False,  # Markdown and shell, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **context: Any) -> str:
    return _environment.get_template(template).render(**context)
