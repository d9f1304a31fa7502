"""The wizard, driven end to end through a pseudo-terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

KEY_DOWN = "\x1b[B"
ENTER = "\r"
# Every question the wizard can ask, as it starts.
QUESTIONS = (
    "Architecture for",
    "How many",
    "redundant master/backup",
    "Which role runs the Edge",
    "Gateway Network transport",
    "What should it generate",
)


def spawn(tmp_path: Path, *flags: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "emitter", "create", "demo3", *flags, "-o", str(tmp_path)],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
        env={"TERM": "xterm", "PATH": "/usr/bin:/bin"},
    )


def finish(wizard: pexpect.spawn) -> str:
    wizard.expect(pexpect.EOF)
    wizard.close()
    return str(wizard.before)


def stack_of(tmp_path: Path) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((tmp_path / "demo3" / "stack.yaml").read_text())
    return data


def test_wizard_asks_every_create_flag_summarises_and_confirms(tmp_path: Path) -> None:
    wizard = spawn(tmp_path)
    wizard.expect("Architecture for demo3")
    wizard.send(KEY_DOWN + ENTER)  # basic -> scale-out
    wizard.expect(r"How many frontend gateways \(frontends\)")
    wizard.send("\x7f2" + ENTER)  # replace the default 1 with 2
    wizard.expect(r"Run the backend role as a redundant master/backup pair \(backend and")
    wizard.send("y")
    wizard.expect("Which role runs the Edge edition")
    wizard.send(ENTER)  # the default: none
    wizard.expect("Gateway Network transport")
    wizard.send(ENTER)  # the default: ssl
    wizard.expect("What should it generate")
    wizard.send(KEY_DOWN + KEY_DOWN + ENTER)  # all
    wizard.expect("Summary of demo3")
    wizard.expect("frontend-0..frontend-1, backend \\(master\\), backend-backup \\(backup\\)")
    wizard.expect(r"transport +ssl \(Gateway Network port 8060\)")
    wizard.expect(r"targets +compose, kubernetes")
    wizard.expect("accept_eula: true")
    wizard.expect("Write the project to")
    assert not (tmp_path / "demo3").exists(), "nothing is written before the confirmation"
    wizard.send("y")
    output = finish(wizard)
    assert wizard.exitstatus == 0, output
    stack = stack_of(tmp_path)
    assert stack["architecture"] == "scale-out" and stack["redundant"] == "backend"
    assert stack["transport"] == "ssl" and stack["accept_eula"] is True
    assert [g["name"] for g in stack["gateways"]] == [  # type: ignore[attr-defined]
        "frontend-0",
        "frontend-1",
        "backend",
        "backend-backup",
    ]
    assert (tmp_path / "demo3" / "targets" / "kubernetes").is_dir()


def test_basic_never_says_the_gateway_gateway_and_a_no_writes_nothing(tmp_path: Path) -> None:
    wizard = spawn(tmp_path)
    wizard.expect("Architecture for demo3")
    wizard.send(ENTER)  # basic
    wizard.expect("Run the gateway role as a redundant master/backup pair")
    before = str(wizard.before) + str(wizard.after)
    wizard.send("n")
    wizard.expect("Which role runs the Edge edition")
    wizard.send(ENTER)
    wizard.expect("Gateway Network transport")
    wizard.send(ENTER)
    wizard.expect("What should it generate")
    wizard.send(ENTER)
    wizard.expect("Write the project to")
    summary = str(wizard.before)
    wizard.send("n")
    output = finish(wizard)
    assert "gateway gateway" not in before + summary + output
    assert wizard.exitstatus == 1
    assert "nothing written" in output
    assert not (tmp_path / "demo3").exists()


def test_flags_are_answers_the_wizard_does_not_ask_again(tmp_path: Path) -> None:
    # Issue: `--redundant hub --spokes 9` without --arch ended with no pair and 3 spokes.
    wizard = spawn(tmp_path, "--redundant", "hub", "--spokes", "9", "--transport", "plain")
    wizard.expect("Architecture: hub-and-spoke")
    index = wizard.expect(
        ["Architecture for", "How many", "redundant master/backup", "Which role runs the Edge"]
    )
    assert index == 3, "architecture, count and redundancy come from the flags"
    wizard.send(ENTER)  # spoke, hub-and-spoke's default
    index = wizard.expect(["Gateway Network transport", "What should it generate"])
    assert index == 1, "--transport answered the transport"
    wizard.send(ENTER)
    wizard.expect(r"gateways +hub \(master\), hub-backup \(backup\), spoke-0..spoke-8")
    wizard.expect("Write the project to")
    wizard.send("y")
    output = finish(wizard)
    assert wizard.exitstatus == 0, output
    stack = stack_of(tmp_path)
    assert stack["redundant"] == "hub" and stack["spokes"] == 9
    assert stack["transport"] == "plain" and stack["edge_role"] == "spoke"


def test_flags_answer_all_but_the_architecture_and_show_in_the_summary(tmp_path: Path) -> None:
    flags = ("--redundant", "none", "--edge-role", "none", "--transport", "ssl")
    wizard = spawn(tmp_path, *flags, "--target", "compose")
    wizard.expect("Architecture for demo3")
    wizard.send(KEY_DOWN + KEY_DOWN + ENTER)  # hub-and-spoke: no flag counts its spokes
    wizard.expect(r"How many spoke gateways \(spokes\)")
    wizard.send(ENTER)  # the default: 3
    # (An answered question is printed again with its answer: look only for the others.)
    unasked = [
        question for question in QUESTIONS if question not in ("Architecture for", "How many")
    ]
    index = wizard.expect([*unasked, "Summary of demo3"])
    assert index == len(unasked), "the flags answered every other question"
    wizard.expect(r"gateways +hub, spoke-0..spoke-2")
    wizard.expect(r"Edge edition +none")
    wizard.expect(r"transport +ssl \(Gateway Network port 8060\)")
    wizard.expect(r"targets +compose")
    wizard.expect("Write the project to")
    wizard.send("y")
    output = finish(wizard)
    assert wizard.exitstatus == 0, output
    stack = stack_of(tmp_path)
    assert stack["architecture"] == "hub-and-spoke" and stack["spokes"] == 3
    assert stack["edge_role"] == "none" and stack["redundant"] is None
    assert stack["transport"] == "ssl" and stack["targets"] == ["compose"]


def run_without_terminal(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emitter", "create", "demo3", *args, "-o", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("flags", "architecture", "diagnostic"),
    [
        (("--edge-role", "bogus"), "basic", "error IS108 --edge-role:"),
        (("--redundant", "bogus", "--target", "k8s"), "basic", "error IS102 --redundant:"),
        (("--redundant", "spoke"), "hub-and-spoke", "error IS101 --redundant:"),
        (("--redundant", "bogus", "--frontends", "2"), "scale-out", "error IS102 --redundant:"),
    ],
)
def test_a_bad_flag_is_the_same_diagnostic_and_exit_2_on_every_path(
    tmp_path: Path, flags: tuple[str, ...], architecture: str, diagnostic: str
) -> None:
    # Issue: the same bad --edge-role was exit 2 with --arch but exit 1 through the wizard.
    wizard = spawn(tmp_path, *flags)
    index = wizard.expect([*QUESTIONS, pexpect.EOF])
    output = str(wizard.before)
    wizard.close()
    assert index == len(QUESTIONS), f"refused before any question, got {output}"
    assert wizard.exitstatus == 2, output
    assert diagnostic in output
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(f"name: demo3\narchitecture: {architecture}\naccept_eula: true\n")
    for path in ((), ("--arch", architecture), ("-f", str(stack_file))):
        result = run_without_terminal(tmp_path, *flags, *path)
        assert result.returncode == 2, (path, result.stderr)
        assert result.stderr.startswith(diagnostic), (path, result.stderr)
        assert "no terminal" not in result.stderr
    assert not (tmp_path / "demo3").exists()


def test_flags_that_fit_no_one_architecture_are_refused_before_any_question(
    tmp_path: Path,
) -> None:
    wizard = spawn(tmp_path, "--redundant", "backend", "--spokes", "2")
    index = wizard.expect([*QUESTIONS, pexpect.EOF])
    output = str(wizard.before)
    wizard.close()
    assert index == len(QUESTIONS), output
    assert wizard.exitstatus == 2
    assert "--redundant backend and --spokes 2 fit no single architecture" in output


def test_wizard_interrupted(tmp_path: Path) -> None:
    wizard = spawn(tmp_path)
    wizard.expect("Architecture for demo3")
    wizard.send(ENTER)  # basic
    wizard.expect("Run the gateway role")
    wizard.send("n")
    wizard.expect("Which role runs the Edge edition")
    wizard.sendcontrol("c")
    wizard.expect(pexpect.EOF)
    wizard.close()
    assert wizard.exitstatus == 130
    assert not (tmp_path / "demo3").exists()
