"""Hostile stack files through the real command line: numbers too large to hold, files too large
or endless, things that are not files, and image references that are not pinned. Each is a
diagnostic with a code, a path and a hint; never the internal-error message, never a hang."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import stackfile
from emitter.pipeline import prepare
from emitter.spec import DEFAULT_IMAGE, StackSpec, dump_stack
from emitter.stackfile import MAX_STACK_FILE_BYTES

from .conftest import Result
from .test_rules import assert_diagnostic, explicit, run_stack

Cli = Callable[..., Result]
HUGE = "9" * 4301  # one digit past what Python converts from decimal text
NUMBER_HINT = "`ignition-stack schema` lists them"
PIN_HINT = f"`{DEFAULT_IMAGE}`"
MEMORY_LIMIT = 1 << 30
DIGEST = "sha256:" + "0123456789abcdef" * 4


def assert_no_crash(result: Result) -> None:
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def dry_run(cli: Cli, path: Path, output_format: str = "yaml") -> Result:
    return cli("create", "plant", "-f", str(path), "--dry-run", "--output-format", output_format)


def run_process(*args: str, stdin: Any = None, timeout: float = 120) -> Result:
    """The CLI in its own process, for inputs that would hang or exhaust memory if the guard
    against them regressed: the timeout turns a hang, and the memory limit an endless read,
    into a failure instead of a stuck or swapping test run."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    done = subprocess.run(
        [sys.executable, "-m", "emitter", *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=limit_memory,
    )
    return Result(done.returncode, done.stdout, done.stderr)


# --- numbers too large to hold ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (f"name: plant\narchitecture: scale-out\nfrontends: {HUGE}\n", "frontends"),
        (f"name: plant\narchitecture: basic\ncolour: {HUGE}\n", "colour"),
        (f"name: plant\narchitecture: basic\ncolour: [1, -{HUGE}]\n", "colour[1]"),
        (
            f"name: plant\narchitecture: basic\nkubernetes: {{cpu_limit: {HUGE}}}\n",
            "kubernetes.cpu_limit",
        ),
        (
            f"name: plant\narchitecture: basic\n? {HUGE}\n: 1\n",
            f"{HUGE[:30]}...{HUGE[-8:]} (4301 characters)",
        ),
        (f"name: plant\narchitecture: basic\nspokes: 1_{'0' * 5000}\n", "spokes"),
        (f"name: plant\narchitecture: basic\nspokes: 0x{'f' * 5000}\n", "spokes"),
        (f"name: plant\narchitecture: basic\nspokes: {'1:' * 3000}1\n", "spokes"),
        ("name: plant\narchitecture: basic\nspokes: 9223372036854775808\n", "spokes"),
    ],
)
def test_numbers_beyond_64_bits_are_IS002_under_any_key(
    cli: Cli, tmp_path: Path, text: str, path: str
) -> None:
    result = run_stack(cli, tmp_path, text)
    assert_diagnostic(result, "IS002", path, "out of range", "64 bits", NUMBER_HINT)
    assert_no_crash(result)


def test_a_huge_number_as_the_whole_file_is_IS002(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, f"{HUGE}\n")
    assert_diagnostic(result, "IS002", "", "out of range", "line 1", NUMBER_HINT)
    assert_no_crash(result)


