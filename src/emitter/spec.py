"""What users write: the stack file (``stack.yaml``), as pydantic models.

Only shape lives here (types, enums, ranges, unknown keys). Whether the stack makes sense
(pairs, names, ports, connections) is decided in ``rules/`` so every problem is reported
together, with a code and a hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    create_model,
)

from emitter.database import DatabaseSpec
from emitter.diagnostics import Diagnostic, StackInvalid, error, preview
from emitter.gateway_settings import PublicAddressSpec, RoleSettings
from emitter.image import supported_releases
from emitter.model import Model
from emitter.mqtt import MqttSpec
from emitter.reference import REFERENCE_PATTERN
from emitter.targets import registry
from emitter.vocabulary import ArchitectureName, Edition, NodeRole, TransportName
from emitter.web import WebSpec

# Pinned: an 8.3 release on which seeding redundancy.xml is known to form the pair. Bump it
# deliberately, and bring a pair up by hand on the new release (POST-SETUP.md's check).
DEFAULT_IMAGE = "inductiveautomation/ignition:8.3.6"
DEFAULT_MEMORY_MB = 2048
FIRST_HTTP_PORT = 9088
# The largest integer a stack file may hold (int64, what Go and Kubernetes tooling reads), and
# the most characters one may be written in (0b and 64 binary digits, with room to spare).
MAX_INTEGER = 2**63 - 1
MAX_INTEGER_TEXT = 70
UNKNOWN_KEY = "unknown key"
YAML_HINT = "fix the YAML syntax; `ignition-stack create NAME --dry-run` prints a valid example"
# Longer than any preview (so a previewed key keeps its text), short enough for one line.
KEY_PREVIEW = 80
OUT_OF_RANGE = "the numbers of a stack file fit in 64 bits"
NUMBER_HINT = (
    "use a value in the key's range (`ignition-stack schema` lists them), "
    "or quote it if it is meant as text"
)


# One line that pip reads as a requirement, URL or path: no option (a leading `-`), no control
# characters (the workflow puts it on a shell command line, quoted). See tool.py.
TOOL_SPEC_PATTERN = r"^[^-\s][^\x00-\x1f\x7f]*$"
MAX_TOOL_SPEC = 2000


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("list each target once")
    return values


class RedundancySpec(Model):
    """Membership of a master/backup pair."""

    role: NodeRole = Field(
        description="`master` runs the system; `backup` stays in sync and takes over."
    )
    peer: str = Field(description="Name of the other gateway of the pair.")


class LicenseSpec(Model):
    """A leased license, by reference: the key and token stay in a secret (emitter.licensing)."""

    secret: str = Field(
        description=(
            "Name of the secret holding the gateway's leased license key and activation token "
            "(a DNS-1123 label, never the key itself). Kubernetes: a Secret of that name in the "
            "stack's namespace with keys `license-key` and `activation-token`. Compose: the "
            "git-ignored files `secrets/<name>/license-key` and `secrets/<name>/activation-token` "
            "of the project."
        )
    )


class GatewaySpec(Model):
    """One gateway (one node). ``--dry-run`` lists every gateway explicitly, backups included."""

    name: str = Field(
        description="Gateway name: a DNS-1123 label; the Compose service and Kubernetes object name."
    )
    role: str = Field(
        description="The architecture role this gateway plays (e.g. `backend`, `spoke`)."
    )
    edition: Edition = Field(
        default=Edition.STANDARD, description="Ignition edition (`standard` or `edge`)."
    )
    http_port: int = Field(
        ge=1, le=65535, description="Host port published for the gateway's web UI (Compose)."
    )
    memory_mb: int = Field(
        default=DEFAULT_MEMORY_MB,
        ge=512,
        le=1048576,
        description="Memory for the gateway in MiB; the Java heap is sized at 75% of it.",
    )
    volume: str | None = Field(
        default=None, description="Data volume name; defaults to `<name>-data`."
    )
    networks: list[str] = Field(default_factory=list, description="Networks the gateway joins.")
    connections: list[str] = Field(
        default_factory=list,
        description="Gateways this one opens outgoing Gateway Network connections to.",
    )
    redundancy: RedundancySpec | None = Field(
        default=None, description="Set on both gateways of a master/backup pair; absent otherwise."
    )
    license: LicenseSpec | None = Field(
        default=None,
        description=(
            "Leased license (activation key and token), read from a secret: "
            "`{secret: NAME}`. Each node of a pair has its own (a backup-only license locks "
            "its node in Backup mode). Absent: the 2-hour trial, or a license activated in "
            "the gateway's web UI."
        ),
    )
    # The operator's settings (gateway_settings.py): these override the role's (`roles:`).
    timezone: str | None = Field(default=None, description="Overrides the role's `timezone`.")
    environment: dict[str, str] | None = Field(
        default=None,
        description="Merged key by key over the role's `environment` (this gateway's win).",
    )
    jvm_args: list[str] | None = Field(
        default=None, description="Replaces the role's `jvm_args` as a whole."
    )
    public_address: PublicAddressSpec | None = Field(
        default=None,
        description="Overrides the role's `public_address`; the two nodes of a pair may differ.",
    )


class StackFields(Model):
    """A stack of Ignition gateways (``stack.yaml``)."""

    schema_version: Literal[1] = Field(default=1, description="Version of this file's format.")
    name: str = Field(
        description="Stack name: a DNS-1123 label; the project directory and Compose project name."
    )
    architecture: ArchitectureName = Field(description="`basic`, `scale-out` or `hub-and-spoke`.")
    frontends: int | None = Field(
        default=None, ge=1, le=10000, description="scale-out: number of frontend gateways."
    )
    spokes: int | None = Field(
        default=None, ge=0, le=10000, description="hub-and-spoke: number of spoke gateways."
    )
    redundant: str | None = Field(
        default=None,
        description="The workhorse role to run as a master/backup pair (`gateway`, `backend` or `hub`).",
    )
    edge_role: str | None = Field(
        default=None,
        description="The role that runs the Edge edition, or `none`; defaults to `spoke` for hub-and-spoke.",
    )
    transport: TransportName = Field(
        default=TransportName.PLAIN,
        description="Gateway Network transport: `plain` (port 8088, demo only) or `ssl` (port 8060).",
    )
    # Its type and description come from the registry (``_target_fields``).
    targets: list[str] | None = None
    accept_eula: bool | None = Field(
        default=None,
        description=(
            "You accept Inductive Automation's Ignition EULA for every gateway of the stack: "
            "they start with ACCEPT_IGNITION_EULA=Y. `create` writes `true` and says so; "
            "`false` stops the stack (the image does not start without it)."
        ),
    )
    image: str = Field(
        default=DEFAULT_IMAGE,
        # Checked by rules/image.py (IS121, IS122, IS128) so a user learns why and how to pin it; the
        # pattern here helps editors that read the schema.
        json_schema_extra={"pattern": REFERENCE_PATTERN},
        description=(
            "Ignition image, pinned to a release tag (not `latest`); supported releases: "
            f"{supported_releases()}. The digest may follow the tag (`repo:8.3.6@sha256:...`)."
        ),
    )
    tool: str | None = Field(
        default=None,
        # Checked by tool.py (IS124) so a user learns why; the pattern helps editors.
        json_schema_extra={"pattern": TOOL_SPEC_PATTERN, "maxLength": MAX_TOOL_SPEC},
        description=(
            "The pip requirement the scaffolded CI workflow installs ignition-stack from "
            "(distribution `ignition-stack-emitter`; PyPI's `ignition-stack` is another tool), "
            "e.g. `ignition-stack-emitter==0.1.0`, a wheel URL or a git URL. Recorded by "
            "`create --tool-spec`."
        ),
    )
    roles: dict[str, RoleSettings] | None = Field(
        default=None,
        description=(
            "Settings for every gateway of a role, by role name (e.g. `backend`): `timezone`, "
            "`environment`, `jvm_args`, `public_address` (a gateway's own keys override them), "
            "and `modules`, `modules_enabled`, `restore` (the role's only: a pair runs the same "
            "modules, and only its master restores)."
        ),
    )
    mqtt: MqttSpec | None = Field(
        default=None,
        description=(
            "An MQTT broker (Eclipse Mosquitto) for MQTT Engine / Transmission, reachable only "
            "from the gateways of `roles`: `{broker, image, username, roles}`. Absent: none."
        ),
    )
    web: WebSpec | None = Field(
        default=None,
        description=(
            "Web access with TLS through a proxy: `{hosts: {ROLE: DNS_NAME}}` (see "
            "`kubernetes.web` and `compose.web` for each target's route and certificate)."
        ),
    )
    gateways: list[GatewaySpec] | None = Field(
        default=None,
        description="Every gateway, explicitly. Omit to derive them from the architecture.",
    )
    database: DatabaseSpec | None = Field(
        default=None,
        description=(
            "A database beside the gateways (Compose: a service; Kubernetes: a CloudNativePG "
            "`Cluster`), and the roles whose gateways get a connection to it, made before "
            "their first start: `{engine: postgres, connections: [{role: backend}]}`."
        ),
    )


def _target_fields() -> dict[str, Any]:
    """What the registered targets add to ``StackFields``: the names ``targets:`` takes, and
    each target's options key (in the order its ``StackOptions`` gives)."""
    names = registry.names()
    listed = ", ".join(f"`{name}`" for name in names)
    fields: dict[str, Any] = {
        "targets": (
            Annotated[list[Literal[names]], AfterValidator(_distinct)] | None,  # type: ignore[valid-type]
            Field(
                default=None,
                min_length=1,
                description=(
                    f"What `ignition-stack emit` writes when given no --target: {listed} "
                    f"or {'both' if len(names) == 2 else 'several'}. Recorded by `create "
                    "--target`. When absent, emit writes the targets already in targets/ "
                    "beside the stack file, or every target if there are none."
                ),
            ),
        )
    }
    with_options = [target.options for target in registry.targets() if target.options]
    for options in sorted(with_options, key=lambda options: options.order):
        fields[options.key] = options.field()
    return fields


