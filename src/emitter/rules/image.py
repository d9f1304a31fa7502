"""The image: a reference Docker and Kubernetes accept, pinned, naming a supported release."""

from __future__ import annotations

from collections.abc import Iterator

from emitter.diagnostics import Diagnostic, error, preview
from emitter.image import ReleaseTooOld, read_release, supported_releases
from emitter.ir import Stack
from emitter.reference import parse_image_reference
from emitter.spec import DEFAULT_IMAGE, StackSpec


def image_problem(image: str) -> Diagnostic | None:
    """An image must be a reference Docker and Kubernetes accept, pinned to a tag or digest
    that does not move: every gateway of a pair must run the same release, always."""
    try:
        reference = parse_image_reference(image)
    except ValueError as reason:
        return error(
            "IS121",
            "image",
            f"image {preview(image)!r} is not an image reference: {reason}",
            f"write [registry[:port]/]repository:tag, optionally followed by @sha256:<digest>, "
            f"e.g. `{DEFAULT_IMAGE}`",
        )
    if reference.digest is not None:
        return None
    if reference.tag is None:
        why = "has no tag or digest, so it means the `latest` tag"
    elif reference.tag.lower() == "latest":
        why = "is tagged `latest`"
    else:
        return None
    return error(
        "IS122",
        "image",
        f"image {image!r} {why}, which moves to each new release: it is not pinned",
        f"pin a release tag (and, to be exact, its digest after it), e.g. `{DEFAULT_IMAGE}`",
    )


def release_problem(image: str) -> Diagnostic | None:
    """A pinned image must name an Ignition release this tool supports in its tag: 8.1 and 8.3
    keep the Gateway Network files in different places (``image.RELEASES``)."""
    try:
        read_release(image)
    except ValueError as reason:
        example = f"{DEFAULT_IMAGE}@sha256:<digest>" if "@" in image else DEFAULT_IMAGE
        hint = (
            f"use Ignition {reason.oldest} or a later patch, or 8.3 (e.g. `{DEFAULT_IMAGE}`)"
            if isinstance(reason, ReleaseTooOld)
            else f"tag the image with its Ignition release, e.g. `{example}` "
            "(a mirror's tag may add a suffix: `8.3.6-site1`)"
        )
        return error(
            "IS128",
            "image",
            f"image {preview(image)!r} names no Ignition release ignition-stack supports: "
            f"{reason}; supported: {supported_releases()}",
            hint,
        )
    return None


def pinned_image(spec: StackSpec, _: Stack) -> Iterator[Diagnostic]:
    problem = image_problem(spec.image) or release_problem(spec.image)
    if problem:
        yield problem
