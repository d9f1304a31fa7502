"""The command line. One exception boundary (``main``) turns every error into a short message
and an exit code: 0 success, 1 invalid stack or failed check, 2 usage error, 130 interrupted
by SIGINT (Ctrl-C), 143 by SIGTERM. No traceback reaches a user.
"""

import inspect
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from emitter import __version__
from emitter.diagnostics import Diagnostic, EmitterError, StackInvalid, UsageError
from emitter.interrupts import Interrupted, signals_raise
from emitter.targets import registry
from emitter.targets.registry import ValidateFlag
from emitter.vocabulary import ArchitectureName, TransportName

app = typer.Typer(
    name="ignition-stack",
    help="Ignition gateway stacks for "
    + " and ".join(target.title for target in registry.targets())
    + ", with redundant pairs that come up already paired.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _target(value: str) -> str:
    if value not in registry.choices():
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(repr(c) for c in registry.choices())}."
        )
    return value


def _target_option(help_text: str) -> Any:
    """``--target``: a registered target's name or alias, or ``all`` (from the registry)."""
    return typer.Option(
        parser=_target,
        metavar=f"[{'|'.join(registry.choices())}]",
        help=f"{help_text} Targets: "
        + "; ".join(f"{target.name}: {target.description}" for target in registry.targets())
        + ".",
    )


class OutputFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def _print_diagnostics(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.render(), file=sys.stderr)


def _version(value: bool) -> None:
    if value:
        print(f"ignition-stack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Ignition gateway stacks, with redundant pairs that come up already paired."""


ArchOption = Annotated[
    ArchitectureName | None,
    typer.Option(
        "--arch", "-a", help="basic | scale-out | hub-and-spoke (omit, with no -f, for the wizard)."
    ),
]
RedundantOption = Annotated[
    str | None,
    typer.Option(
        help="Run this workhorse role as a master/backup pair: gateway, backend or hub (`none` for no pair)."
    ),
]


def create(
    name: Annotated[
        str,
        typer.Argument(
            help="Project name: the directory, and the name each target gives the stack."
        ),
    ],
    arch: ArchOption = None,
    redundant: RedundantOption = None,
    frontends: Annotated[
        int | None,
        typer.Option(min=1, max=10000, help="scale-out: frontend gateways [default: 1]."),
    ] = None,
    spokes: Annotated[
        int | None,
        typer.Option(min=0, max=10000, help="hub-and-spoke: spoke gateways [default: 3]."),
    ] = None,
    edge_role: Annotated[
        str | None,
        typer.Option(
            help="Role that runs the Edge edition, or `none` [default: spoke for hub-and-spoke]."
        ),
    ] = None,
    target: Annotated[
        str | None,
        _target_option(
            "What to generate; recorded as `targets:` in stack.yaml, which a later `emit` "
            f"keeps to [default: the -f file's targets, else {registry.names()[0]}; the wizard "
            "asks when it runs]."
        ),
    ] = None,
    transport: Annotated[
        TransportName | None,
        typer.Option(
            help="Gateway Network transport: plain (8088, demo only) or ssl (8060) [default: plain]."
        ),
    ] = None,
    stack_file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Build from a stack file (as --dry-run prints it)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the resolved stack file and write nothing.")
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option(help="Format of the --dry-run output.")
    ] = OutputFormat.YAML,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Parent directory of the project.")
    ] = Path(),
    strict: Annotated[
        bool, typer.Option(help="Treat warnings (e.g. the demo-only plain transport) as errors.")
    ] = False,
    ci: Annotated[
        bool,
        typer.Option("--ci/--no-ci", help="Scaffold a GitHub Actions drift/validation workflow."),
    ] = True,
    tool_spec: Annotated[
        str | None,
        typer.Option(
            "--tool-spec",
            metavar="REQUIREMENT",
            help="The pip requirement the CI workflow installs this tool from (a pinned version, "
            "wheel URL or git URL of the distribution ignition-stack-emitter); recorded as "
            "`tool:` in stack.yaml [default: the -f file's, else ignition-stack-emitter==VERSION].",
        ),
    ] = None,
) -> None:
    """Create a project NAME: stack.yaml, the generated targets and POST-SETUP.md."""
    from emitter.commands import Shape, create_command

    create_command(
        name=name,
        shape=Shape(
            architecture=arch.value if arch else None,
            redundant=redundant,
            frontends=frontends,
            spokes=spokes,
            edge_role=edge_role,
            transport=transport.value if transport else None,
        ),
        target=target,
        stack_file=stack_file,
        dry_run=dry_run,
        output_format=output_format.value,
        output_dir=output_dir,
        strict=strict,
        ci=ci,
        tool_spec=tool_spec,
    )


app.command("create")(create)
app.command("init", help="Same as create.")(create)


