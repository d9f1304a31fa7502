"""What each command does, apart from parsing its flags (cli.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from emitter import rules
from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import (
    Diagnostic,
    EmitterError,
    FlagsMakeStackInvalid,
    StackInvalid,
    UsageError,
)
from emitter.journal import Recovery
from emitter.pipeline import Resolved, prepare, render, warnings_of
from emitter.project import TARGETS, create_project
from emitter.resolve import NO_ROLE
from emitter.spec import StackSpec, dump_stack, load_stack_file, stack_from_data
from emitter.targets import drift_notes, target_names
from emitter.tree import Drift, inspect_trees, read_manifest, write_trees

# What `create` generates when neither --target nor the wizard says.
DEFAULT_TARGET = "compose"
# How much of a drift diff `emit --check` prints without --diff.
DIFF_LINE_LIMIT = 120


def _warn(diagnostics: tuple[Diagnostic, ...]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.render(), file=sys.stderr)


def _usage(diagnostic: Diagnostic) -> UsageError:
    return UsageError(diagnostic.message, [diagnostic])


@dataclass(frozen=True)
class Shape:
    """What ``create``'s flags say about the stack (None: not given)."""

    architecture: str | None = None
    redundant: str | None = None
    frontends: int | None = None
    spokes: int | None = None
    edge_role: str | None = None
    transport: str | None = None

    def topology(self) -> dict[str, Any]:
        """The given flags that change which gateways exist."""
        fields = ("architecture", "redundant", "frontends", "spokes", "edge_role")
        return {key: getattr(self, key) for key in fields if getattr(self, key) is not None}


def build_spec(name: str, shape: Shape, stack_file: Path | None) -> StackSpec:
    """The stack a ``create`` invocation describes: a stack file with flags over it, or the
    flags (and wizard answers, already merged into ``shape``) over the defaults."""
    topology_flags = shape.topology()
    if stack_file is not None:
        base = load_stack_file(stack_file)
        update: dict[str, Any] = {"name": name}
        if shape.transport is not None:
            update["transport"] = shape.transport
        if topology_flags:
            # A new shape: the gateways are derived again; the file's redundant role is kept
            # unless re-applied, and rules report it if the new architecture has no such role.
            update.update(topology_flags)
            update["gateways"] = None
            if (
                "architecture" in topology_flags
                and topology_flags["architecture"] != base.architecture
            ):
                update.setdefault("edge_role", None)
        merged = stack_from_data(base.model_dump() | update)
        _check_flags(merged.architecture, topology_flags)
        return _normalised(merged)
    spec = stack_from_data(
        {
            "name": name,
            "architecture": shape.architecture,
            "redundant": shape.redundant,
            "frontends": shape.frontends,
            "spokes": shape.spokes,
            "edge_role": shape.edge_role,
            "transport": shape.transport or "plain",
            # create says so in its output and in the stack file it writes (IS124, IS204).
            "accept_eula": True,
        }
    )
    _check_flags(spec.architecture, topology_flags)
    return _normalised(spec)


def _with_wizard(name: str, shape: Shape, target: str | None) -> tuple[Shape, str | None]:
    """``shape`` and ``target`` completed by the wizard: it asks only what the flags left open
    (flags > wizard answers > defaults) and vets the flags by the same ``_check_flags``."""
    from emitter.wizard import run_wizard

    flags = {**shape.topology(), "transport": shape.transport, "target": target}
    answers = run_wizard(name, flags, lambda arch: _check_flags(arch, shape.topology()))
    target = answers.pop("target", target)
    return replace(shape, **answers), target


def _prepare_created(
    spec: StackSpec, stack_file: Path | None, shape: Shape, strict: bool
) -> Resolved:
    """``prepare``, with one rule for the exit code: when the stack file alone is valid and
    the flags given with it make it invalid, the command line is wrong (exit 2)."""
    try:
        return prepare(spec, strict=strict)
    except StackInvalid as invalid:
        if stack_file is None or not (shape.topology() or shape.transport):
            raise
        try:
            prepare(load_stack_file(stack_file), strict=strict)
        except StackInvalid:
            raise invalid from None
        raise FlagsMakeStackInvalid(invalid.diagnostics) from None


def _normalised(spec: StackSpec) -> StackSpec:
    if spec.redundant == NO_ROLE:
        return spec.model_copy(update={"redundant": None})
    return spec


