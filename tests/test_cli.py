"""The command line end to end: create, the dry-run record, create -f, emit and its drift gate."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import Result, read_tree

Cli = Callable[..., Result]
ROOT = Path(__file__).parent.parent


def create(cli: Cli, tmp_path: Path, *args: str) -> Result:
    result = cli("create", *args, "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    return result


def test_create_redundant_scale_out(cli: Cli, tmp_path: Path) -> None:
    result = create(cli, tmp_path, "demo", "--arch", "scale-out", "--redundant", "backend")
    project = tmp_path / "demo"
    assert "docker compose up -d" in result.stdout
    assert sorted(read_tree(project)) == [
        ".github/workflows/ignition-stack.yaml",
        ".gitignore",
        ".ignition-stack-files",
        "POST-SETUP.md",
        "compose.yaml",
        "secrets/gateway-admin-password",
        "stack.yaml",
        "targets/compose/.ignition-stack-files",
        "targets/compose/compose.yaml",
        "targets/compose/gateways/backend-backup/redundancy.xml",
        "targets/compose/gateways/backend/redundancy.xml",
        "targets/compose/scripts/gateway-health.sh",
        "targets/compose/scripts/redundancy-keys.sh",
        "targets/compose/scripts/seed-data-volume.sh",
        "targets/compose/scripts/start-gateway.sh",
    ]
    entrypoint = yaml.safe_load((project / "compose.yaml").read_text())
    assert entrypoint == {"name": "demo", "include": ["targets/compose/compose.yaml"]}
    post_setup = (project / "POST-SETUP.md").read_text()
    for phrase in (
        "PEER CONNECTED: Yes",
        "Sync Status: Good",
        "```mermaid",
        "2-hour trial",
        "demo only",
        "8060",
        "Network → Gateway Network → Connections → Incoming Connections",
        "backup-only license",
    ):
        assert phrase in post_setup


def test_post_setup_for_an_ssl_stack_on_both_targets(cli: Cli, tmp_path: Path) -> None:
    create(
        cli,
        tmp_path,
        "plant",
        "--arch",
        "hub-and-spoke",
        "--redundant",
        "hub",
        "--transport",
        "ssl",
        "--target",
        "all",
    )
    text = (tmp_path / "plant" / "POST-SETUP.md").read_text()
    for phrase in (
        "create secret generic plant-gateway-admin",
        "create secret generic plant-gateway-network-keystore",
        "**cert-manager** (1.14 or newer)",
        "No certificate approval was needed",
        "port 8060 with SSL",
        "port-forward svc/hub 8088:8088",
        "gateway-network-pki",
    ):
        assert phrase in text, phrase
    assert "demo only" not in text


def test_admin_password_stays_out_of_git_and_out_of_every_file(cli: Cli, tmp_path: Path) -> None:
    create(cli, tmp_path, "demo", "--arch", "basic", "--redundant", "gateway")
    project = tmp_path / "demo"
    password_file = project / "secrets" / "gateway-admin-password"
    password = password_file.read_text().strip()
    assert len(password) >= 24
    assert stat.S_IMODE(password_file.parent.stat().st_mode) == 0o700
    assert "secrets/" in (project / ".gitignore").read_text().splitlines()
    for path, text in read_tree(project).items():
        if path != "secrets/gateway-admin-password":
            assert password not in text, path
    compose = yaml.safe_load((project / "targets/compose/compose.yaml").read_text())
    gateway = compose["services"]["gateway"]
    assert (
        gateway["environment"]["GATEWAY_ADMIN_PASSWORD_FILE"]
        == "/run/secrets/gateway-admin-password"
    )
    assert "GATEWAY_ADMIN_PASSWORD" not in gateway["environment"]
    # The bootstrap, as root, copies the host file to a volume readable by uid 2003 only.
    assert compose["services"]["gateway-bootstrap"]["secrets"] == ["gateway-admin-password"]
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    # Relative to targets/compose/: the project's secrets/ directory.
    secret_file = compose["secrets"]["gateway-admin-password"]["file"]
    assert secret_file.endswith(":-../../secrets/gateway-admin-password}")
    assert (
        project / "targets/compose" / "../../secrets/gateway-admin-password"
    ).resolve() == password_file.resolve()


@pytest.mark.parametrize("output_format", ["yaml", "json"])
def test_dry_run_is_the_recorded_stack_file_and_writes_nothing(
    cli: Cli, tmp_path: Path, output_format: str
) -> None:
    args = ("demo", "--arch", "hub-and-spoke", "--redundant", "hub", "--spokes", "2")
    dry = cli("create", *args, "--dry-run", "--output-format", output_format, "-o", str(tmp_path))
    assert dry.exit_code == 0, dry.stderr
    assert list(tmp_path.iterdir()) == []
    create(cli, tmp_path, *args)
    recorded = (tmp_path / "demo" / "stack.yaml").read_text()
    if output_format == "yaml":
        assert dry.stdout == recorded
    else:
        assert json.loads(dry.stdout) == yaml.safe_load(recorded)
    names = [g["name"] for g in yaml.safe_load(recorded)["gateways"]]
    assert names == ["hub", "hub-backup", "spoke-0", "spoke-1"]


def test_create_from_file_rebuilds_the_same_project(cli: Cli, tmp_path: Path) -> None:
    create(
        cli, tmp_path, "demo", "--arch", "scale-out", "--redundant", "backend", "--frontends", "2"
    )
    again = tmp_path / "again"
    again.mkdir()
    create(cli, again, "demo", "-f", str(tmp_path / "demo" / "stack.yaml"))
    first, second = read_tree(tmp_path / "demo"), read_tree(again / "demo")
    first.pop("secrets/gateway-admin-password")
    second.pop("secrets/gateway-admin-password")
    assert first == second


def test_create_from_json_dump(cli: Cli, tmp_path: Path) -> None:
    dry = cli(
        "create",
        "demo",
        "--arch",
        "basic",
        "--redundant",
        "gateway",
        "--dry-run",
        "--output-format",
        "json",
    )
    (tmp_path / "stack.json").write_text(dry.stdout)
    create(cli, tmp_path, "copy", "-f", str(tmp_path / "stack.json"))
    assert yaml.safe_load((tmp_path / "copy" / "stack.yaml").read_text())["name"] == "copy"


def test_init_is_create(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "demo", "--arch", "basic", "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "demo" / "stack.yaml").is_file()


def test_create_refuses_a_non_empty_directory_and_loses_nothing(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    result = cli("create", "demo", "--arch", "basic", "-o", str(tmp_path))
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "Traceback" not in result.stderr
    assert read_tree(tmp_path / "demo") == {"notes.txt": "mine"}


def test_wizard_needs_a_terminal(cli: Cli, tmp_path: Path) -> None:
    result = cli("create", "demo", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "no terminal for the wizard" in result.stderr and "--arch" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--arch", "hub-and-spoke", "--frontends", "2"), "--frontends applies to the scale-out"),
        (("--arch", "scale-out", "--spokes", "2"), "--spokes applies to the hub-and-spoke"),
        (("--arch", "basic", "--target", "helm"), "Invalid value for '--target'"),
        (("--arch", "scale-out", "--frontends", "0"), "--frontends"),
        (("--arch", "basic", "--bogus"), "No such option"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    result = cli("create", "demo", *args, "-o", str(tmp_path))
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "demo").exists()


def test_version_and_help(cli: Cli) -> None:
    version = cli("--version")
    assert version.exit_code == 0 and version.stdout.startswith("ignition-stack ")
    help_text = cli("--help")
    assert help_text.exit_code == 0
    for command in ("create", "init", "emit", "validate", "schema"):
        assert command in help_text.stdout


# --- emit -------------------------------------------------------------------------------------


def stack_file(
    tmp_path: Path, text: str = "name: plant\narchitecture: scale-out\nredundant: backend\n"
) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return path


def test_emit_writes_beside_the_stack_file_and_is_idempotent(cli: Cli, tmp_path: Path) -> None:
    path = stack_file(tmp_path)
    first = cli("emit", str(path), "--target", "compose")
    assert first.exit_code == 0, first.stderr
    tree = read_tree(tmp_path / "targets" / "compose")
    assert "compose.yaml" in tree and ".ignition-stack-files" in tree
    second = cli("emit", str(path), "--target", "compose")
    assert second.exit_code == 0
    assert read_tree(tmp_path / "targets" / "compose") == tree
    check = cli("emit", str(path), "--target", "compose", "--check")
    assert check.exit_code == 0, check.stdout + check.stderr
    assert "up to date" in check.stdout


def test_check_reports_each_kind_of_drift(cli: Cli, tmp_path: Path) -> None:
    path = stack_file(tmp_path)
    assert cli("emit", str(path), "--target", "compose").exit_code == 0
    out = tmp_path / "targets" / "compose"
    (out / "gateways" / "backend" / "redundancy.xml").write_text("tampered\n")
    (out / "scripts" / "gateway-health.sh").unlink()
    result = cli("emit", str(path), "--target", "compose", "--check")
    assert result.exit_code == 1
    assert "changed: gateways/backend/redundancy.xml" in result.stdout
    # A deleted file is missing, and the user learns emit writes it back; not "added".
    assert "missing: scripts/gateway-health.sh (emit writes it)" in result.stdout
    assert "added" not in result.stdout
    assert "+++ b/scripts/gateway-health.sh" not in result.stdout, "no diff of a whole file"
    assert "-tampered" in result.stdout
    full = cli("emit", str(path), "--target", "compose", "--check", "--diff")
    assert "+++ b/scripts/gateway-health.sh" in full.stdout
    # A gateway removed from the stack leaves stale files emit would delete.
    stack_file(tmp_path, "name: plant\narchitecture: scale-out\n")
    result = cli("emit", str(path), "--target", "compose", "--check")
    assert result.exit_code == 1
    assert "stale: gateways/backend-backup/redundancy.xml (emit removes it)" in result.stdout
    # A file ignition-stack does not own, where it would write.
    assert cli("emit", str(path), "--target", "compose").exit_code == 0
    manifest = out / ".ignition-stack-files"
    manifest.write_text(manifest.read_text().replace("compose.yaml\n", ""))
    (out / "compose.yaml").write_text("services: {}\n")
    result = cli("emit", str(path), "--target", "compose", "--check")
    assert result.exit_code == 1
    assert "not owned by ignition-stack" in result.stdout


def test_check_on_a_missing_directory_and_on_errors(cli: Cli, tmp_path: Path) -> None:
    path = stack_file(tmp_path)
    missing = cli("emit", str(path), "--target", "compose", "--check")
    assert missing.exit_code == 1
    assert "missing: compose.yaml (emit writes it)" in missing.stdout
    assert not (tmp_path / "targets").exists(), "--check writes nothing"
    broken = stack_file(tmp_path, "name: plant\narchitecture: scale-out\nredundant: frontend\n")
    assert cli("emit", str(broken), "--check").exit_code == 2
    assert cli("emit", str(tmp_path / "absent.yaml"), "--check").exit_code == 2


def test_check_summary_is_bounded_and_diff_shows_all(cli: Cli, tmp_path: Path) -> None:
    path = stack_file(tmp_path, "name: plant\narchitecture: hub-and-spoke\nspokes: 3\n")
    assert cli("emit", str(path), "--target", "compose").exit_code == 0
    stack_file(tmp_path, "name: plant\narchitecture: hub-and-spoke\nspokes: 30\n")
    bounded = cli("emit", str(path), "--target", "compose", "--check")
    assert bounded.exit_code == 1
    assert "more diff lines (use --diff to see all)" in bounded.stdout
    full = cli("emit", str(path), "--target", "compose", "--check", "--diff")
    assert "more diff lines" not in full.stdout
    assert len(full.stdout.splitlines()) > len(bounded.stdout.splitlines())


# --- schema -----------------------------------------------------------------------------------


def test_schema_describes_the_stack_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["properties"]["redundant"]["description"]
    create(cli, tmp_path, "demo", "--arch", "scale-out", "--redundant", "backend")
    jsonschema.validate(yaml.safe_load((tmp_path / "demo" / "stack.yaml").read_text()), schema)
    reference = ROOT / "stack.yaml"
    if reference.exists():
        jsonschema.validate(yaml.safe_load(reference.read_text()), schema)


def test_check_calls_out_changes_kubernetes_cannot_apply_in_place(cli: Cli, tmp_path: Path) -> None:
    path = stack_file(tmp_path)
    assert cli("emit", str(path), "--target", "k8s").exit_code == 0
    # A bigger data volume changes every StatefulSet's volumeClaimTemplates.
    path.write_text(path.read_text() + "kubernetes:\n  storage_size: 10Gi\n")
    result = cli("emit", str(path), "--target", "k8s", "--check")
    assert result.exit_code == 1
    notes = [line for line in result.stdout.splitlines() if "cannot update in place" in line]
    assert len(notes) == 2, result.stdout  # the backend pair, the frontend tier
    assert all("spec.volumeClaimTemplates" in note and "--cascade=orphan" in note for note in notes)
    # A change Kubernetes applies in place (CPU) is not called out.
    path.write_text(path.read_text().replace("storage_size: 10Gi", "cpu_limit: '4'"))
    result = cli("emit", str(path), "--target", "k8s", "--check")
    assert result.exit_code == 1 and "note:" not in result.stdout


@pytest.mark.parametrize("command", ["emit", "create"])
def test_an_unusable_output_directory_is_one_line_not_a_traceback(
    cli: Cli, tmp_path: Path, command: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    if command == "emit":
        result = cli(
            "emit", str(stack_file(tmp_path)), "--target", "compose", "--out", str(blocker / "out")
        )
    else:
        result = cli("create", "demo", "--arch", "basic", "-o", str(blocker / "parent"))
    # A bad -o is a command-line mistake (exit 2); emit --out meets the disk (exit 1).
    assert result.exit_code == (1 if command == "emit" else 2)
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ignition-stack: cannot") or last.endswith("is not a directory")
    assert blocker.read_text() == "not a directory\n"


# --- where create writes, and what emit reads ---------------------------------------------------


def test_create_refuses_a_deep_missing_output_directory(cli: Cli, tmp_path: Path) -> None:
    deep = tmp_path / "no" / "such" / "dir"
    result = cli("create", "demo", "--arch", "basic", "-o", str(deep))
    assert result.exit_code == 2, result.stderr
    assert "does not exist" in result.stderr and f"mkdir -p {deep}" in result.stderr
    assert not (tmp_path / "no").exists(), "nothing is created on the way"
    # One missing level is made, like mkdir, and the output says so.
    one = tmp_path / "projects"
    made = cli("create", "demo", "--arch", "basic", "-o", str(one))
    assert made.exit_code == 0, made.stderr
    assert f"created {one} (the -o directory)" in made.stdout
    assert (one / "demo" / "stack.yaml").is_file()


def test_create_into_a_file_says_it_is_not_a_directory(cli: Cli, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    result = cli("create", "demo", "--arch", "basic", "-o", str(afile))
    assert result.exit_code == 2
    assert f"-o {afile} is not a directory" in result.stderr
    assert "File exists" not in result.stderr
    assert afile.read_text() == "mine\n"


def test_emit_of_a_directory_points_at_its_stack_file(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "adir"
    project.mkdir()
    empty = cli("emit", str(project))
    assert empty.exit_code == 1
    assert "holds no stack.yaml" in empty.stderr and "did you mean" not in empty.stderr
    stack_file(project)
    result = cli("emit", str(project))
    assert result.exit_code == 1
    assert f"did you mean {project / 'stack.yaml'}?" in result.stderr


# --- exit codes: 2 when the command line is wrong, 1 when the stack is ---------------------------


def test_the_same_problem_has_the_exit_code_of_where_it_came_from(cli: Cli, tmp_path: Path) -> None:
    """IS102 from a flag, and from flags that make a valid stack file invalid, is exit 2 (the
    command line is wrong); IS102 written in a stack file is exit 1 (the stack is invalid)."""
    flag = cli("create", "demo", "--arch", "basic", "--redundant", "hub", "--dry-run")
    assert flag.exit_code == 2 and "IS102 --redundant:" in flag.stderr
    valid = stack_file(tmp_path, "name: plant\narchitecture: hub-and-spoke\nredundant: hub\n")
    over = cli("create", "demo", "-f", str(valid), "--arch", "basic", "--dry-run")
    assert over.exit_code == 2 and "IS102 redundant:" in over.stderr
    assert "the options given make the stack file's stack invalid" in over.stderr
    invalid = stack_file(tmp_path, "name: plant\narchitecture: basic\nredundant: hub\n")
    from_file = cli("create", "demo", "-f", str(invalid), "--dry-run")
    assert from_file.exit_code == 1 and "IS102 redundant:" in from_file.stderr
    assert "stack is invalid" in from_file.stderr
    # Flags over a file that is invalid anyway: the file is what must change (exit 1).
    both = cli("create", "demo", "-f", str(invalid), "--transport", "ssl", "--dry-run")
    assert both.exit_code == 1
    assert cli("emit", str(invalid), "--out", str(tmp_path / "out")).exit_code == 1


def test_a_bad_flag_is_refused_before_any_question(cli: Cli, tmp_path: Path) -> None:
    # The name, the target and -o are checked first, on every path (the wizard included):
    # without --arch, with no terminal, the flag's own error shows, not "no terminal".
    bad_name = cli("create", "Bad_Name", "--redundant", "hub")
    assert bad_name.exit_code == 2 and "IS110" in bad_name.stderr
    afile = tmp_path / "afile"
    afile.write_text("")
    bad_dir = cli("create", "demo", "-o", str(afile))
    assert bad_dir.exit_code == 2 and "not a directory" in bad_dir.stderr