@app.command("emit")
def emit(
    stack_file: Annotated[Path, typer.Argument(help="The stack file.")] = Path("stack.yaml"),
    target: Annotated[
        str | None,
        _target_option(
            "Write exactly this target (or all) this time: narrows the stack file's "
            "`targets:`, or adds one for this run only (stack.yaml is not changed) "
            "[default: the stack file's `targets:`; without that key, the targets already in "
            "targets/ beside it, else all]."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (with several targets: one sub-directory per target); "
            "POST-SETUP.md is then not written [default: targets/<target> beside the stack "
            "file, with POST-SETUP.md beside the stack file]."
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the output directory differs.")
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="With --check: print the whole diff, not a bounded summary."),
    ] = False,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
) -> None:
    """Generate targets and POST-SETUP.md from a stack file (or, with --check, verify they are
    up to date)."""
    from emitter.commands import emit_command

    emit_command(
        stack_file=stack_file,
        target=target,
        out=out,
        check=check,
        full_diff=diff,
        strict=strict,
    )


def validate(
    path: Annotated[
        Path, typer.Argument(help="A generated target directory, or one generated file.")
    ] = Path("targets"),
    strict: Annotated[
        bool, typer.Option(help="Also fail on warnings and on kinds with no schema.")
    ] = False,
    **flags: Any,
) -> None:
    """Schema-check generated files, each with its target's validator (offline, unless a
    target's flag says otherwise)."""
    from emitter.validation import ValidateOptions, validate_command

    validate_command(path=path, options=ValidateOptions(strict=strict, flags=flags))


def _flag_parameter(flag: ValidateFlag) -> inspect.Parameter:
    """A target's ``validate`` flag as the parameter typer reads it."""
    kinds: dict[str, tuple[Any, Any]] = {
        "text": (str | None, None),
        "paths": (list[Path] | None, None),
        "switch": (bool, False),
    }
    annotation, default = kinds[flag.kind]
    option = typer.Option(flag.option, help=flag.help, metavar=flag.metavar)
    return inspect.Parameter(
        flag.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[annotation, option],
    )


def _with_target_flags(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with every target's ``validate`` flags before ``--strict``."""
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    flags = [
        _flag_parameter(flag) for target in registry.targets() for flag in target.validate_flags
    ]
    command.__signature__ = inspect.Signature([own[0], *flags, *own[1:]])  # type: ignore[attr-defined]
    return command


app.command("validate")(_with_target_flags(validate))


@app.command("status")
def status(
    path: Annotated[Path, typer.Argument(help="The project directory or its stack file.")] = Path(
        "stack.yaml"
    ),
    host: Annotated[
        str, typer.Option(help="Where the Compose stack publishes its gateways' ports.")
    ] = "127.0.0.1",
) -> None:
    """Is every pair of a running Compose stack formed and in sync? Exit 0 yes, 1 no."""
    from emitter.pipeline import prepare
    from emitter.spec import load_stack_file
    from emitter.status import stack_file_of, status_command

    status_command(prepare(load_stack_file(stack_file_of(path))).stack, host)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of stack.yaml."""
    from emitter.commands import schema_command

    schema_command()


def main(argv: list[str] | None = None) -> NoReturn:
    with signals_raise():
        try:
            code = _run(argv)
        except (KeyboardInterrupt, Interrupted) as exc:  # outside the command, e.g. at exit
            code = _interrupted(exc)
    sys.exit(code)


def _interrupted(exc: BaseException) -> int:
    """SIGINT and SIGTERM end the same way: whatever was being written was rolled back."""
    stopped = exc if isinstance(exc, Interrupted) else Interrupted()
    print(stopped.message, file=sys.stderr)
    return stopped.exit_code


def _run(argv: list[str] | None) -> int:
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="ignition-stack", standalone_mode=False)
    except (typer.Exit, typer.Abort) as exc:
        # typer turns Ctrl-C into a silent Exit(130); EOF at a wizard prompt is an Abort.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _interrupted(exc.__cause__)
        if isinstance(exc, typer.Exit):
            return exc.exit_code
        print("aborted", file=sys.stderr)
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, bad value (exit 2)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"ignition-stack: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except StackInvalid as exc:
        _print_diagnostics(exc.diagnostics)
        print(f"ignition-stack: {exc.headline}", file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        _print_diagnostics(exc.diagnostics)
        if not exc.diagnostics:
            print(f"ignition-stack: {exc}", file=sys.stderr)
        return exc.exit_code
    except EmitterError as exc:
        print(f"ignition-stack: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, Interrupted) as exc:
        return _interrupted(exc)
    except OSError as exc:  # the disk said no: unwritable, missing or occupied path
        where = f" {exc.filename}" if exc.filename else ""
        print(f"ignition-stack: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: say so in one line; IGNITION_STACK_DEBUG=1 shows the trace
        if os.environ.get("IGNITION_STACK_DEBUG") == "1":
            raise
        print(
            f"ignition-stack: internal error ({type(exc).__name__}: {exc}); please report it "
            "with the command and stack file (IGNITION_STACK_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1
    return result if isinstance(result, int) else 0
