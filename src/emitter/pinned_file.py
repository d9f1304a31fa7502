"""A file a gateway gets pinned by its checksum: a module's ``.modl``, a restore's ``.gwbk``.

Both are written ``{path | url, sha256}``: a ``path`` relative to the stack file's directory
(inside the repository), or an https ``url`` the seeding step downloads; either way the file is
used only if its SHA-256 is the one written. The checks live here once; each feature keeps its
own diagnostic codes, wording of the file and hints through a ``Codes`` map.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from emitter.diagnostics import Diagnostic, error, preview, warning

if TYPE_CHECKING:
    from emitter.ir import Stack
    from emitter.targets.registry import Refusal, Target

# The features with pinned files, as a target's ``PinnedFiles`` names them.
MODULES = "modules"
RESTORE = "restore"

SHA256 = re.compile(r"[0-9a-f]{64}")
# The longest `path` or `url` taken: both are written into the emitted files.
MAX_TEXT = 2048
# Refused in a path or URL: the emitted files quote them in shell scripts and Compose files
# (which interpolate `$`).
_UNSAFE = "\"'`$\\"


class PinnedFile(Protocol):
    """The shape both features' specs and IR records share."""

    @property
    def path(self) -> str | None: ...

    @property
    def url(self) -> str | None: ...

    @property
    def sha256(self) -> str | None: ...


@dataclass(frozen=True)
class Check:
    """One check's code and hint; ``why`` follows the message (what the check protects)."""

    code: str
    hint: str
    why: str = ""


@dataclass(frozen=True)
class Codes:
    """A feature's codes for its pinned file: ``noun`` names the file in messages (``module
    path '...'``), ``suffix`` is the file name's ending; ``unusable`` is the error for a file a
    requested target cannot use as written, ``blocked`` the warning for a download it blocks
    (their words are the target's: ``registry.PinnedFiles``)."""

    noun: str
    suffix: str
    path: Check
    url: Check
    sha256: Check
    unusable: str
    blocked: str


def path_problem(value: str, suffix: str) -> str | None:
    """Why ``value`` is not a relative path inside the repository (None: it is one)."""
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    if not value or any(ord(c) < 32 or c in _UNSAFE for c in value):
        return (
            "is not a plain relative file name (control characters, `\\`, quotes, `$` and "
            "backquotes refused)"
        )
    if value.startswith("/") or re.match(r"[A-Za-z]:", value):
        return "is absolute: it must name a file inside the stack file's directory"
    normal = posixpath.normpath(value)
    if normal in ("..", ".") or normal.startswith("../"):
        return "leaves the stack file's directory (`..`), so it leaves the repository"
    if ".." in value.split("/"):
        return "contains `..`: name the file without stepping out and back"
    if not value.endswith(suffix):
        return f"is not a `{suffix}` file (its name must end in {suffix})"
    return None


def url_problem(value: str) -> str | None:
    """Why ``value`` may not be downloaded (None: it may). Never repeats the URL: it may hold a
    password."""
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    if any(c.isspace() or ord(c) < 32 or c in _UNSAFE for c in value):
        return "holds white space, a quote, `$`, a backslash or a control character"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "is not a URL"
    if parts.username is not None or parts.password is not None:
        return (
            "holds credentials (user or password before `@`): stack.yaml is committed, and "
            "a password in it is readable by everyone with the repository"
        )
    if parts.scheme != "https":
        scheme = preview(parts.scheme or "no scheme", 20)
        return f"is not an https URL: it uses {scheme!r}, not https"
    if not parts.hostname:
        return "names no host"
    return None


def sha256_problem(value: str | None) -> str | None:
    if value is None:
        return "has no `sha256`"
    if not SHA256.fullmatch(value):
        return "has a `sha256` that is not 64 hex digits (lowercase 0-9 and a-f)"
    return None


def source_rules(where: str, file: PinnedFile, codes: Codes) -> Iterator[Diagnostic]:
    """The file's ``path`` and ``url``, each where it is written (``<where>.path``)."""
    if file.path is not None:
        problem = path_problem(file.path, codes.suffix)
        if problem:
            yield _diagnostic(
                codes.path, f"{where}.path", f"{codes.noun} path {preview(file.path)!r} {problem}"
            )
    if file.url is not None:
        problem = url_problem(file.url)
        if problem:
            yield _diagnostic(codes.url, f"{where}.url", f"{codes.noun} URL {problem}")


def checksum_rules(
    where: str, subject: str, file: PinnedFile, codes: Codes
) -> Iterator[Diagnostic]:
    """The file's ``sha256`` (``subject`` names the file: ``module 'x'``, ``the restore``)."""
    problem = sha256_problem(file.sha256)
    if problem:
        yield _diagnostic(codes.sha256, f"{where}.sha256", f"{subject} {problem}")


def _diagnostic(check: Check, path: str, message: str) -> Diagnostic:
    return error(check.code, path, message + check.why, check.hint)


@dataclass(frozen=True)
class _Placed:
    """One pinned file of the stack as a target sees it: ``where`` in the stack file."""

    feature: str
    codes: Codes
    role: str
    where: str
    file: PinnedFile
    words: dict[str, str]


def target_rules(stack: Stack, target: Target, options: Any) -> tuple[Diagnostic, ...]:
    """What ``target`` cannot do with the stack's pinned files: a form it cannot use (an
    error) and downloads its gateways cannot reach with these ``options`` (a warning)."""
    pinned = target.pinned_files
    placed = _placed(stack)
    found: list[Diagnostic] = []
    for item in placed:
        refusal = None
        if item.file.url is None:
            refusal = pinned.refuses_path.get(item.feature)
        if refusal is None and item.file.path is None:
            refusal = pinned.refuses_url.get(item.feature)
        if refusal is not None:
            found.append(_refused(error, item.codes.unusable, item, refusal))
    if pinned.downloads_blocked is None or not pinned.downloads_blocked(options):
        return tuple(found)
    warned: set[tuple[str, str]] = set()
    for item in sorted(placed, key=lambda item: (item.feature, item.role)):
        blocked = pinned.blocked_download.get(item.feature)
        downloads = item.file.url is not None and item.feature not in pinned.refuses_url
        if blocked is not None and downloads and (item.feature, item.where) not in warned:
            warned.add((item.feature, item.where))
            found.append(_refused(warning, item.codes.blocked, item, blocked))
    return tuple(found)


def _placed(stack: Stack) -> list[_Placed]:
    """Restores first, then modules, each once per role in the gateways' order."""
    from emitter import modules, restore

    restores = [
        _Placed(
            RESTORE, restore.CODES, g.role, g.restore.where, g.restore, {"gateway": repr(g.name)}
        )
        for g in stack.gateways
        if g.restore is not None
    ]
    found: dict[tuple[str, str], _Placed] = {}
    for gateway in stack.gateways:
        for module in gateway.modules:
            words = {"name": repr(module.name), "role": repr(gateway.role)}
            where = f"roles.{preview(gateway.role)}.{MODULES}"
            found.setdefault(
                (gateway.role, module.name),
                _Placed(MODULES, modules.CODES, gateway.role, where, module, words),
            )
    return [*restores, *found.values()]


def _refused(severity: Any, code: str, item: _Placed, refusal: Refusal) -> Diagnostic:
    result: Diagnostic = severity(
        code, item.where, refusal.message.format(**item.words), refusal.hint
    )
    return result
