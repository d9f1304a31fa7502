"""Container image references, read the way Docker and Kubernetes read them.

The stack's ``image`` must be one they accept, and pinned: a tag or a digest, never a tag that
moves. ``rules/image.py`` turns the reasons given here into diagnostics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emitter.diagnostics import preview

# The productions of github.com/distribution/reference (regexp.go), spelled for Python:
# \w and [[:xdigit:]] written out as ASCII classes, as Go reads them.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
# The whole grammar as one pattern, for the JSON Schema (editors); `parse_image_reference` is
# what the tool itself applies.
REFERENCE_PATTERN = rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?$"
NAME_MAX_LENGTH = 255
# Digest algorithms Docker accepts (github.com/opencontainers/go-digest, algorithm.go): the
# encoded part is lowercase hex of the hash's full length.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_NAME_RE = re.compile(_NAME)
_TAG_RE = re.compile(_TAG)
_DIGEST_RE = re.compile(_DIGEST)


@dataclass(frozen=True)
class ImageReference:
    name: str
    tag: str | None
    digest: str | None


def parse_image_reference(text: str) -> ImageReference:
    """Split an image reference into name, tag and digest; ``ValueError`` says why it is not one.

    The grammar is that of github.com/distribution/reference (reference.go, the "Grammar"
    comment, and regexp.go), which Docker and containerd use::

        reference := name [":" tag] ["@" digest]
        name      := [domain "/"] path
        domain    := host [":" port]        host: DNS name, IPv4 or [IPv6]
        path      := component ["/" component]*
        component := /[a-z0-9]+/ [separator /[a-z0-9]+/]*   separator: "." "_" "__" or dashes
        tag       := /[\\w][\\w.-]{0,127}/
        digest    := algorithm ":" hex      (sha256, sha384 or sha512, as go-digest checks)

    and the name is at most 255 characters (``NameTotalLengthMax``). A ``:`` after the last
    ``/`` starts the tag, so splitting there first is the grammar's own reading, and keeps
    every pattern on a short string.
    """
    if not text:
        raise ValueError("it is empty")
    rest, at, digest = text.partition("@")
    colon = rest.rfind(":")
    name, tag = (rest[:colon], rest[colon + 1 :]) if colon > rest.rfind("/") else (rest, None)
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"its name is {len(name)} characters long; the limit is {NAME_MAX_LENGTH}")
    if not _NAME_RE.fullmatch(name):
        if _NAME_RE.fullmatch(name.lower()):
            raise ValueError(f"its path {name!r} has uppercase letters; paths are lowercase")
        raise ValueError(
            f"its name {name!r} is not [registry[:port]/]path, with path components of "
            "lowercase letters and digits joined by '.', '_', '__' or '-'"
        )
    if tag is not None and not _TAG_RE.fullmatch(tag):
        raise ValueError(
            f"its tag {preview(tag)!r} is not 1 to 128 letters, digits, '_', '.' or '-' "
            "that start with a letter, digit or '_'"
        )
    if at:
        algorithm, _, encoded = digest.partition(":")
        length = DIGEST_HEX_LENGTHS.get(algorithm)
        if not _DIGEST_RE.fullmatch(digest) or length is None or len(encoded) != length:
            raise ValueError(
                f"its digest {preview(digest, 150)!r} is not sha256: and 64 lowercase hex digits "
                "(or sha384:/sha512: and 96/128)"
            )
        if encoded != encoded.lower():
            raise ValueError(f"its digest {digest!r} has uppercase hex digits")
    return ImageReference(name, tag, digest if at else None)