def test_a_huge_number_in_a_gateway_names_the_gateway_path(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic")
    data["gateways"][0]["http_port"] = 0  # replaced by the number's text below
    text = yaml.safe_dump(data, sort_keys=False).replace("http_port: 0", f"http_port: {HUGE}")
    result = run_stack(cli, tmp_path, text)
    assert_diagnostic(result, "IS002", "gateways[0].http_port", "out of range", NUMBER_HINT)
    # The number is reported once, not again as "not a valid integer".
    assert result.stderr.count("gateways[0].http_port:") == 1


def test_a_huge_quoted_number_is_IS002(cli: Cli, tmp_path: Path) -> None:
    text = f"name: plant\narchitecture: scale-out\nfrontends: '{HUGE}'\n"
    assert_diagnostic(run_stack(cli, tmp_path, text), "IS002", "frontends", "64 bits", NUMBER_HINT)


def test_a_huge_quoted_number_where_text_is_expected_is_text(cli: Cli, tmp_path: Path) -> None:
    result = run_stack(cli, tmp_path, f"name: '{HUGE}'\narchitecture: basic\n")
    assert_diagnostic(result, "IS110", "name", "4301 characters long")


def test_every_huge_number_and_every_other_problem_is_reported(cli: Cli, tmp_path: Path) -> None:
    text = f"name: plant\narchitecture: mesh\nspokes: {HUGE}\nfrontends: -{HUGE}\n"
    result = run_stack(cli, tmp_path, text)
    for path in ("spokes", "frontends", "architecture"):
        assert_diagnostic(result, "IS002", path)


@pytest.mark.parametrize("output_format", ["yaml", "json"])
@pytest.mark.parametrize("stack_format", ["yaml", "json"])
def test_huge_numbers_in_create_dry_run_are_IS002(
    cli: Cli, tmp_path: Path, output_format: str, stack_format: str
) -> None:
    """`create -f` reads what `--dry-run` writes, in YAML or JSON; a JSON number is a YAML one."""
    data = explicit("scale-out", frontends=2) | {"frontends": 0}
    text = (
        json.dumps(data) if stack_format == "json" else yaml.safe_dump(data, sort_keys=False)
    ).replace('"frontends": 0', f'"frontends": {HUGE}')
    text = text.replace("frontends: 0", f"frontends: {HUGE}")
    path = tmp_path / f"stack.{stack_format}"
    path.write_text(text)
    result = dry_run(cli, path, output_format)
    assert_diagnostic(result, "IS002", "frontends", "out of range", NUMBER_HINT)
    assert result.stdout == ""


def test_the_largest_valid_numbers_still_work(cli: Cli, tmp_path: Path) -> None:
    data = explicit("scale-out", frontends=1)
    data["gateways"][0]["memory_mb"] = 1048576
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('!!int "abc"', ("'abc' is not a valid !!int",)),
        ('!!int ""', ("is not a valid !!int",)),
        ('!!float ""', ("is not a valid !!float",)),
        ("!!bool maybe", ("'maybe' is not a valid !!bool",)),
        ("!!timestamp soon", ("is not a valid !!timestamp",)),
        ("2001-13-45", ("'2001-13-45' is not a valid !!timestamp",)),  # implicitly a date
        ("!!set [1]", ("expected a mapping, but found a sequence",)),
        ("!!map [1]", ("expected a mapping, but found a sequence",)),
    ],
)
def test_a_value_its_tag_cannot_hold_is_IS001(
    cli: Cli, tmp_path: Path, value: str, words: tuple[str, ...]
) -> None:
    result = run_stack(cli, tmp_path, f"name: plant\narchitecture: scale-out\nfrontends: {value}\n")
    assert_diagnostic(result, "IS001", "", "not valid YAML", "line 3", *words, "fix the YAML")
    assert_no_crash(result)


# --- files too large, endless, or not files --------------------------------------------------


def test_the_limit_holds_the_largest_stack_the_tool_derives() -> None:
    """10000 spokes is the most `create` derives; `create -f` must read its own record back."""
    spec = StackSpec(name="plant", architecture="hub-and-spoke", spokes=10000, redundant="hub")  # type: ignore[arg-type]
    record = dump_stack(prepare(spec).explicit, "json")
    assert len(record.encode()) < MAX_STACK_FILE_BYTES * 0.8


