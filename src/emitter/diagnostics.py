"""Diagnostics: what every check reports, and the errors that carry them to the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from emitter.codes import CODES, Severity

__all__ = [
    "Diagnostic",
    "EmitterError",
    "FlagsMakeStackInvalid",
    "Severity",
    "StackInvalid",
    "UsageError",
]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a stack.

    Attributes:
        code: stable identifier (``IS1xx`` errors, ``IS2xx`` warnings), listed in ``codes.CODES``.
        severity: errors stop the run; warnings print, and ``--strict`` promotes them.
        path: dotted path into the stack file (``gateways[2].redundancy.peer``), or ``""``.
        message: what is wrong, in the user's terms.
        hint: how to fix it.
    """

    code: str
    severity: Severity
    path: str
    message: str
    hint: str = ""

    def render(self) -> str:
        where = f" {self.path}:" if self.path else ""
        text = f"{self.severity} {self.code}{where} {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def promoted(self) -> Diagnostic:
        """The same diagnostic as an error (``--strict``)."""
        return Diagnostic(self.code, Severity.ERROR, self.path, self.message, self.hint)


def _listed(code: str, severity: Severity) -> str:
    """``code``, if the table lists it with ``severity`` (a mistake in the rules otherwise)."""
    entry = CODES.get(code)
    if entry is None or entry.severity is not severity:
        raise ValueError(f"{code} is not a {severity} code of emitter.codes.CODES")
    return code


def error(code: str, path: str, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(_listed(code, Severity.ERROR), Severity.ERROR, path, message, hint)


def warning(code: str, path: str, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(_listed(code, Severity.WARNING), Severity.WARNING, path, message, hint)


def preview(text: str, limit: int = 60) -> str:
    """``text`` for a message: whole, or its ends and its length when it is too long."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}...{text[-8:]} ({len(text)} characters)"


def has_errors(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


class EmitterError(Exception):
    """A problem the user can fix; the CLI prints it in one line (or a list) and exits."""

    exit_code = 1


class UsageError(EmitterError):
    """A bad flag or flag value (exit 2, like click's own usage errors)."""

    exit_code = 2

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []


class StackInvalid(EmitterError):
    """The stack has errors; every diagnostic found is attached, not just the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{sum(d.severity is Severity.ERROR for d in diagnostics)} error(s)")
        self.diagnostics = diagnostics

    @property
    def headline(self) -> str:
        return f"stack is invalid ({self})"


class FlagsMakeStackInvalid(StackInvalid):
    """The stack file alone is valid; the flags given with it make it invalid: a usage error
    (exit 2), like a flag value that cannot apply."""

    exit_code = 2

    @property
    def headline(self) -> str:
        return f"the options given make the stack file's stack invalid ({self})"
