"""``ignition-stack validate``: offline checks of generated files, each by the target it
belongs to.

PATH is a file or a directory (walked; hidden entries are ignored). Every YAML file goes to the
validator of the target that claims it: first by name (``kustomization.yaml`` is Kubernetes',
``compose*.yaml`` Compose's), then by content (a single document with ``services`` is a compose
file, a stream of objects with ``apiVersion`` and ``kind`` is Kubernetes'). The validators live
with their targets (``emitter/targets/<target>/validation``), and each target's record names
its own (``Target.validator``); this module reads the files, hands them out, prints one report
line per file plus what each validator adds (kubeconform's second opinion, a server dry-run)
and decides the exit status.

Heavy imports (jsonschema, referencing, the bundled schemas) happen inside the validators, so
``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from emitter import goyaml
from emitter.diagnostics import EmitterError, UsageError

MAX_PROBLEMS_PER_OBJECT = 20
_YAML_SUFFIXES = (".yaml", ".yml")


class ValidationFailed(EmitterError):
    """At least one file failed (exit 1); the per-file report has already been printed."""


@dataclass(frozen=True)
class ValidateOptions:
    """The flags of ``validate``; each target's validator reads the ones that concern it."""

    strict: bool = False
    # The targets' own flags (``Target.validate_flags``) by name: None or False if not given.
    flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class FileReport:
    """The outcome for one file (or a kustomize build)."""

    path: Path
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.failures:
            return "FAIL"
        if self.skipped_kinds:
            return "skipped"
        return "ok"

    def render(self) -> str:
        notes = ", ".join(self.notes)
        if self.failures:
            first, *rest = self.failures
            lines = [f"{self.path}: FAIL: {first}", *(f"  {line}" for line in rest)]
        elif self.skipped_kinds:
            kinds = ", ".join(sorted(set(self.skipped_kinds)))
            extra = f"; ok: {notes}" if notes else ""
            lines = [f"{self.path}: skipped (no schema for {kinds}){extra}"]
        else:
            lines = [f"{self.path}: ok" + (f" ({notes})" if notes else "")]
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)


class TargetValidator(Protocol):
    """What one target contributes to ``validate`` (made once per run from the options)."""

    # What a file of this target looks like, for the message about a file no target claims.
    description: str
    # How to give ``--strict`` the schemas of the kinds this validator had to skip.
    skip_hint: str

    def claims_name(self, path: Path) -> bool:
        """Whether the file's name alone makes it this target's."""

    def claims_documents(self, documents: list[Any]) -> bool:
        """Whether a file of no known name is this target's, from its documents."""

    def check(self, path: Path, text: str) -> FileReport:
        """Validate one file in-process."""

    def finish(self, reports: list[FileReport]) -> list[str]:
        """After every file: checks across files (external tools); may add failures and
        warnings to ``reports`` (this validator's own). Returns lines for the report."""

    def summary(self) -> str | None:
        """What the files were checked against, for the last line (``None``: nothing to say)."""


def json_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def schema_problems(validator: Any, instance: Any) -> list[str]:
    """A jsonschema validator's errors for ``instance`` as ``path: message``, sorted, at most
    ``MAX_PROBLEMS_PER_OBJECT`` of them (empty: valid)."""
    from jsonschema.exceptions import best_match

    errors: list[Any] = [best_match([error]) or error for error in validator.iter_errors(instance)]
    errors.sort(key=lambda error: (json_path(error.absolute_path), error.message))
    problems = [f"{json_path(error.absolute_path)}: {error.message}" for error in errors]
    if len(problems) > MAX_PROBLEMS_PER_OBJECT:
        extra = len(problems) - MAX_PROBLEMS_PER_OBJECT
        problems = [*problems[:MAX_PROBLEMS_PER_OBJECT], f"... and {extra} more"]
    return problems


