"""Running a scaffolded GitHub Actions workflow's own steps, on this machine, the way a runner
does: each ``run:`` in order with ``bash -e``, in a git checkout of the project, with
``$GITHUB_PATH`` honoured between steps. The ``uses:`` actions it may name are stood in for by
what the test prepares (the checkout, a fresh virtual environment as the Python, the machine's
Go); an action or an ``if:`` this module does not know fails the test rather than being skipped.

Packages come only from a local directory (``PIP_NO_INDEX``/``PIP_FIND_LINKS``): a wheel built
from this checkout plus its dependencies' wheels, fetched once (``wheelhouse``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .validators import missing_tool

ROOT = Path(__file__).parent.parent.parent
# Where the dependencies' wheels are kept between test sessions, by the set of requirements.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ignition-stack-tests"
KNOWN_ACTIONS = ("actions/checkout@", "actions/setup-python@", "actions/setup-go@")
_HASH_FILES = re.compile(r"^hashFiles\('([^']+)'\) != ''$")


@dataclass(frozen=True)
class Wheelhouse:
    """A wheel of this checkout (``wheel``) and directories pip may install from."""

    wheel: Path
    directories: tuple[Path, ...]

    def pip_environment(self) -> dict[str, str]:
        return {
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": " ".join(str(d) for d in self.directories),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }


def _pip(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        check=False,
    )


def build_wheelhouse(directory: Path) -> Wheelhouse:
    """Build this checkout's wheel into ``directory``; fetch its dependencies' wheels from the
    package index into a cache shared by test sessions (once per set of requirements)."""
    built = _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", directory, ROOT)
    if built.returncode != 0:
        missing_tool(
            f"cannot build a wheel of this checkout (the build backend comes from the package index): {built.stderr.strip()[-400:]}"
        )
    wheel = next(directory.glob("ignition_stack_emitter-*.whl"))
    requirements = _requires(wheel)
    key = hashlib.sha256(
        "\n".join(
            [sys.version.split()[0], sys.platform, "extra:kubernetes", *requirements]
        ).encode()
    ).hexdigest()[:16]
    dependencies = CACHE / f"wheelhouse-{key}"
    if not dependencies.is_dir():
        partial = CACHE / f".wheelhouse-{key}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        fetched = _pip(
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            partial,
            # With the extra: a project with the Kubernetes target installs it.
            f"ignition-stack-emitter[kubernetes] @ {Path(wheel).resolve().as_uri()}",
        )
        if fetched.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            missing_tool(
                "cannot fetch the dependencies' wheels from the package index: "
                + fetched.stderr.strip()[-400:]
            )
        for own in partial.glob("ignition_stack_emitter-*"):
            own.unlink()
        try:
            partial.rename(dependencies)
        except OSError:  # another session finished first
            shutil.rmtree(partial, ignore_errors=True)
    return Wheelhouse(wheel, (directory, dependencies))


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    return sorted(line for line in metadata.splitlines() if line.startswith("Requires-Dist:"))


def git_checkout(project: Path) -> None:
    """Make ``project`` a git repository with everything committed, as a pull request's
    checkout is (git-ignored files, such as the admin password, are left out as in CI)."""
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        [
            "-c",
            "user.name=CI",
            "-c",
            "user.email=ci@example.invalid",
            "commit",
            "--quiet",
            "-m",
            "project",
        ],
        ["clean", "-fdxq"],
    ):
        subprocess.run(["git", *args], cwd=project, check=True)


def fresh_environment(directory: Path) -> Path:
    """A new virtual environment (the runner's Python after setup-python)."""
    subprocess.run([sys.executable, "-m", "venv", directory], check=True)
    return directory


@dataclass
class StepRun:
    name: str
    exit_code: int
    output: str


def step_name(step: Mapping[str, Any]) -> str:
    return str(step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0])


def _condition_holds(condition: str, checkout: Path) -> bool:
    match = _HASH_FILES.match(condition.strip())
    if match is None:
        raise AssertionError(f"the workflow has an `if:` this runner does not know: {condition}")
    return (checkout / match.group(1)).is_file()


def run_steps(
    workflow: Mapping[str, Any],
    checkout: Path,
    venv: Path,
    pip_environment: Mapping[str, str],
    skip: Callable[[Mapping[str, Any]], bool] = lambda _: False,
) -> list[StepRun]:
    """Every step of the ``check`` job in order; stops at the first that fails."""
    github_path = checkout.parent / f"{checkout.name}-github-path"
    github_path.write_text("")
    base_path = [str(venv / "bin"), "/usr/local/go/bin", "/usr/local/bin", "/usr/bin", "/bin"]
    runs: list[StepRun] = []
    for index, step in enumerate(workflow["jobs"]["check"]["steps"]):
        name = step_name(step)
        if "uses" in step:
            if not str(step["uses"]).startswith(KNOWN_ACTIONS):
                raise AssertionError(f"step {name}: no stand-in for action {step['uses']}")
            continue  # the checkout, the venv and the machine's Go stand in for them
        if "if" in step and not _condition_holds(step["if"], checkout):
            continue
        if skip(step):
            continue
        added = [line for line in github_path.read_text().splitlines() if line]
        environment = {
            "HOME": str(Path.home()),
            "PATH": os.pathsep.join([*reversed(added), *base_path]),
            "VIRTUAL_ENV": str(venv),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(checkout),
            "GITHUB_PATH": str(github_path),
            "LANG": "C.UTF-8",
            **pip_environment,
        }
        script = checkout.parent / f"{checkout.name}-step-{index}.sh"
        script.write_text(str(step["run"]))
        result = subprocess.run(
            ["bash", "-e", str(script)],
            cwd=checkout,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        runs.append(StepRun(name, result.returncode, result.stdout + result.stderr))
        if result.returncode != 0:
            break
    return runs


def load_workflow(project: Path) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(
        (project / ".github" / "workflows" / "ignition-stack.yaml").read_text()
    )
    return workflow
