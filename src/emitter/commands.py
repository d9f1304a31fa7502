"""What each command does, apart from parsing its flags (cli.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from emitter import modules, rules
from emitter.diagnostics import (
    Diagnostic,
    EmitterError,
    FlagsMakeStackInvalid,
    StackInvalid,
    UsageError,
)
from emitter.documents import post_setup
from emitter.flags import check_before_wizard, check_flags
from emitter.journal import Recovery
from emitter.pipeline import Resolved, prepare, render, warnings_of
from emitter.project import POST_SETUP, POST_SETUP_ADOPT, TARGETS, create_project
from emitter.resolve import NO_ROLE
from emitter.spec import StackSpec, dump_stack, load_stack_file, stack_from_data
from emitter.targets import Emission, drift_notes, registry, target_names
from emitter.tool import default_requirement, tool_problem
from emitter.tree import MANIFEST, Drift, inspect_trees, write_trees

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
                # The file's edge role and tier count belonged to its old architecture.
                for key in ("edge_role", "frontends", "spokes"):
                    update.setdefault(key, None)
        merged = stack_from_data(base.model_dump() | update)
        check_flags(merged.architecture, topology_flags)
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
            # create says so in its output and in the stack file it writes (IS125, IS204).
            "accept_eula": True,
        }
    )
    check_flags(spec.architecture, topology_flags)
    return _normalised(spec)


def _with_wizard(name: str, shape: Shape, target: str | None) -> tuple[Shape, str | None]:
    """``shape`` and ``target`` completed by the wizard: it asks only what the flags left open
    (flags > wizard answers > defaults), once the flags passed the checks of every path."""
    from emitter.wizard import run_wizard

    architecture = check_before_wizard(shape.topology())
    flags = {**shape.topology(), "transport": shape.transport, "target": target}
    answers = run_wizard(name, flags, architecture)
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


def recorded(spec: StackSpec, target: str | None, tool_spec: str | None) -> StackSpec:
    """The stack with what ``create`` records for ``emit`` and the CI workflow: its targets
    (``--target``, else the stack file's, else the first target) and the requirement CI installs the
    tool from (``--tool-spec``, else the stack file's, else this release from PyPI)."""
    # Neither --target nor the wizard said: the first target, the one a laptop runs.
    targets: list[str] = list(target_names(target or registry.names()[0]))
    if target is None and spec.targets:
        targets = list(spec.targets)
    return spec.model_copy(
        update={
            "targets": list(registry.in_order(targets)),
            "tool": tool_spec or spec.tool or default_requirement(targets),
        }
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
    tool_spec: str | None = None,
) -> None:
    # Everything the command line alone can get wrong is refused first (exit 2).
    problem = rules.stack_name_problem(name)
    if problem:
        raise _usage(problem)
    if target is not None:
        target_names(target)
    if tool_spec is not None:
        problem = tool_problem(tool_spec, path="--tool-spec")
        if problem:
            raise _usage(problem)
    if not dry_run:
        _check_output_dir(output_dir)
    interactive = stack_file is None and shape.architecture is None
    if interactive:
        shape, target = _with_wizard(name, shape, target)
    spec = recorded(build_spec(name, shape, stack_file), target, tool_spec)
    targets = tuple(spec.targets or ())
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
    for name in targets:
        start = registry.get(name).start_command
        if start:
            print(f"      {start.format(directory=directory)}")
    if ci:
        print(f"CI installs {resolved.explicit.tool} (stack.yaml `tool:`, set by --tool-spec)")


# Per directory below an emit's root: relative path -> text.
Trees = dict[str, dict[str, str]]


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
    below it (``""``: the root itself). Without --out the root is the project directory, so
    POST-SETUP.md beside the stack file changes in the same commit as targets/."""

    root: Path
    subdirectories: dict[str, str]
    project: bool

    def directory(self, target: str) -> Path:
        sub = self.subdirectories[target]
        return self.root / sub if sub else self.root


def _layout(stack_file: Path, targets: tuple[str, ...], out: Path | None) -> Layout:
    if out is None:
        project = stack_file.parent
        # The project directory is where the user pointed us; only what is below it must not
        # be reached through a symlink.
        if project.is_symlink():
            project = project.resolve()
        return Layout(project, {name: f"{TARGETS}/{name}" for name in targets}, project=True)
    if len(targets) == 1:
        return Layout(out, {targets[0]: ""}, project=False)
    return Layout(out, {name: name for name in targets}, project=False)


def _emitted_before(stack_file: Path) -> tuple[str, ...]:
    """The targets whose trees an earlier emit left beside the stack file."""
    directory = stack_file.parent / TARGETS
    return tuple(
        name
        for name in registry.names()
        if (directory / name / MANIFEST).is_file() and not (directory / name).is_symlink()
    )


@dataclass(frozen=True)
class Selection:
    """What one emit writes (``emitted``) and what the project has (``project``, which
    POST-SETUP.md describes)."""

    emitted: tuple[str, ...]
    project: tuple[str, ...]
    unrecorded: tuple[str, ...] = ()


def select_targets(spec: StackSpec, stack_file: Path, requested: str | None) -> Selection:
    """``--target`` emits exactly that target (narrowing the project's, or adding one for
    this run); without it, the stack file's ``targets:``. A stack file without the key (from
    0.1) keeps the targets already emitted beside it, or gets every target if there are none."""
    if spec.targets is not None:
        project = registry.in_order(spec.targets)
        if requested is None:
            return Selection(project, project)
        emitted = target_names(requested)
        return Selection(emitted, project, tuple(n for n in emitted if n not in project))
    before = _emitted_before(stack_file)
    emitted = target_names(requested) if requested is not None else (before or registry.names())
    return Selection(emitted, registry.in_order((*before, *emitted)))


def emit_command(
    *,
    stack_file: Path,
    target: str | None,
    out: Path | None,
    check: bool,
    full_diff: bool,
    strict: bool,
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
    *,
    stack_file: Path,
    target: str | None,
    out: Path | None,
    check: bool,
    full_diff: bool,
    strict: bool,
) -> None:
    resolved: Resolved = prepare(load_stack_file(stack_file), strict=strict)
    selection = select_targets(resolved.explicit, stack_file, target)
    targets = selection.emitted
    emissions = render(resolved, targets)
    files = list(modules.repository_problems(resolved.stack, stack_file.parent))
    if files:
        raise StackInvalid(files)
    layout = _layout(stack_file, targets, out)
    trees = {layout.subdirectories[name]: emission.files for name, emission in emissions.items()}
    adopt: Trees = {}
    if layout.project:
        trees[""] = {POST_SETUP: post_setup(resolved.stack, selection.project)}
        adopt[""] = POST_SETUP_ADOPT
    for name in selection.unrecorded:
        print(
            f"notice: {name} is not in the stack file's `targets:`, so an `emit` without "
            f"--target leaves it as it is; add it there to keep it current",
            file=sys.stderr,
        )
    warnings = warnings_of(resolved, emissions)
    if check:
        _check(layout, trees, adopt, emissions, full_diff, warnings)
    else:
        _write(layout, trees, adopt, emissions, warnings)


def _check(
    layout: Layout,
    trees: Trees,
    adopt: Trees,
    emissions: dict[str, Emission],
    full_diff: bool,
    warnings: tuple[Diagnostic, ...],
) -> None:
    """``emit --check``: report every tree's drift; raise ``DriftFound`` if any."""
    inspection = inspect_trees(layout.root, trees, adopt)
    _warn(warnings)
    _report_recovery(layout.root, inspection.recovery)
    drifted = bool(inspection.recovery.leftovers)
    if drifted:
        print(
            f"{layout.root}: leftovers of an interrupted emit (the next `ignition-stack "
            f"emit` removes them): {', '.join(inspection.recovery.leftovers)}"
        )
    # (label, its directory, what "up to date" names, its drift, what to tell a reviewer): each
    # target, then POST-SETUP.md.
    reports = [
        (
            name,
            layout.directory(name),
            layout.directory(name),
            drift := inspection.drifts[layout.subdirectories[name]],
            _change_notes(name, drift.before, emission.files) if not drift.clean else [],
        )
        for name, emission in emissions.items()
    ]
    if layout.project:
        reports.append(
            (POST_SETUP, layout.root, layout.root / POST_SETUP, inspection.drifts[""], [])
        )
    for label, directory, shown, drift, notes in reports:
        if drift.clean:
            print(f"{label}: {shown} is up to date")
        else:
            drifted = True
            print(_drift_report(label, directory, drift, full_diff, notes))
    if drifted:
        raise DriftFound()


def _write(
    layout: Layout,
    trees: Trees,
    adopt: Trees,
    emissions: dict[str, Emission],
    warnings: tuple[Diagnostic, ...],
) -> None:
    """``emit``: one commit for every tree, then what changed and what to know about it."""
    written = write_trees(layout.root, trees, adopt)
    # After the write: an emit that fails (a file it does not own, a lock) shows only why.
    _warn(warnings)
    _report_recovery(layout.root, written.recovery)
    for name, emission in emissions.items():
        sub = layout.subdirectories[name]
        for note in _change_notes(name, written.before[sub], emission.files):
            print(f"notice: {note}", file=sys.stderr)
        removed = written.removed[sub]
        note = f", removed {len(removed)} stale" if removed else ""
        print(f"{name}: wrote {len(emission.files)} files to {layout.directory(name)}{note}")
    if layout.project and written.before[""]:
        print(f"{POST_SETUP}: wrote {layout.root / POST_SETUP}")


def _report_recovery(root: Path, recovery: Recovery) -> None:
    """Say that an earlier, interrupted emit was resolved (on stderr: it is not this run's
    output, and --check's stdout stays the drift report)."""
    if recovery.rolled_back:
        print(f"ignition-stack: rolled back an interrupted emit in {root}", file=sys.stderr)
    if recovery.finished:
        print(f"ignition-stack: finished an interrupted emit in {root}", file=sys.stderr)


def _change_notes(name: str, before: dict[str, str | None], files: dict[str, str]) -> list[str]:
    """The target's notes on every file this emit changes or removes; ``before``: each such
    path's text before, as the tree writer read it (by descriptor, under the lock)."""
    notes = []
    for path in sorted(before):
        notes.extend(drift_notes(name, path, before[path], files.get(path)))
    return notes


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
