"""The web proxy's certificate script (``web-certificates.sh``, Compose ``web:``), run for real
with bash and openssl: the certificate chains to the stack's web CA, names every host, is
re-issued only when needed, and the CA key never reaches the directory the proxy reads."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

SCRIPT = Path(str(resources.files("emitter").joinpath("assets", "web-certificates.sh")))
OWNER = f"{os.getuid()}:{os.getgid()}"


@dataclass
class Run:
    returncode: int
    output: str


def run(tmp_path: Path, **environment: str) -> Run:
    variables = {
        "PATH": os.environ["PATH"],
        "WEB_CA_DIR": str(tmp_path / "ca"),
        "WEB_CERT_DIR": str(tmp_path / "certificates"),
        "WEB_STACK": "plant",
        "WEB_HOSTS": "scada.example.com hmi.example.com",
        "WEB_OWNER": OWNER,
        **environment,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=variables, capture_output=True, text=True, check=False
    )
    return Run(done.returncode, done.stdout + done.stderr)


def text(openssl: str, *arguments: str) -> str:
    return subprocess.run([openssl, *arguments], capture_output=True, text=True, check=True).stdout


def test_issues_a_certificate_for_every_host_from_the_web_ca(
    tmp_path: Path, openssl_path: str
) -> None:
    first = run(tmp_path)
    assert first.returncode == 0, first.output
    certificates = tmp_path / "certificates"
    assert sorted(p.name for p in certificates.iterdir()) == ["ca.crt", "web.crt", "web.key"]
    assert (certificates / "web.key").stat().st_mode & 0o777 == 0o400
    assert not list(certificates.glob("ca.key"))
    verified = subprocess.run(
        [
            openssl_path,
            "verify",
            "-CAfile",
            str(certificates / "ca.crt"),
            str(certificates / "web.crt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    details = text(openssl_path, "x509", "-in", str(certificates / "web.crt"), "-noout", "-text")
    assert "DNS:scada.example.com, DNS:hmi.example.com" in details
    assert "TLS Web Server Authentication" in details
    assert "TLS Web Client Authentication" not in details
    issuer = text(openssl_path, "x509", "-in", str(certificates / "web.crt"), "-noout", "-issuer")
    assert "plant Web CA" in issuer

    before = (certificates / "web.crt").read_bytes()
    again = run(tmp_path)
    assert again.returncode == 0 and "up to date" in again.output
    assert (certificates / "web.crt").read_bytes() == before

    changed = run(tmp_path, WEB_HOSTS="scada.example.com")
    assert changed.returncode == 0 and "the hosts or the CA changed" in changed.output
    assert (certificates / "web.crt").read_bytes() != before


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"WEB_HOSTS": "10.0.0.1.example.com Bad.Example.com"}, "not a lower-case DNS name"),
        ({"WEB_HOSTS": ""}, "WEB_HOSTS is not set"),
        ({"WEB_OWNER": "traefik"}, "WEB_OWNER must be uid:gid"),
        ({"WEB_RENEW_DAYS": "500"}, "must be less than"),
    ],
)
def test_refuses_bad_settings(tmp_path: Path, environment: dict[str, str], message: str) -> None:
    result = run(tmp_path, **environment)
    assert result.returncode == 1
    assert message in result.output


def test_refuses_a_ca_inside_the_published_directory(tmp_path: Path) -> None:
    result = run(tmp_path, WEB_CA_DIR=str(tmp_path / "certificates" / "ca"))
    assert result.returncode == 1
    assert "the CA key would be published" in result.output


def test_acme_mode_only_prepares_the_storage(tmp_path: Path) -> None:
    result = run(tmp_path, WEB_ACME_DIR=str(tmp_path / "acme"))
    assert result.returncode == 0, result.output
    assert (tmp_path / "acme").stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "ca").exists()