if TYPE_CHECKING:
    StackSpec = StackFields
else:
    # One model, whatever targets are registered: its JSON Schema is ``ignition-stack schema``.
    StackSpec = create_model(
        "StackSpec",
        __base__=StackFields,
        __doc__=StackFields.__doc__,
        __module__=__name__,
        **_target_fields(),
    )


def dotted_path(location: tuple[int | str, ...]) -> str:
    """``("gateways", 2, "redundancy")`` -> ``gateways[2].redundancy``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:  # a key: usually a string, but YAML keys can be anything, and any length
            key = preview(str(part), KEY_PREVIEW)
            text += f".{key}" if text else key
    return text


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that also refuses aliases (no billion-laughs) and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases are not allowed in a stack file", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # PyYAML's constructors raise plain Python errors for text their tag cannot hold
        # (`!!int abc`, `!!float ""`, `!!bool x`, a timestamp like 2001-13-45): a YAML error.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            value = f" {preview(str(node.value))!r}" if isinstance(node.value, str) else ""
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the {node.id}{value} is not a valid {_short_tag(node.tag)}",
                node.start_mark,
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if not isinstance(node, yaml.MappingNode):  # `!!set [1]`, `!!map [1]`
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found a {node.id}", node.start_mark
            )
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            if isinstance(key, str):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_bounded_int(self, node: Any) -> Any:
        """An integer, or an ``OutOfRange`` marker that ``parse_stack`` reports at its path.

        Python refuses to convert decimal text of more than 4300 digits (and converts long
        sexagesimal text in quadratic time); no value of a stack file needs more than 64 bits.
        """
        text = str(self.construct_scalar(node))
        if len(text.replace("_", "").lstrip("+-")) <= MAX_INTEGER_TEXT:
            value = self.construct_yaml_int(node)
            if -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
                return value
        return OutOfRange(text, node.start_mark)


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_bounded_int)


class OutOfRange:
    """Stands in for an integer of the stack file too large to hold, until it is reported."""

    __slots__ = ("column", "line", "text")

    def __init__(self, text: str, mark: Any) -> None:
        self.text = text
        self.line = mark.line + 1
        self.column = mark.column + 1

    def __str__(self) -> str:
        return preview(self.text)

    # pydantic names a key that is not a string by its repr.
    __repr__ = __str__


def _out_of_range(data: Any) -> list[Diagnostic]:
    """An IS002 for every ``OutOfRange`` in the loaded data, keys included, in file order.

    Iterative: the data may nest as deeply as the YAML parser allowed."""
    found: list[tuple[OutOfRange, Diagnostic]] = []
    pending: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while pending:
        location, value = pending.pop()
        if isinstance(value, OutOfRange):
            found.append((value, _number_diagnostic(location, value)))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, OutOfRange):
                    found.append((key, _number_diagnostic((*location, key), key)))
                pending.append(((*location, key), item))
        elif isinstance(value, list):
            pending.extend(((*location, index), item) for index, item in enumerate(value))
    found.sort(key=lambda pair: (pair[0].line, pair[0].column))
    return [diagnostic for _, diagnostic in found]


def _number_diagnostic(location: tuple[Any, ...], number: OutOfRange) -> Diagnostic:
    return error(
        "IS002",
        dotted_path(location),
        f"number {number} on line {number.line} is out of range: {OUT_OF_RANGE}",
        NUMBER_HINT,
    )


def parse_stack(text: str, source: str = "stack.yaml") -> StackSpec:
    """Parse stack file text; any problem becomes a diagnostic (never a traceback)."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StackInvalid(
            [
                error(
                    "IS001",
                    "",
                    f"{source} is not valid YAML{where}: {problem}",
                    YAML_HINT,
                )
            ]
        ) from None
    except RecursionError:
        raise StackInvalid(
            [error("IS001", "", f"{source} nests too deeply to be a stack file")]
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # A tagged value construct_object could not place (PyYAML fills some in later).
        raise StackInvalid(
            [error("IS001", "", f"{source} holds a value YAML cannot read: {exc}", YAML_HINT)]
        ) from None
    numbers = _out_of_range(data)
    if not isinstance(data, dict):
        raise StackInvalid(
            numbers
            or [
                error(
                    "IS001",
                    "",
                    f"{source} must hold a mapping (name:, architecture:, ...)",
                    "start from `ignition-stack create NAME --arch basic --dry-run`",
                )
            ]
        )
    return stack_from_data(data, numbers)


def stack_from_data(data: dict[str, Any], reported: list[Diagnostic] | None = None) -> StackSpec:
    """Validate stack data (a parsed file, or flags merged into one); shape errors become
    diagnostics, after those ``reported`` already (out-of-range numbers)."""
    reported = reported or []
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as exc:
        # At a reported number's path pydantic only adds "not a valid integer"; an unknown key
        # there is a second problem, worth its own line.
        from emitter.shape import shape_diagnostic  # only on the error path

        paths = {diagnostic.path for diagnostic in reported}
        shape = [shape_diagnostic(item, data) for item in exc.errors()]
        shape = [d for d in shape if d.path not in paths or d.message == UNKNOWN_KEY]
        raise StackInvalid([*reported, *shape]) from None
    if reported:
        raise StackInvalid(reported)
    return spec


def load_stack_file(path: Path) -> StackSpec:
    from emitter.stackfile import read_stack_file

    return parse_stack(read_stack_file(path), source=str(path))


STACK_FILE_HEADER = (
    "# ignition-stack stack file: `ignition-stack schema` describes every key.\n"
    "# Delete `gateways:` to re-derive them from architecture, counts and redundant.\n"
)


def stack_document(spec: StackSpec) -> dict[str, Any]:
    """The explicit stack as plain data, in the order of the model's fields."""
    data = spec.model_dump(mode="json", exclude_none=True)
    # `redundant: null` says "no pair" explicitly; keep it next to the architecture.
    ordered = {}
    for key in StackSpec.model_fields:
        if key in data:
            ordered[key] = data[key]
        elif key == "redundant":
            ordered[key] = None
    return ordered


def dump_stack(spec: StackSpec, output_format: str = "yaml") -> str:
    """What ``--dry-run`` prints and ``create`` records, byte for byte."""
    from emitter.yamlio import dump_json, dump_yaml

    document = stack_document(spec)
    if output_format == "json":
        return dump_json(document)
    return STACK_FILE_HEADER + dump_yaml(document)
