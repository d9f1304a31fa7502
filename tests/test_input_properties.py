"""Property tests of hostile stack-file input through the command line: numbers too large to
hold anywhere in the file, files too large, endless or not files at all, and image references.
The answer is always exit 1 or 2 with a diagnostic code, never the internal-error message or a
traceback (a valid, pinned image is the one input here that may succeed)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emitter.cli import main
from emitter.image import read_release
from emitter.pipeline import prepare
from emitter.reference import REFERENCE_PATTERN, parse_image_reference
from emitter.spec import dump_stack
from emitter.stackfile import MAX_STACK_FILE_BYTES

from .conftest import Result
from .test_properties import stacks
from .test_stack_input import run_process

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIAGNOSTIC = re.compile(r"^error IS\d{3}", re.MULTILINE)
PLACEHOLDER = "__number__"


def run_cli(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())


def assert_refused_with_a_diagnostic(result: Result) -> None:
    assert result.exit_code in (1, 2), (result.exit_code, result.stderr[-2000:])
    assert DIAGNOSTIC.search(result.stderr), result.stderr[-2000:]
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr


def dry_run_text(text: str) -> Result:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "stack.yaml"
        path.write_text(text, encoding="utf-8")
        return run_cli("create", "plant", "-f", str(path), "--dry-run")


# --- numbers too large to hold, anywhere --------------------------------------------------------


@st.composite
def huge_integers(draw: st.DrawFn) -> str:
    """YAML integer text beyond 64 bits, in every form YAML 1.1 reads as an integer."""
    boundary = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**19, -(10**30)]).map(str)
    length = draw(st.integers(4301, 6000))
    pattern = draw(st.text("0123456789", min_size=1, max_size=6))
    digits = draw(st.sampled_from("123456789")) + (pattern * length)[: length - 1]
    long_forms = st.sampled_from(
        [
            digits,
            f"-{digits}",
            f"+{digits}",
            "_".join(digits[i : i + 3] for i in range(0, len(digits), 3)),
            "0x" + digits,
            "0" + digits.replace("8", "7").replace("9", "7"),
            "0b" + digits.replace("0", "1")[:5000].translate(str.maketrans("23456789", "10101010")),
            digits[:2] + ":30" * (length // 3),
        ]
    )
    return draw(st.one_of(boundary, long_forms))


@st.composite
def placed_numbers(draw: st.DrawFn) -> tuple[str, bool]:
    """A stack file with a huge integer somewhere: (text, whether it is a plain scalar)."""
    number = draw(huge_integers())
    quoted = draw(st.booleans()) and len(number) > 30  # a short quoted number can be a valid name
    document: Any = yaml.safe_load(dump_stack(prepare(draw(stacks())).explicit))
    where = draw(st.sampled_from(["value", "unknown key", "list", "document", "mapping key"]))
    if where == "document":
        return f"{number}\n", True
    if where == "mapping key":
        return yaml.safe_dump(document, sort_keys=False) + f"? {number}\n: 1\n", True
    if where == "unknown key":
        document[draw(st.sampled_from(["colour", "extra", "gateways_"]))] = PLACEHOLDER
    elif where == "list":
        gateway = draw(st.sampled_from(document["gateways"]))
        target = gateway[draw(st.sampled_from(["networks", "connections"]))]
        target.insert(draw(st.integers(0, len(target))), PLACEHOLDER)
    else:
        target = draw(st.sampled_from([document, document["kubernetes"], *document["gateways"]]))
        # `create plant -f` names the stack itself: a quoted number as the file's `name` is
        # replaced, not refused (a plain one is still out of range while the file is read).
        keys = sorted(
            key for key in target if not (quoted and target is document and key == "name")
        )
        target[draw(st.sampled_from(keys))] = PLACEHOLDER
    scalar = f"'{number}'" if quoted else number
    return yaml.safe_dump(document, sort_keys=False).replace(PLACEHOLDER, scalar), not quoted


@SETTINGS
@given(placed_numbers())
def test_huge_numbers_anywhere_are_diagnostics(placed: tuple[str, bool]) -> None:
    text, plain = placed
    result = dry_run_text(text)
    assert_refused_with_a_diagnostic(result)
    if plain:
        assert "out of range" in result.stderr, result.stderr[-2000:]
        assert re.search(r"^error IS002 .*64 bits", result.stderr, re.MULTILINE)


TAGS = ["!!int", "!!float", "!!bool", "!!timestamp", "!!null", "!!str", "!!binary"]
COLLECTION_TAGS = ["!!set", "!!map", "!!seq", "!!omap", "!!pairs"]


@st.composite
def tagged_values(draw: st.DrawFn) -> str:
    """YAML text whose tag (explicit, or implied like a date's) may not fit its value."""
    scalar = st.text(alphabet="0123456789abex:-_.+ ", max_size=12)  # no quote or backslash
    return draw(
        st.one_of(
            st.tuples(st.sampled_from(TAGS), scalar).map(lambda pair: f'{pair[0]} "{pair[1]}"'),
            st.tuples(
                st.sampled_from(COLLECTION_TAGS), st.sampled_from(["[1]", "{a: 1}", "[{a: 1}]"])
            ).map(" ".join),
            st.from_regex(
                r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( [0-9]{1,2}:[0-9]{2}:[0-9]{2})?", fullmatch=True
            ),
        )
    )


@SETTINGS
@given(stacks(), tagged_values(), st.data())
def test_tagged_values_are_read_or_diagnosed(spec: Any, value: str, data: st.DataObject) -> None:
    """Some tagged values are fine (`!!str "3"` as a count); none may crash the tool."""
    document: Any = yaml.safe_load(dump_stack(prepare(spec).explicit))
    target = data.draw(st.sampled_from([document, document["kubernetes"], *document["gateways"]]))
    target[data.draw(st.sampled_from(sorted(target)))] = PLACEHOLDER
    result = dry_run_text(yaml.safe_dump(document, sort_keys=False).replace(PLACEHOLDER, value))
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    if result.exit_code != 0:
        assert_refused_with_a_diagnostic(result)


# --- files too large, endless, or not files ----------------------------------------------------


@st.composite
def hostile_sources(draw: st.DrawFn) -> tuple[str, Any]:
    """What to pass as the stack file: (kind, parameter)."""
    return draw(
        st.one_of(
            st.tuples(
                st.just("large file"),
                st.integers(MAX_STACK_FILE_BYTES + 1, 3 * MAX_STACK_FILE_BYTES),
            ),
            st.tuples(st.just("zeros"), st.integers(1, 2 * MAX_STACK_FILE_BYTES)),
            st.tuples(
                st.just("device"), st.sampled_from(["/dev/zero", "/dev/null", "/dev/urandom"])
            ),
            st.tuples(st.just("device link"), st.sampled_from(["/dev/zero", "/dev/full"])),
            st.tuples(st.just("directory"), st.booleans()),
            st.tuples(st.just("named pipe"), st.none()),
            st.tuples(st.just("dangling link"), st.none()),
            st.tuples(st.just("link loop"), st.none()),
            st.tuples(st.just("endless pipe"), st.text("ab: \n-#", min_size=1, max_size=20)),
        )
    )


def _prepare_source(kind: str, parameter: Any, directory: Path) -> Path:
    path = directory / "stack.yaml"
    if kind == "large file":
        with path.open("w") as handle:
            handle.write("name: plant\narchitecture: basic\n")
            handle.truncate(parameter)
    elif kind == "zeros":
        path.write_bytes(b"\0" * parameter)
    elif kind == "device":
        return Path(parameter)
    elif kind == "device link":
        path.symlink_to(parameter)
    elif kind == "directory":
        path.mkdir()
        if parameter:  # the file the user meant is there: still not a guess we act on
            (path / "stack.yaml").write_text("name: plant\narchitecture: basic\n")
    elif kind == "named pipe":
        os.mkfifo(path)
    elif kind == "dangling link":
        path.symlink_to(directory / "missing.yaml")
    elif kind == "link loop":
        path.symlink_to(path)
    return path


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_sources())
def test_huge_endless_and_non_files_are_diagnostics(source: tuple[str, Any]) -> None:
    kind, parameter = source
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        if kind == "endless pipe":
            endless = subprocess.Popen(["yes", parameter], stdout=subprocess.PIPE)
            try:
                result = run_process("emit", "/dev/stdin", stdin=endless.stdout)
            finally:
                endless.kill()
                endless.wait()
                assert endless.stdout is not None
                endless.stdout.close()
        else:
            path = _prepare_source(kind, parameter, directory)
            result = run_process("create", "plant", "-f", str(path), "--dry-run", timeout=60)
    assert_refused_with_a_diagnostic(result)
    assert re.search(r"^error IS001", result.stderr, re.MULTILINE), result.stderr


