"""The Compose web proxy's certificate one-shot on a real Docker engine (``web:``).

`web-proxy-certificates` runs as the created project runs it: root with only CHOWN,
DAC_OVERRIDE and FOWNER, no network, in the stand-in image (which has openssl, as the Ignition
image does). What it leaves for Traefik (uid 65532) is checked from a second container. Traefik
itself is not run: its image is not available to the offline engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import GOLDEN, Result
from .docker import DockerEngine

pytestmark = pytest.mark.docker_engine

VOLUME = "plant_web-proxy-certificates"


def in_volume(docker: DockerEngine, *command: str) -> str:
    run = docker.docker(
        "run", "--rm", "--network", "none", "-v", f"{VOLUME}:/c:ro", "--entrypoint", command[0],
        docker.image, *command[1:],
    )  # fmt: skip
    return run.stdout


def test_the_web_certificate_is_issued_for_traefik_only(
    cli: Callable[..., Result], docker: DockerEngine, tmp_path: Path
) -> None:
    stack = GOLDEN / "basic-redundant-web" / "stack.yaml"
    created = cli(
        "create", "plant", "-f", str(stack), "--target", "compose", "--no-ci", "-o", str(tmp_path)
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    project = tmp_path / "plant"
    try:
        first = docker.compose(project, "run", "--rm", "--no-deps", "web-proxy-certificates")
        assert "issued web.crt for scada.plant.example.com" in first.stdout + first.stderr
        modes = in_volume(
            docker, "stat", "-c", "%n %u:%g %a", "/c/web.key", "/c/web.crt", "/c/ca.crt"
        )
        assert modes.split("\n")[:3] == [
            "/c/web.key 65532:65532 400",
            "/c/web.crt 65532:65532 444",
            "/c/ca.crt 0:0 444",
        ]
        assert "ca.key" not in in_volume(docker, "ls", "-a", "/c")
        verified = in_volume(docker, "openssl", "verify", "-CAfile", "/c/ca.crt", "/c/web.crt")
        assert verified.strip() == "/c/web.crt: OK"
        again = docker.compose(project, "run", "--rm", "--no-deps", "web-proxy-certificates")
        assert "web.crt is up to date" in again.stdout + again.stderr
    finally:
        docker.compose(project, "down", "-v", "--timeout", "5", check=False)
    assert docker.leftovers() == [], "docker compose down -v left these behind"
