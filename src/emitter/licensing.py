"""Leased licensing, per gateway: a reference to a secret, never a key in a file.

A gateway's ``license: {secret: NAME}`` names a Kubernetes Secret (keys ``license-key`` and
``activation-token``) or, on Compose, the project's git-ignored files
``secrets/NAME/license-key`` and ``secrets/NAME/activation-token``. Both targets mount them at
``mounted_file(NAME, ...)`` and point the image's ``_FILE`` variables there, so no emitted file
holds more than a name or a path. The rules here keep keys out of ``stack.yaml`` (IS129), the
names usable (IS130), and a stack that licenses its gateways from leaving a pair member on
the 2-hour trial (IS205).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from emitter.diagnostics import Diagnostic, error, warning
from emitter.ir import Gateway, Stack
from emitter.names import DNS_LABEL, DNS_LABEL_LENGTH

if TYPE_CHECKING:
    from emitter.spec import StackSpec

KEY = "license"
# The keys of one license's Secret (Kubernetes) and its file names (Compose).
LICENSE_KEY = "license-key"
ACTIVATION_TOKEN = "activation-token"
SECRET_KEYS = (LICENSE_KEY, ACTIVATION_TOKEN)
# Where both targets mount a license's two files: ``<dir>/<secret>/<key>``. Not below
# /run/secrets, which a Compose gateway mounts read-only (the admin password's copy).
MOUNT_DIR = "/run/ignition-licensing"
# The official image reads the leased activation's key and token from the files these name
# (every variable takes a `_FILE` form: IA docs "Docker Image"; the official Helm chart 0.2.1
# sets exactly these two in templates/configmap.yaml, pointing at the Secret it projects in
# templates/statefulset.yaml). Absolute paths to a mounted Secret: the same on 8.1 and 8.3,
# unlike the data-volume paths the chart symlinks its files to.
KEY_FILE_VARIABLE = "IGNITION_LICENSE_KEY_FILE"
TOKEN_FILE_VARIABLE = "IGNITION_ACTIVATION_TOKEN_FILE"
# Extra keys under `license:` that look like a key or token written out, not a typo of `secret`.
_PLAIN_TEXT_WORDS = ("key", "token", "activation", "licen", "lease", "code")
EXAMPLE = "license: {secret: plant-backend-license}"


def mounted_file(secret: str, key: str) -> str:
    return f"{MOUNT_DIR}/{secret}/{key}"


def environment(gateway: Gateway) -> dict[str, str]:
    """The variables that hand a licensed gateway its key and token files (empty: no license)."""
    if gateway.license is None:
        return {}
    return {
        KEY_FILE_VARIABLE: mounted_file(gateway.license, LICENSE_KEY),
        TOKEN_FILE_VARIABLE: mounted_file(gateway.license, ACTIVATION_TOKEN),
    }


def secrets(gateways: tuple[Gateway, ...] | list[Gateway]) -> list[str]:
    """The license secrets ``gateways`` use, each once, sorted."""
    return sorted({gateway.license for gateway in gateways if gateway.license is not None})


def plain_text_problem(location: tuple[Any, ...], kind: str, path: str) -> Diagnostic | None:
    """IS129 for a shape error that means a key or token was written into the stack file:
    ``license: ABCD1234`` (a value that is not a reference) or ``license: {key: ...}``. The
    value is never repeated: it may be the key."""
    if len(location) < 3 or location[0] != "gateways" or location[2] != KEY:
        return None
    if len(location) == 3 and kind in ("model_type", "model_attributes_type"):
        what = "a value that is not a reference to a secret"
    elif (
        len(location) == 4
        and kind == "extra_forbidden"
        and any(word in str(location[3]).lower() for word in _PLAIN_TEXT_WORDS)
    ):
        what = f"`{location[3]}`, a key or token written in plain text"
    else:
        return None
    return error(
        "IS129",
        path,
        f"the license holds {what}: stack.yaml is committed, and a leased license key or "
        "activation token in it is readable by everyone with the repository",
        "move the key and token into a secret and name it: "
        f"`{EXAMPLE}` (Kubernetes: a Secret with keys `{LICENSE_KEY}` and `{ACTIVATION_TOKEN}`; "
        f"Compose: the files secrets/<name>/{LICENSE_KEY} and secrets/<name>/{ACTIVATION_TOKEN}); "
        "then remove the key from the repository's history and rotate it",
    )


def _secret_names(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    own = {stack.admin_password_secret, stack.keystore_password_secret}
    for gateway in stack.gateways:
        name = gateway.license
        if name is None:
            continue
        path = f"{gateway.path}.{KEY}.secret"
        # The name is not repeated: a key pasted here instead of a name must not reach a log.
        if len(name) > DNS_LABEL_LENGTH or not DNS_LABEL.match(name):
            yield error(
                "IS130",
                path,
                f"the license secret of {gateway.name!r} ({len(name)} characters) is not a "
                "DNS-1123 label: lowercase letters, digits and '-', starting and ending "
                f"alphanumeric, at most {DNS_LABEL_LENGTH} characters",
                f"name the secret that holds the key, e.g. `{EXAMPLE}`; never the key itself",
            )
        elif name in own:
            yield error(
                "IS130",
                path,
                f"the license secret of {gateway.name!r} is {name!r}, a secret the stack "
                "already uses for a password",
                f"give the license a secret of its own, e.g. `{EXAMPLE}`",
            )


def _unlicensed_pair_members(_: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    """Once a stack licenses a gateway through ignition-stack, every pair member must be
    licensed too: one left out runs a 2-hour trial. A stack that licenses none (a demo, or
    licenses activated by hand in the gateway's web UI) is not warned (README, "Licensing")."""
    if not any(gateway.license for gateway in stack.gateways):
        return
    for master, backup in stack.pairs:
        for node in (master, backup):
            if node.license is None:
                role = "master" if node is master else "backup"
                yield warning(
                    "IS205",
                    f"{node.path}.{KEY}",
                    f"{role} {node.name!r} of the pair has no license, while the stack licenses "
                    "other gateways: it runs in the 2-hour trial, which resets on restart: "
                    "enough for a demo, not to keep a plant running",
                    f"add `license: {{secret: {stack.name}-{node.name}-license}}` to gateway "
                    f'{node.name!r} and create that secret (README, "Licensing")'
                    + ("; a backup-only license suits a backup" if node is backup else ""),
                )


def license_rules(spec: StackSpec, stack: Stack) -> Iterator[Diagnostic]:
    yield from _secret_names(spec, stack)
    yield from _unlicensed_pair_members(spec, stack)
