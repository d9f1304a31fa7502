"""``ignition-stack status`` against local HTTP servers standing in for a running stack's
gateways: each serves ``/system/gwinfo`` on the host port the stack file gives its gateway."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from emitter.status import parse_gwinfo
from tests.conftest import Result


class _Gateway(BaseHTTPRequestHandler):
    answers: ClassVar[dict[int, str]] = {}

    def do_GET(self) -> None:
        body = self.answers[self.server.server_address[1]].encode()
        self.send_response(200 if self.path == "/system/gwinfo" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Stack:
    """A scale-out stack (a frontend, a redundant backend) whose gateways are local servers."""

    def __init__(self, directory: Path, cli: Callable[..., Result]) -> None:
        dump = cli("create", "plant", "--arch", "scale-out", "--redundant", "backend", "--dry-run")
        data = yaml.safe_load(dump.stdout)
        self.handler: type[_Gateway] = type("Gateway", (_Gateway,), {"answers": {}})
        self.servers: dict[str, ThreadingHTTPServer] = {}
        for gateway in data["gateways"]:
            server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
            gateway["http_port"] = server.server_address[1]
            self.servers[gateway["name"]] = server
        self.file = directory / "stack.yaml"
        self.file.write_text(yaml.safe_dump(data))

    def answer(self, gateway: str, gwinfo: str) -> None:
        self.handler.answers[self.servers[gateway].server_address[1]] = gwinfo

    def stop(self, gateway: str) -> None:
        server = self.servers.pop(gateway)
        server.shutdown()
        server.server_close()

    def close(self) -> None:
        for name in list(self.servers):
            self.stop(name)


@pytest.fixture
def stack(tmp_path: Path, cli: Callable[..., Result]) -> Iterator[Stack]:
    running = Stack(tmp_path, cli)
    running.answer("frontend-0", "ContextStatus=RUNNING;RedundancyStatus=Independent;")
    running.answer("backend", MASTER)
    running.answer("backend-backup", BACKUP)
    yield running
    running.close()


MASTER = "ContextStatus=RUNNING;RedundancyStatus=Master;RedundantNodeActiveStatus=Active;RedundantState=Good;"
BACKUP = "ContextStatus=RUNNING;RedundancyStatus=Backup;RedundantNodeActiveStatus=Standby;RedundantState=Good;"


def lines(result: Result) -> dict[str, str]:
    return {line.split()[0]: line for line in result.stdout.splitlines()[1:]}


def test_a_formed_pair_in_sync(stack: Stack, cli: Callable[..., Result]) -> None:
    result = cli("status", str(stack.file.parent))
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = lines(result)
    assert rows["backend"].split()[:5] == ["backend", "Master", "Master", "Active", "Good"]
    assert rows["backend"].endswith("paired, in sync, master active")
    assert rows["backend-backup"].split()[:5] == [
        "backend-backup",
        "Backup",
        "Backup",
        "Standby",
        "Good",
    ]
    assert rows["frontend-0"].endswith("running")


def test_split_brain(stack: Stack, cli: Callable[..., Result]) -> None:
    stack.answer("backend", MASTER.replace("Good", "Unknown"))
    stack.answer("backend-backup", BACKUP.replace("Standby", "Active").replace("Good", "Unknown"))
    result = cli("status", str(stack.file))
    assert result.exit_code == 1
    assert lines(result)["backend-backup"].endswith(
        "split brain: master and backup are both active"
    )
    assert "backend, backend-backup" in result.stderr


def test_a_failover_in_sync_is_good(stack: Stack, cli: Callable[..., Result]) -> None:
    stack.answer("backend", MASTER.replace("Active", "Standby"))
    stack.answer("backend-backup", BACKUP.replace("Standby", "Active"))
    result = cli("status", str(stack.file))
    assert result.exit_code == 0, result.stdout
    assert lines(result)["backend"].endswith("paired, in sync, backup (failed over) active")


@pytest.mark.parametrize(
    ("gateway", "answer", "verdict"),
    [
        (
            "backend-backup",
            BACKUP.replace("Good", "Unknown"),
            "not paired (backup RedundantState=Unknown)",
        ),
        (
            "backend-backup",
            BACKUP.replace("Good", "OutOfDate"),
            "paired, not in sync yet (OutOfDate)",
        ),
        (
            "backend",
            "ContextStatus=RUNNING;RedundancyStatus=Independent;",
            "wrong role: Independent, expected Master",
        ),
        ("backend", "ContextStatus=STARTING;", "not running (STARTING)"),
    ],
)
def test_a_pair_that_is_not_good(
    stack: Stack, cli: Callable[..., Result], gateway: str, answer: str, verdict: str
) -> None:
    stack.answer(gateway, answer)
    result = cli("status", str(stack.file))
    assert result.exit_code == 1
    assert lines(result)[gateway].endswith(verdict)


def test_a_gateway_that_does_not_answer(stack: Stack, cli: Callable[..., Result]) -> None:
    stack.stop("frontend-0")
    result = cli("status", str(stack.file))
    assert result.exit_code == 1
    assert lines(result)["frontend-0"].endswith("no answer")
    assert "frontend-0: no answer from http://127.0.0.1:" in result.stderr
    assert lines(result)["backend"].endswith("paired, in sync, master active")


def test_parse_gwinfo() -> None:
    assert parse_gwinfo("A=1;B=two=2; C = 3 ;A=4;junk;") == {"A": "1", "B": "two=2", "C": "3"}
