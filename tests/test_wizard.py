"""The wizard, driven end to end through a pseudo-terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect
import yaml

KEY_DOWN = "\x1b[B"
ENTER = "\r"


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


def test_a_bad_flag_is_the_same_exit_2_through_the_wizard(tmp_path: Path) -> None:
    wizard = spawn(tmp_path, "--edge-role", "bogus", "--target", "k8s")
    wizard.expect("Architecture for demo3")
    wizard.send(ENTER)  # basic: it has no role `bogus`
    output = finish(wizard)
    assert wizard.exitstatus == 2, output
    assert "error IS108 --edge-role:" in output
    assert "redundant master/backup" not in output, "stopped before the next question"
    assert not (tmp_path / "demo3").exists()


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
