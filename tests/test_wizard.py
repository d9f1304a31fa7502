"""The wizard, driven end to end through a pseudo-terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect
import yaml

KEY_DOWN = "\x1b[B"
ENTER = "\r"


def spawn(tmp_path: Path) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "emitter", "create", "demo3", "-o", str(tmp_path)],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
        env={"TERM": "xterm", "PATH": "/usr/bin:/bin"},
    )


def test_wizard_creates_a_redundant_scale_out_stack(tmp_path: Path) -> None:
    wizard = spawn(tmp_path)
    wizard.expect("Architecture for demo3")
    wizard.send(KEY_DOWN + ENTER)  # basic -> scale-out
    wizard.expect("How many frontends")
    wizard.send("\x7f2" + ENTER)  # replace the default 1 with 2
    wizard.expect("Enable redundancy for the backend gateway")
    wizard.send("y")
    wizard.expect("Gateway Network transport")
    wizard.send(ENTER)  # plain
    wizard.expect(pexpect.EOF)
    wizard.close()
    assert wizard.exitstatus == 0, wizard.before
    stack = yaml.safe_load((tmp_path / "demo3" / "stack.yaml").read_text())
    assert stack["architecture"] == "scale-out" and stack["redundant"] == "backend"
    assert [g["name"] for g in stack["gateways"]] == [
        "frontend-0",
        "frontend-1",
        "backend",
        "backend-backup",
    ]


def test_wizard_without_redundancy_and_interrupted(tmp_path: Path) -> None:
    wizard = spawn(tmp_path)
    wizard.expect("Architecture for demo3")
    wizard.send(ENTER)  # basic
    wizard.expect("Enable redundancy for the gateway gateway")
    wizard.send("n")
    wizard.expect("Gateway Network transport")
    wizard.sendcontrol("c")
    wizard.expect(pexpect.EOF)
    wizard.close()
    assert wizard.exitstatus == 130
    assert not (tmp_path / "demo3").exists()
