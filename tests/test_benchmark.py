"""benchmarks/run.py runs end to end on a tiny case and reports what it could not measure.

No timing assertions: only that the rows exist, carry numbers, and are judged. Nothing here
needs the network (the reference is skipped, or replaced by a stand-in script).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
RUN = ROOT / "benchmarks" / "run.py"
QUICK_SPOKES = (2, 4, 8)


def expected_ids(spokes: tuple[int, ...]) -> list[str]:
    stacks = ["basic", "scale-out-redundant", *(f"hub-and-spoke-redundant-{n}" for n in spokes)]
    small, large = spokes[-2:]
    return [
        "version",
        "help",
        *(f"create-{s}-compose" for s in stacks),
        *(f"create-{s}-all" for s in stacks),
        f"validate-kubernetes-{large}",
        f"growth-compose-{small}-{large}",
        f"growth-all-{small}-{large}",
    ]


def run_benchmark(
    tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    work = tmp_path / "work"
    work.mkdir()
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--json", str(results), "--workdir", str(work), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert results.exists(), done.stderr
    # Every created project, and the benchmark's own temporary root, is gone.
    assert list(work.iterdir()) == []
    return done, json.loads(results.read_text(encoding="utf-8"))


def rows_by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in document["rows"]}


def assert_measured(side: dict[str, Any], runs: int) -> None:
    assert side["status"] == "ok", side
    assert len(side["runs_s"]) == runs
    assert side["median_s"] > 0
    assert side["peak_rss_mib"] > 0


def test_quick_run_of_this_tool(tmp_path: Path) -> None:
    """The installed console script, beside this Python, as the README's command runs it."""
    if not (Path(sys.executable).parent / "ignition-stack").exists():
        pytest.fail("ignition-stack is not installed beside the test interpreter")
    done, document = run_benchmark(tmp_path, "--quick", "--skip-reference")
    assert done.returncode == 0, done.stderr
    assert "| Row | This median (s) | Reference median (s) | Ratio this/ref |" in done.stdout
    rows = rows_by_id(document)
    assert list(rows) == expected_ids(QUICK_SPOKES)
    assert document["settings"]["repeat"] == 1
    assert document["tools"]["this"]["version"]
    assert document["tools"]["reference"]["status"] == "skipped"
    for key in ("cpu_model", "logical_cpus", "memory_gib", "python", "os"):
        assert key in document["machine"]
    for row_id, row in rows.items():
        if row["kind"] == "growth":
            continue
        assert row["reference"]["status"] in ("skipped", "n/a")
        assert row["ratio"] is None
        if row["required"]:
            assert_measured(row["this"], 1)
        elif row["this"]["status"] != "ok":
            # The Kubernetes target and validate may not exist yet: reported, not a crash.
            assert row["this"]["status"] == "unavailable", row_id
            assert row["this"]["reason"], row_id
    largest = rows["create-hub-and-spoke-redundant-8-compose"]
    assert [c["what"] for c in largest["checks"]] == ["time", "memory"]
    assert largest["checks"][0]["verdict"] == "n/a"
    assert largest["checks"][1]["verdict"] in ("met", "missed")
    growth = rows["growth-compose-4-8"]
    assert growth["this"]["growth"] > 0
    assert growth["checks"][0]["limit"] == pytest.approx(1.1 * 8 / 4)


FAKE = """#!{python}
# A stand-in ignition-stack for the benchmark's own test.
import pathlib
import sys

REFERENCE = {reference}
KUBERNETES = {kubernetes}
args = sys.argv[1:]
if args == ["--version"]:
    print("ignition-stack " + ("0.9.1" if REFERENCE else "0.0.0-test"))
    sys.exit(0)
if args == ["--help"]:
    print("Usage: ignition-stack [OPTIONS] COMMAND [ARGS]...")
    sys.exit(0)


def option(name, default=None):
    return args[args.index(name) + 1] if name in args else default


if args[0] == "create":
    spokes = int(option("--spokes", "0"))
    target = option("--target", "compose")
    if REFERENCE and "--target" in args:
        sys.exit("No such option: --target")
    if REFERENCE and spokes > 8 and "--force" not in args:
        sys.exit(3)  # the reference's RAM advisory
    if target in ("all", "k8s") and not KUBERNETES:
        sys.exit("ignition-stack: the kubernetes target is not written yet")
    project = pathlib.Path(option("-o")) / args[1]
    for name in ("compose", "kubernetes") if target == "all" else (target.replace("k8s", "kubernetes"),):
        (project / "targets" / name).mkdir(parents=True)
        (project / "targets" / name / "out.yaml").write_text("x: 1\\n" * spokes)
    print("created", project)
    sys.exit(0)
if args[0] == "validate" and KUBERNETES and not REFERENCE:
    sys.exit(0 if pathlib.Path(args[1]).is_dir() else 1)
sys.exit("No such command " + args[0])
"""