def test_a_file_over_the_limit_is_IS001(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    with path.open("w") as handle:
        handle.write("name: plant\narchitecture: basic\n")
        handle.truncate(MAX_STACK_FILE_BYTES + 1)  # sparse: cheap to write, costly to read
    result = dry_run(cli, path)
    assert_diagnostic(result, "IS001", "", "larger than 4 MiB", str(path), "check that")
    assert_no_crash(result)


def test_the_limit_is_exact(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stackfile, "MAX_STACK_FILE_BYTES", 1000)
    path = tmp_path / "stack.yaml"
    head = "name: plant\narchitecture: basic\ntransport: ssl\n"
    path.write_text(head + "#" * (1000 - len(head) - 1) + "\n")
    assert dry_run(cli, path).exit_code == 0
    path.write_text(head + "#" * (1000 - len(head)) + "\n")
    assert_diagnostic(dry_run(cli, path), "IS001", "", "larger than 1000 bytes")


def test_a_10_mb_image_is_refused_with_its_file(cli: Cli, tmp_path: Path) -> None:
    data = explicit("basic") | {"image": "x" * 10_000_000}
    assert_diagnostic(run_stack(cli, tmp_path, data), "IS001", "", "larger than 4 MiB")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_IS001(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist on this machine")
    result = run_process("emit", device)
    assert_diagnostic(result, "IS001", "", f"{device} is a character device", "stack.yaml file")


def test_a_symlink_to_a_device_is_IS001(tmp_path: Path) -> None:
    link = tmp_path / "stack.yaml"
    link.symlink_to("/dev/zero")
    assert_diagnostic(run_process("emit", str(link)), "IS001", "", "character device")


def test_a_directory_is_IS001_and_names_the_file_meant(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("name: plant\narchitecture: basic\n")
    result = cli("emit", str(tmp_path))
    assert_diagnostic(
        result, "IS001", "", f"{tmp_path} is a directory", f"did you mean {tmp_path}/stack.yaml?"
    )


def test_a_symlink_loop_is_IS001(cli: Cli, tmp_path: Path) -> None:
    loop = tmp_path / "stack.yaml"
    loop.symlink_to(loop)
    assert_diagnostic(cli("emit", str(loop)), "IS001", "", "cannot read", str(loop))


def test_a_file_that_is_not_utf8_is_IS001(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_bytes(b"name: plant\narchitecture: basic\n# \xff\n")
    assert_diagnostic(dry_run(cli, path), "IS001", "", "not UTF-8", "byte 35", "save the stack")


def test_a_named_pipe_without_a_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "stack.yaml"
    os.mkfifo(fifo)
    result = run_process("emit", str(fifo), timeout=60)
    assert_diagnostic(result, "IS001", "", "is a pipe and nothing was written", "write the stack")


def test_an_endless_pipe_stops_at_the_limit() -> None:
    endless = subprocess.Popen(["yes", "a: b"], stdout=subprocess.PIPE)
    try:
        result = run_process(
            "create", "plant", "-f", "/dev/stdin", "--dry-run", stdin=endless.stdout
        )
    finally:
        endless.kill()
        endless.wait()
        assert endless.stdout is not None
        endless.stdout.close()
    assert_diagnostic(result, "IS001", "", "/dev/stdin is larger than 4 MiB")


def test_a_stack_file_from_a_pipe_is_read(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(explicit("basic") | {"transport": "ssl"}, sort_keys=False))
    with path.open() as source:
        writer = subprocess.Popen(["cat"], stdin=source, stdout=subprocess.PIPE)
        try:
            result = run_process(
                "create", "plant", "-f", "/dev/stdin", "--dry-run", stdin=writer.stdout
            )
        finally:
            writer.wait()
            assert writer.stdout is not None
            writer.stdout.close()
    assert result.exit_code == 0, result.stderr
    assert "name: plant" in result.stdout


# --- the image must be a pinned reference -----------------------------------------------------


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("a/../../b:1", ("not an image reference", "lowercase letters and digits")),
        ("x" * 1_000_000, ("not an image reference", "1000000 characters", "limit is 255")),
        ("a" * 256 + ":1", ("name is 256 characters long",)),
        ("inductiveautomation/Ignition:8.3.6", ("uppercase",)),
        ("inductiveautomation/ignition:8.3.6 ", ("its tag '8.3.6 '",)),
        ("inductiveautomation/ignition:-8", ("its tag '-8'",)),
        ("inductiveautomation/ignition:" + "1" * 129, ("its tag",)),
        ("inductiveautomation/ignition@sha256:abc", ("its digest",)),
        ("inductiveautomation/ignition@md5:" + "0" * 32, ("its digest",)),
        ("inductiveautomation/ignition@" + DIGEST.upper().replace("SHA", "sha"), ("uppercase",)),
        ("", ("it is empty",)),
        ("ignition:8.3.6\nevil: true", ("not an image reference",)),
    ],
)
def test_an_image_that_is_not_a_reference_is_IS121(
    cli: Cli, tmp_path: Path, image: str, words: tuple[str, ...]
) -> None:
    data = explicit("basic") | {"image": image}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(
        result, "IS121", "image", *words, "[registry[:port]/]repository:tag", PIN_HINT
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("inductiveautomation/ignition", ("no tag or digest",)),
        ("inductiveautomation/ignition:latest", ("tagged `latest`",)),
        ("registry.example.com:5000/ignition:LATEST", ("tagged `latest`",)),
        ("localhost/ignition", ("no tag or digest",)),
    ],
)
def test_an_image_that_is_not_pinned_is_IS122(
    cli: Cli, tmp_path: Path, image: str, words: tuple[str, ...]
) -> None:
    data = explicit("basic") | {"image": image}
    result = run_stack(cli, tmp_path, data)
    assert_diagnostic(result, "IS122", "image", *words, "not pinned", "pin a release", PIN_HINT)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("image", "words"),
    [
        # A digest alone does not say which release the image runs.
        (f"inductiveautomation/ignition@{DIGEST}", ("pinned by digest alone",)),
        (f"inductiveautomation/ignition:latest@{DIGEST}", ("its tag 'latest' does not name",)),
        ("Registry.Example.COM/a__b--c/d.e:8", ("its tag '8' does not name", "major.minor")),
        ("inductiveautomation/ignition:nightly", ("its tag 'nightly' does not name",)),
        ("inductiveautomation/ignition:8.3.6.1", ("does not name an Ignition release",)),
        ("inductiveautomation/ignition:7.9.21", ("Ignition 7.9, which ignition-stack does not",)),
        ("inductiveautomation/ignition:8.2.0", ("Ignition 8.2, which",)),
        ("inductiveautomation/ignition:9.0.0", ("Ignition 9.0, which",)),
        (
            "mirror.example/ignition:8.1.31-lts",
            ("Ignition 8.1.31, older than 8.1.32", "GATEWAY_NETWORK_SECURITYPOLICY"),
        ),
        ("inductiveautomation/ignition:8.1.0", ("older than 8.1.32",)),
    ],
)
def test_an_image_that_names_no_supported_release_is_IS128(
    cli: Cli, tmp_path: Path, image: str, words: tuple[str, ...]
) -> None:
    data = explicit("basic") | {"image": image}
    result = run_stack(cli, tmp_path, data)
    if "older than" in words[0]:
        hint = ("use Ignition 8.1.32 or a later patch, or 8.3", PIN_HINT)
    elif "@" in image:
        hint = ("tag the image with its Ignition release", "ignition:8.3.6@sha256:<digest>`")
    else:
        hint = ("tag the image with its Ignition release", PIN_HINT)
    assert_diagnostic(
        result, "IS128", "image", *words, "supported: 8.1 (8.1.32 or later) and 8.3", *hint
    )
    assert not (tmp_path / "out").exists()