def _check_flags(architecture_name: str, flags: dict[str, Any]) -> None:
    """Flag values that cannot apply are usage errors (exit 2), named like the stack rules."""
    architecture = ARCHITECTURES[architecture_name]
    redundant = flags.get("redundant")
    if redundant is not None and redundant != NO_ROLE:
        problem = rules.redundant_role_problem(architecture, redundant, path="--redundant")
        if problem:
            raise _usage(problem)
    edge_role = flags.get("edge_role")
    if edge_role is not None:
        problem = rules.edge_role_problem(architecture, edge_role, path="--edge-role")
        if problem:
            raise _usage(problem)
    for option in ("frontends", "spokes"):
        if flags.get(option) is not None and architecture.replica_option != option:
            raise UsageError(
                f"--{option} applies to the "
                f"{'scale-out' if option == 'frontends' else 'hub-and-spoke'} architecture, "
                f"not {architecture.name}"
            )


def create_command(
    *,
    name: str,
    shape: Shape,
    target: str | None,
    stack_file: Path | None,
    dry_run: bool,
    output_format: str,
    output_dir: Path,
    strict: bool,
    ci: bool = True,
) -> None:
    # Everything the command line alone can get wrong is refused first (exit 2).
    problem = rules.stack_name_problem(name)
    if problem:
        raise _usage(problem)
    if target is not None:
        target_names(target)
    if not dry_run:
        _check_output_dir(output_dir)
    interactive = stack_file is None and shape.architecture is None
    if interactive:
        shape, target = _with_wizard(name, shape, target)
    targets = target_names(target or DEFAULT_TARGET)
    spec = build_spec(name, shape, stack_file)
    resolved = _prepare_created(spec, stack_file, shape, strict)
    if dry_run:
        _warn(resolved.warnings)
        sys.stdout.write(dump_stack(resolved.explicit, output_format))
        return
    directory = output_dir / name
    emissions = render(resolved, targets)
    if interactive:
        from emitter.wizard import confirm, summary

        lines = summary(resolved.stack, targets, resolved.explicit.accept_eula)
        if not confirm(lines, str(directory)):
            raise EmitterError(f"nothing written: {directory} was not confirmed")
    made_parent = not output_dir.exists()
    written = create_project(directory, resolved, targets, ci, emissions)
    # Warnings come once the project exists: an error that stops create is shown alone.
    _warn(warnings_of(resolved, emissions))
    if made_parent:
        print(f"created {output_dir} (the -o directory)")
    print(f"created {directory} ({len(written)} files)")
    if resolved.explicit.accept_eula:
        print(
            "note: stack.yaml says `accept_eula: true`: its gateways start with Inductive "
            "Automation's Ignition EULA accepted (ACCEPT_IGNITION_EULA=Y), so starting them "
            "accepts it: read it first"
        )
    print(f"next: read {directory / 'POST-SETUP.md'}")
    if "compose" in targets:
        print(f"      cd {directory} && docker compose up -d")


def _check_output_dir(output_dir: Path) -> None:
    """``-o`` names the project's parent: an existing directory, or one ``create`` makes in an
    existing directory (like ``mkdir``). A deeper missing path is more likely a typo than a
    wish, so it is refused instead of silently created."""
    if output_dir.is_dir():
        return
    if output_dir.exists() or output_dir.is_symlink():
        raise UsageError(
            f"-o {output_dir} is not a directory; pass the directory that should hold the project"
        )
    parent = output_dir.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"-o {output_dir}: {parent} is not a directory")
    if not parent.is_dir():
        raise UsageError(
            f"-o {output_dir} does not exist, and neither does {parent}; create it first "
            f"(`mkdir -p {output_dir}`) or check the path for a typo"
        )


@dataclass(frozen=True)
class Layout:
    """Where an emit writes: one root it owns (locked, journaled) and a directory per target
    below it (``""``: the root itself)."""

    root: Path
    subdirectories: dict[str, str]

    def directory(self, target: str) -> Path:
        sub = self.subdirectories[target]
        return self.root / sub if sub else self.root


def _layout(stack_file: Path, targets: tuple[str, ...], out: Path | None) -> Layout:
    if out is None:
        return Layout(stack_file.parent / TARGETS, {name: name for name in targets})
    if len(targets) == 1:
        return Layout(out, {targets[0]: ""})
    return Layout(out, {name: name for name in targets})


def emit_command(
    *, stack_file: Path, target: str, out: Path | None, check: bool, full_diff: bool, strict: bool
) -> None:
    try:
        _emit(
            stack_file=stack_file,
            target=target,
            out=out,
            check=check,
            full_diff=full_diff,
            strict=strict,
        )
    except DriftFound:
        raise
    except EmitterError as exc:
        if check:
            # The drift gate's contract: 0 clean, 1 drift, 2 could not tell.
            exc.exit_code = 2
        raise