def fake_tool(directory: Path, *, reference: bool, kubernetes: bool) -> Path:
    script = directory / "bin" / "ignition-stack"
    script.parent.mkdir(parents=True)
    script.write_text(
        FAKE.format(python=sys.executable, reference=reference, kubernetes=kubernetes),
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("kubernetes", [False, True], ids=["no-k8s-yet", "k8s-landed"])
def test_rows_against_a_stand_in_reference(tmp_path: Path, kubernetes: bool) -> None:
    """Ratios and verdicts for every row; the Kubernetes rows turn on by themselves."""
    this = fake_tool(tmp_path / "this", reference=False, kubernetes=kubernetes)
    reference_venv = tmp_path / "reference"
    fake_tool(reference_venv, reference=True, kubernetes=False)
    spokes = (2, 9)  # 9 > 8: the reference needs --force, which the benchmark must pass
    done, document = run_benchmark(
        tmp_path,
        "--quick",
        "--tool",
        str(this),
        "--reference-venv",
        str(reference_venv),
        "--spokes",
        ",".join(map(str, spokes)),
        "--repeat",
        "2",
    )
    assert done.returncode == 0, done.stderr
    assert document["tools"]["reference"]["version"] == "0.9.1"
    rows = rows_by_id(document)
    assert list(rows) == expected_ids(spokes)
    for row_id in ("version", "help", "create-hub-and-spoke-redundant-9-compose"):
        row = rows[row_id]
        assert_measured(row["this"], 2)
        assert_measured(row["reference"], 2)
        assert row["ratio"] == pytest.approx(
            row["this"]["median_s"] / row["reference"]["median_s"], rel=0.02
        )
        assert row["checks"][0]["verdict"] in ("met", "missed")
    all_targets = rows["create-hub-and-spoke-redundant-9-all"]
    assert all_targets["reference_row"] == "create-hub-and-spoke-redundant-9-compose"
    assert all_targets["reference"]["status"] == "n/a"
    validate = rows["validate-kubernetes-9"]
    if kubernetes:
        assert_measured(all_targets["this"], 2)
        assert all_targets["ratio"] > 0
        assert {c["verdict"] for c in all_targets["checks"]} <= {"met", "missed"}
        assert_measured(validate["this"], 2)
        assert rows["growth-all-2-9"]["this"]["growth"] > 0
    else:
        assert all_targets["this"]["status"] == "unavailable"
        assert "not written yet" in all_targets["this"]["reason"]
        assert all_targets["ratio"] is None
        assert {c["verdict"] for c in all_targets["checks"]} == {"n/a"}
        assert validate["this"]["status"] == "unavailable"
        assert rows["growth-all-2-9"]["checks"][0]["verdict"] == "n/a"
        assert "unavailable" in done.stdout
    growth = rows["growth-compose-2-9"]
    assert growth["this"]["growth"] > 0
    assert growth["reference"]["growth"] > 0
    assert growth["checks"][0]["limit"] == pytest.approx(1.1 * 9 / 2)


def test_a_broken_required_row_fails_the_run(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / "bin" / "ignition-stack"
    broken.parent.mkdir(parents=True)
    broken.write_text("#!/bin/sh\necho 'ignition-stack 0.0.0'\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    done, document = run_benchmark(tmp_path, "--quick", "--skip-reference", "--tool", str(broken))
    assert done.returncode == 1
    assert rows_by_id(document)["create-basic-compose"]["this"]["status"] == "unavailable"
    assert "could not run required rows" in done.stderr


# --- benchmarks/compose_up.py: the parts that need no Docker engine ---------------------------
# (tests/engines/test_compose_engine.py runs its `measure` against the real engine)


def load_compose_up() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "compose_up", ROOT / "benchmarks" / "compose_up.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations there
    spec.loader.exec_module(module)
    return module


def test_compose_up_breakdown_reads_the_engine_timestamps() -> None:
    compose_up = load_compose_up()
    start = compose_up.docker_time("2026-12-02T11:00:00.000000000Z")
    assert compose_up.docker_time("0001-01-01T00:00:00Z") is None
    assert compose_up.docker_time("2026-12-02T11:00:01.250000000Z") - start == pytest.approx(1.25)

    def container(component: str, started: str, finished: str) -> dict[str, Any]:
        return {
            "Config": {"Labels": {"io.ignition-stack.component": component}},
            "State": {"StartedAt": f"2026-12-02T11:00:{started}Z", "FinishedAt": finished},
        }

    zero = "0001-01-01T00:00:00Z"
    containers = [
        container("pki", "00.500", "2026-12-02T11:00:02.5Z"),
        container("bootstrap", "03.000", "2026-12-02T11:00:03.75Z"),
        container("bootstrap", "03.100", "2026-12-02T11:00:03.5Z"),
        container("gateway", "04.000", zero),
        container("gateway", "04.400", zero),
    ]
    found = compose_up.breakdown(containers, start)
    assert found == {
        "pki_s": pytest.approx(2.0),
        "one_shots_done_s": pytest.approx(3.75),
        "gateways_started_s": pytest.approx(4.4),
    }
    # Plain stacks have no PKI; the table says so instead of inventing a number.
    plain = compose_up.Result("4-plain", 4, "plain", "ok", up_to_healthy_s=12.3)
    text = compose_up.table([plain])
    assert "| 4 | plain | 12.3 | — |" in text
    assert "not measured" in compose_up.goal_line([plain])
    ssl = compose_up.Result("20-ssl", 20, "ssl", "ok", up_to_healthy_s=9.5)
    assert compose_up.goal_line([ssl]).endswith("9.5 s, met.")


def test_compose_up_refuses_sizes_without_spokes() -> None:
    compose_up = load_compose_up()
    with pytest.raises(SystemExit):
        compose_up.parse_args(["--sizes", "2"])
    assert compose_up.parse_args(["--quick"]).sizes == (4,)
