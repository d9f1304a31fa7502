"""What users write: the stack file (``stack.yaml``), as pydantic models.

Only shape lives here (types, enums, ranges, unknown keys). Whether the stack makes sense
(pairs, names, ports, connections) is decided in ``rules.py`` so every problem is reported
together, with a code and a hint.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from emitter.diagnostics import Diagnostic, StackInvalid, error, preview
from emitter.image import supported_releases
from emitter.reference import REFERENCE_PATTERN
from emitter.vocabulary import ArchitectureName, Edition, NodeRole, TransportName

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
# The number of a Kubernetes quantity (storage size, CPU): Kubernetes caps any quantity at
# 2^63-1 instead of refusing it, so more digits than that would silently mean something else.
QUANTITY_NUMBER = r"[0-9]{1,18}(\.[0-9]{1,9})?"
# Longer than any preview (so a previewed key keeps its text), short enough for one line.
KEY_PREVIEW = 80
OUT_OF_RANGE = "the numbers of a stack file fit in 64 bits"
NUMBER_HINT = (
    "use a value in the key's range (`ignition-stack schema` lists them), "
    "or quote it if it is meant as text"
)
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
QUANTITY_PATTERN = rf"^{QUANTITY_NUMBER}(Ki|Mi|Gi|Ti)$"


TargetName = Literal["compose", "kubernetes"]
# One line that pip reads as a requirement, URL or path: no option (a leading `-`), no control
# characters (the workflow puts it on a shell command line, quoted). See tool.py.
TOOL_SPEC_PATTERN = r"^[^-\s][^\x00-\x1f\x7f]*$"
MAX_TOOL_SPEC = 2000


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("list each target once")
    return values


def _cidr(value: str) -> str:
    """An IPv4 or IPv6 network in CIDR notation, host bits zero (what a NetworkPolicy's ipBlock
    takes)."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR network such as 10.20.0.0/16: {exc}") from None
    if "/" not in value:
        raise ValueError("give the prefix length too, e.g. 10.20.0.5/32")
    return str(network)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class RedundancySpec(_Model):
    """Membership of a master/backup pair."""

    role: NodeRole = Field(
        description="`master` runs the system; `backup` stays in sync and takes over."
    )
    peer: str = Field(description="Name of the other gateway of the pair.")


class GatewaySpec(_Model):
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


class KubernetesSpec(_Model):
    """Options of the Kubernetes target; overlays can change them per environment too."""

    storage_size: str = Field(
        default="3Gi",
        pattern=QUANTITY_PATTERN,
        description="Size of each gateway's data volume claim.",
    )
    storage_class: str | None = Field(
        default=None,
        pattern=DNS_SUBDOMAIN,
        description="Storage class of the data volumes; cluster default when unset.",
    )
    cpu_request: str = Field(
        default="500m", pattern=rf"^{QUANTITY_NUMBER}m?$", description="CPU request per gateway."
    )
    cpu_limit: str = Field(
        default="2", pattern=rf"^{QUANTITY_NUMBER}m?$", description="CPU limit per gateway."
    )
    web_access_namespaces: list[Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN)]] = (
        Field(
            default_factory=list,
            description=(
                "Namespaces (e.g. your ingress controller's) allowed to reach the gateways' web port, "
                "besides the stack's own namespace."
            ),
        )
    )
    pair_anti_affinity: Literal["preferred", "required"] = Field(
        default="preferred",
        description="Keep master and backup on different nodes: `preferred`, or `required` (needs >= 2 nodes).",
    )
    egress_cidrs: list[Annotated[str, AfterValidator(_cidr)]] = Field(
        default_factory=list,
        description=(
            "IP ranges (CIDR, e.g. `10.20.0.0/16` for your databases and PLCs) the gateways may "
            "reach on any port. Otherwise they reach only cluster DNS and the gateways they link to."
        ),
    )
    egress_namespaces: list[Annotated[str, StringConstraints(pattern=DNS_LABEL_PATTERN)]] = Field(
        default_factory=list,
        description="Namespaces whose pods the gateways may reach on any port (e.g. a database's).",
    )
    ephemeral_storage_request: str = Field(
        default="1Gi",
        pattern=QUANTITY_PATTERN,
        description="Ephemeral storage (logs, temporary files) requested per gateway container.",
    )
    ephemeral_storage_limit: str = Field(
        default="4Gi",
        pattern=QUANTITY_PATTERN,
        description="Ephemeral storage limit per gateway container; beyond it the pod is evicted.",
    )


def _ip_address(value: str) -> str:
    """An IPv4 or IPv6 address of the host, in its canonical spelling."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(
            "not an IP address: give one of the host's addresses, e.g. 127.0.0.1, or 0.0.0.0 for every interface"
        ) from None


class ComposeSpec(_Model):
    """Options of the Compose target."""

    publish_address: Annotated[str, AfterValidator(_ip_address)] | None = Field(
        default=None,
        description=(
            "Host address the gateways' web ports are published on, e.g. `0.0.0.0` for every "
            "interface. Default: `127.0.0.1` with `transport: plain` (a demo link without "
            "authentication), every interface with `transport: ssl`."
        ),
    )


class StackSpec(_Model):
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
    targets: Annotated[list[TargetName], AfterValidator(_distinct)] | None = Field(
        default=None,
        min_length=1,
        description=(
            "What `ignition-stack emit` writes when given no --target: `compose`, `kubernetes` "
            "or both. Recorded by `create --target`. When absent, emit writes the targets "
            "already in targets/ beside the stack file, or every target if there are none."
        ),
    )
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
        # Checked by rules.py (IS121, IS122, IS126) so a user learns why and how to pin it; the
        # pattern here helps editors that read the schema.
        json_schema_extra={"pattern": REFERENCE_PATTERN},
        description=(
            "Ignition image, pinned to a release tag (not `latest`); supported releases: "
            f"{supported_releases()}. The digest may follow the tag (`repo:8.3.6@sha256:...`)."
        ),
    )
    tool: str | None = Field(
        default=None,
        # Checked by rules.py (IS124) so a user learns why; the pattern helps editors.
        json_schema_extra={"pattern": TOOL_SPEC_PATTERN, "maxLength": MAX_TOOL_SPEC},
        description=(
            "The pip requirement the scaffolded CI workflow installs ignition-stack from "
            "(distribution `ignition-stack-emitter`; PyPI's `ignition-stack` is another tool), "
            "e.g. `ignition-stack-emitter==0.1.0`, a wheel URL or a git URL. Recorded by "
            "`create --tool-spec`."
        ),
    )
    gateways: list[GatewaySpec] | None = Field(
        default=None,
        description="Every gateway, explicitly. Omit to derive them from the architecture.",
    )
    kubernetes: KubernetesSpec = Field(
        default_factory=KubernetesSpec, description="Kubernetes target options."
    )
    compose: ComposeSpec | None = Field(default=None, description="Compose target options.")


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