def _emit(
    *, stack_file: Path, target: str, out: Path | None, check: bool, full_diff: bool, strict: bool
) -> None:
    targets = target_names(target)
    resolved: Resolved = prepare(load_stack_file(stack_file), strict=strict)
    emissions = render(resolved, targets)
    layout = _layout(stack_file, targets, out)
    trees = {layout.subdirectories[name]: emission.files for name, emission in emissions.items()}
    if check:
        inspection = inspect_trees(layout.root, trees)
        _warn(warnings_of(resolved, emissions))
        _report_recovery(layout.root, inspection.recovery)
        drifted = bool(inspection.recovery.leftovers)
        if drifted:
            print(
                f"{layout.root}: leftovers of an interrupted emit (the next `ignition-stack "
                f"emit` removes them): {', '.join(inspection.recovery.leftovers)}"
            )
        for name, emission in emissions.items():
            directory = layout.directory(name)
            drift = inspection.drifts[layout.subdirectories[name]]
            if not drift.clean:
                drifted = True
                notes = _change_notes(name, directory, emission.files)
                print(_drift_report(name, directory, drift, full_diff, notes))
            else:
                print(f"{name}: {directory} is up to date")
        if drifted:
            raise DriftFound()
        return
    for name, emission in emissions.items():
        for note in _change_notes(name, layout.directory(name), emission.files):
            print(f"notice: {note}", file=sys.stderr)
    written = write_trees(layout.root, trees)
    # After the write: an emit that fails (a file it does not own, a lock) shows only why.
    _warn(warnings_of(resolved, emissions))
    _report_recovery(layout.root, written.recovery)
    for name, emission in emissions.items():
        removed = written.removed[layout.subdirectories[name]]
        note = f", removed {len(removed)} stale" if removed else ""
        print(f"{name}: wrote {len(emission.files)} files to {layout.directory(name)}{note}")


def _report_recovery(root: Path, recovery: Recovery) -> None:
    """Say that an earlier, interrupted emit was resolved (on stderr: it is not this run's
    output, and --check's stdout stays the drift report)."""
    if recovery.rolled_back:
        print(f"ignition-stack: rolled back an interrupted emit in {root}", file=sys.stderr)
    if recovery.finished:
        print(f"ignition-stack: finished an interrupted emit in {root}", file=sys.stderr)


def _change_notes(name: str, directory: Path, files: dict[str, str]) -> list[str]:
    """The target's notes on every file this emit changes or removes in ``directory``."""
    notes = []
    for path in sorted(read_manifest(directory) | set(files)):
        before = _read_text(directory / path)
        after = files.get(path)
        if before != after:
            notes.extend(drift_notes(name, path, before, after))
    return notes


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class DriftFound(EmitterError):
    def __init__(self) -> None:
        super().__init__(
            "generated files are out of date; run `ignition-stack emit` and commit the result"
        )


def _drift_report(
    name: str, directory: Path, drift: Drift, full_diff: bool, notes: list[str]
) -> str:
    lines = [f"{name}: {directory} differs from what the stack file emits"]
    lines.extend(f"  note: {note}" for note in notes)
    # Each line says what `emit` will do about it: a file the user deleted is missing, and
    # emit writes it back (it was never "added" by anyone).
    for label, paths, action in (
        ("missing", drift.added, " (emit writes it)"),
        ("stale", drift.removed, " (emit removes it)"),
        ("changed", drift.changed, " (emit rewrites it)"),
        ("not owned by ignition-stack", drift.conflicts, " (emit refuses to overwrite it)"),
    ):
        lines.extend(f"  {label}: {path}{action}" for path in paths)
    # A missing file's diff is the whole file: shown only with --diff.
    shown = sorted(path for path in drift.diffs if full_diff or path not in drift.added)
    diff_lines = [line for path in shown for line in drift.diffs[path].splitlines()]
    if not full_diff and len(diff_lines) > DIFF_LINE_LIMIT:
        omitted = len(diff_lines) - DIFF_LINE_LIMIT
        diff_lines = [
            *diff_lines[:DIFF_LINE_LIMIT],
            f"... {omitted} more diff lines (use --diff to see all)",
        ]
    return "\n".join(lines + diff_lines)


def schema_command() -> None:
    from emitter.yamlio import dump_json

    schema = StackSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:ignition-stack:stack-file:1"
    sys.stdout.write(dump_json(schema))