# --- image references --------------------------------------------------------------------------

DIGEST = "sha256:" + "ab" * 32
valid_references = st.from_regex(REFERENCE_PATTERN, fullmatch=True)
reference_like = st.text(alphabet="abAB09._-:/@[]", max_size=40)
images = st.one_of(
    valid_references,
    valid_references.map(lambda text: text.split("@")[0].rsplit(":", 1)[0]),  # tag dropped
    valid_references.map(lambda text: text.split("@")[0] + "@" + DIGEST),
    st.sampled_from(
        ["latest", "LATEST", "8.3.6", "8.1.48", "8.1.9", "8.2", "-1", ".x", "a" * 129]
    ).map(lambda tag: f"inductiveautomation/ignition:{tag}"),
    reference_like,
    st.text(max_size=30),
    st.integers(256, 5000).map(lambda n: "a" * n + ":1"),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(valid_references, reference_like))
def test_the_parser_reads_the_grammar(text: str) -> None:
    """Splitting at '@' and the last ':' is the grammar's own reading: whatever the parser
    accepts the grammar's pattern matches, and the parser refuses what the pattern matches only
    for the grammar's extra limits (name length, digest algorithm and length)."""
    grammar = re.fullmatch(REFERENCE_PATTERN[1:-1], text) is not None
    try:
        reference = parse_image_reference(text)
    except ValueError as reason:
        if grammar:
            assert "characters long" in str(reason) or "digest" in str(reason), reason
        return
    assert grammar
    rebuilt = reference.name
    rebuilt += f":{reference.tag}" if reference.tag is not None else ""
    rebuilt += f"@{reference.digest}" if reference.digest is not None else ""
    assert rebuilt == text


@SETTINGS
@given(stacks(), images)
def test_images_are_pinned_references_or_diagnostics(spec: Any, image: str) -> None:
    document = yaml.safe_load(dump_stack(prepare(spec).explicit)) | {"image": image}
    result = dry_run_text(yaml.safe_dump(document, sort_keys=False))
    try:
        reference = parse_image_reference(image)
    except ValueError:
        reference = None
    pinned = reference is not None and (
        reference.digest is not None
        or (reference.tag is not None and reference.tag.lower() != "latest")
    )
    try:
        read_release(image)
        supported = True
    except ValueError:
        supported = False
    if pinned and supported:
        assert result.exit_code == 0, result.stderr
        assert yaml.safe_load(result.stdout)["image"] == image
        return
    assert_refused_with_a_diagnostic(result)
    code = "IS121" if reference is None else "IS128" if pinned else "IS122"
    assert re.search(rf"^error {code} image: ", result.stderr, re.MULTILINE), result.stderr
    assert "inductiveautomation/ignition:8.3.6" in result.stderr
