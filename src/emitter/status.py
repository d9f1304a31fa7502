"""``ignition-stack status``: is every pair of a running Compose stack formed and in sync?

Reads each gateway's ``/system/gwinfo`` through the host port the stack publishes for it and
judges each pair as a whole, which a node's own health check cannot: only both answers together
show a split brain (both nodes active). The fields and values are the ones the official Helm
chart's redundant-health-check.sh parses; the README's health table says what each means.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from emitter.diagnostics import EmitterError
from emitter.ir import Gateway, Stack

CONNECTED = frozenset({"Good", "OutOfDate", "Incompatible"})
TIMEOUT_SECONDS = 3.0
MAX_CONCURRENT_REQUESTS = 16


@dataclass(frozen=True)
class Report:
    """What one gateway answered (``fields`` empty when it did not answer)."""

    gateway: Gateway
    fields: dict[str, str]
    error: str | None = None

    def field(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def expected_role(self) -> str:
        redundancy = self.gateway.redundancy
        return "Independent" if redundancy is None else redundancy.role.value.capitalize()

    @property
    def running(self) -> bool:
        return self.field("ContextStatus") == "RUNNING"

    @property
    def in_role(self) -> bool:
        return self.running and self.field("RedundancyStatus") == self.expected_role

    @property
    def active(self) -> bool:
        return self.field("RedundantNodeActiveStatus") == "Active"


def parse_gwinfo(text: str) -> dict[str, str]:
    """``key=value;key=value;`` -> a mapping (the first value of a repeated key wins)."""
    fields: dict[str, str] = {}
    for item in text.strip().split(";"):
        key, separator, value = item.partition("=")
        if separator and key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def fetch(gateway: Gateway, host: str) -> Report:
    url = f"http://{host}:{gateway.http_port}/system/gwinfo"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            text = response.read(64 * 1024).decode("utf-8", "replace")
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        return Report(gateway, {}, f"no answer from {url} ({reason})")
    return Report(gateway, parse_gwinfo(text))


def verdicts(stack: Stack, reports: dict[str, Report]) -> dict[str, tuple[bool, str]]:
    """Gateway name -> (good, verdict): a pair member is good only when its pair has formed
    and is in sync, with exactly one node active."""
    found: dict[str, tuple[bool, str]] = {}
    for name, report in reports.items():
        if report.error is not None:
            found[name] = (False, "no answer")
        elif not report.running:
            found[name] = (False, f"not running ({report.field('ContextStatus') or 'unknown'})")
        elif not report.in_role:
            found[name] = (
                False,
                f"wrong role: {report.field('RedundancyStatus') or 'none'}, expected {report.expected_role}",
            )
        else:
            found[name] = (True, "running")
    for master, backup in stack.pairs:
        pair = (reports[master.name], reports[backup.name])
        if not all(found[node.gateway.name][0] for node in pair):
            continue
        verdict = _pair_verdict(*pair)
        for node in pair:
            found[node.gateway.name] = verdict
    return found


def _pair_verdict(master: Report, backup: Report) -> tuple[bool, str]:
    active = [node for node in (master, backup) if node.active]
    if len(active) == 2:
        return (False, "split brain: master and backup are both active")
    if not active:
        return (False, "no node of the pair is active")
    state = backup.field("RedundantState")
    if state == "Good":
        side = "master" if master.active else "backup (failed over)"
        return (True, f"paired, in sync, {side} active")
    if state in CONNECTED:
        return (False, f"paired, not in sync yet ({state})")
    return (False, f"not paired (backup RedundantState={state or 'missing'})")


def status_command(stack: Stack, host: str) -> None:
    gateways = list(stack.gateways)
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_REQUESTS, len(gateways))) as pool:
        reports = {
            report.gateway.name: report for report in pool.map(lambda g: fetch(g, host), gateways)
        }
    judged = verdicts(stack, reports)
    rows = [("GATEWAY", "EXPECTED", "REDUNDANCY", "ACTIVITY", "SYNC", "VERDICT")]
    for gateway in gateways:
        report = reports[gateway.name]
        rows.append(
            (
                gateway.name,
                report.expected_role,
                report.field("RedundancyStatus") or "-",
                report.field("RedundantNodeActiveStatus") or "-",
                report.field("RedundantState") or "-",
                judged[gateway.name][1],
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[-1]
        )
    for report in reports.values():
        if report.error is not None:
            print(f"  {report.gateway.name}: {report.error}", file=sys.stderr)
    bad = [name for name, (good, _) in judged.items() if not good]
    if bad:
        raise StatusNotGood(bad, any(gateway.redundancy is not None for gateway in gateways))


class StatusNotGood(EmitterError):
    def __init__(self, gateways: list[str], has_pairs: bool) -> None:
        what = "every pair formed and in sync" if has_pairs else "every gateway running"
        super().__init__(
            f"not {what}: {', '.join(gateways)} (POST-SETUP.md, 'Verify the redundant pair', "
            "says what to check)"
        )


def stack_file_of(path: Path) -> Path:
    """``PATH`` may name a stack file or the project directory that holds ``stack.yaml``."""
    return path / "stack.yaml" if path.is_dir() else path