def read_text(path: Path, report: FileReport) -> str | None:
    """The file's text, or ``None`` with the reason added to ``report``."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        report.failures.append(f"cannot read: not UTF-8 text ({exc.reason})")
    except OSError as exc:
        report.failures.append(f"cannot read: {exc.strerror or exc}")
    return None


def parse(text: str, report: FileReport, load: Any = goyaml.load_v2) -> list[Any] | None:
    """The documents of ``text`` read by ``load``, or ``None`` with the reason in ``report``."""
    try:
        documents: list[Any] = load(text)
    except yaml.YAMLError as exc:
        report.failures.append(goyaml.describe_error(exc))
    except RecursionError:
        report.failures.append("invalid YAML: nested too deeply")
    else:
        return documents
    return None


# --- The command ------------------------------------------------------------------------------------


def _walk(directory: Path, wanted: Any) -> list[Path]:
    found: list[Path] = []
    for root, directories, files in os.walk(directory, followlinks=False):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        found.extend(
            Path(root) / name
            for name in files
            if not name.startswith(".")
            and (name.endswith(_YAML_SUFFIXES) or wanted(Path(root) / name))
        )
    return sorted(found)


def _unclaimed(path: Path, documents: list[Any], validators: list[TargetValidator]) -> FileReport:
    report = FileReport(path)
    expected = " nor ".join(validator.description for validator in validators)
    mappings = any(isinstance(document, dict) for document in documents)
    report.failures.append(f"{'' if mappings else 'not a mapping: '}neither {expected}")
    return report


def _check(
    path: Path, validators: list[TargetValidator]
) -> tuple[TargetValidator | None, FileReport]:
    """The validator that claims ``path`` and its report (``None``: nobody could or did)."""
    owner = next((v for v in validators if v.claims_name(path)), None)
    report = FileReport(path)
    text = read_text(path, report)
    if text is None:
        return owner, report
    if owner is not None:
        return owner, owner.check(path, text)
    documents = parse(text, report, goyaml.load_v3)
    if documents is None:
        return None, report
    if not documents:
        report.failures.append("no YAML documents (empty file)")
        return None, report
    owner = next((v for v in validators if v.claims_documents(documents)), None)
    if owner is None:
        return None, _unclaimed(path, documents, validators)
    return owner, owner.check(path, text)


def _files(path: Path, validators: list[TargetValidator]) -> list[Path]:
    if path.is_dir():
        files = _walk(path, lambda file: any(v.claims_name(file) for v in validators))
        if not files:
            raise ValidationFailed(f"nothing to validate in {path} (no .yaml or .yml files)")
        return files
    if path.exists():
        return [path]
    raise UsageError(f"{path}: no such file or directory")


def validate_command(*, path: Path, options: ValidateOptions) -> None:
    from emitter.targets import validators as target_validators

    validators = target_validators(options)
    files = _files(path, validators)
    reports: list[FileReport] = []
    owned: dict[int, list[FileReport]] = {id(v): [] for v in validators}
    for file in files:
        owner, report = _check(file, validators)
        reports.append(report)
        if owner is not None:
            owned[id(owner)].append(report)

    used = [v for v in validators if owned[id(v)]]
    extra_lines = [line for v in used for line in v.finish(owned[id(v)])]
    for report in reports:
        print(report.render())
    for line in extra_lines:
        print(line)
    print(_summary(reports, used))
    sys.stdout.flush()
    _verdict(reports, used, options.strict)


def _summary(reports: list[FileReport], used: list[TargetValidator]) -> str:
    failed = sum(1 for report in reports if report.failures)
    skipped = sum(1 for report in reports if report.status == "skipped")
    skipped_kinds = sorted({kind for report in reports for kind in report.skipped_kinds})
    warned = sum(1 for report in reports if report.warnings)
    ok = len(reports) - failed - skipped
    line = (
        f"{len(reports)} file{'s' if len(reports) != 1 else ''}: {ok} ok, {failed} failed, "
        f"{skipped} skipped"
    )
    if skipped_kinds:
        line += f" (no schema for {', '.join(skipped_kinds)})"
    if warned:
        line += f", {warned} with warnings"
    said = [text for text in (v.summary() for v in used) if text]
    return line + "".join(f"; {text}" for text in said)


def _verdict(reports: list[FileReport], used: list[TargetValidator], strict: bool) -> None:
    failed = sum(1 for report in reports if report.failures)
    if failed:
        raise ValidationFailed(f"validation failed: {failed} of {len(reports)} files failed")
    skipped_kinds = sorted({kind for report in reports for kind in report.skipped_kinds})
    if strict and skipped_kinds:
        hints = "; ".join(v.skip_hint for v in used if v.skip_hint)
        raise ValidationFailed(
            f"validation failed (--strict): no schema for {', '.join(skipped_kinds)}; "
            f"those objects were not validated{f' ({hints})' if hints else ''}"
        )
    warned = sum(1 for report in reports if report.warnings)
    if strict and warned:
        raise ValidationFailed(f"validation failed (--strict): {warned} files with warnings")