def test_the_release_check_waits_for_a_pinned_reference(cli: Cli, tmp_path: Path) -> None:
    """An unpinned or malformed image gets its own code only, not IS128 as well."""
    for image in ("inductiveautomation/ignition", "inductiveautomation/ignition:latest", "a b"):
        result = run_stack(cli, tmp_path, explicit("basic") | {"image": image})
        assert result.exit_code == 1
        assert "IS128" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "image",
    [
        DEFAULT_IMAGE,
        "registry.example.com:5000/automation/ignition:8.3.6-custom_1",
        f"inductiveautomation/ignition:8.3.6@{DIGEST}",  # the digest pins it, the tag names it
        "[::1]:5000/ignition:8.3.6",
        "Registry.Example.COM/a__b--c/d.e:8.3",
        "inductiveautomation/ignition:8.1.48",
        "inductiveautomation/ignition:8.1.32",
        "inductiveautomation/ignition:8.1",  # the floating tag: the newest 8.1 patch
        "mirror.example/plant/ignition:8.1.48_site-2",
    ],
)
def test_a_pinned_reference_is_accepted_and_emitted_as_written(
    cli: Cli, tmp_path: Path, image: str
) -> None:
    data = explicit("basic") | {"image": image, "transport": "ssl"}
    result = run_stack(cli, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    compose = yaml.safe_load((tmp_path / "out" / "compose.yaml").read_text())
    images = {service["image"] for service in compose["services"].values() if "image" in service}
    assert image in images


def test_the_default_image_is_pinned_and_unchanged(cli: Cli) -> None:
    assert DEFAULT_IMAGE == "inductiveautomation/ignition:8.3.6"
    result = cli("create", "plant", "--arch", "basic", "--transport", "ssl", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert f"image: {DEFAULT_IMAGE}\n" in result.stdout


def test_an_unpinned_image_in_a_create_file_is_IS122(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(explicit("basic") | {"image": "ignition"}))
    assert_diagnostic(dry_run(cli, path), "IS122", "image", "no tag or digest", PIN_HINT)
