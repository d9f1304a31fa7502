"""The MQTT broker, run for real: Eclipse Mosquitto (Debian's `mosquitto` package, installed by
tests/tools/install-docker.sh) with the emitted `mosquitto.conf` and the password file that the
shipped `mqtt-password-file.sh` writes from a password file, as the Compose step does.

The emitted configuration names the image's directories (/mosquitto/...) and port 1883; the test
moves them under a temporary directory and onto a free port, and changes nothing else. As root
it runs the script as root handing the files to an unprivileged user (Compose's step) and the
broker as that user; otherwise both as the current user (Kubernetes' init container and pod).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec

from .support.validators import missing_tool

# Runs the real broker and its clients; skipped with a reason when they are absent.
pytestmark = pytest.mark.external

PASSWORD = "s3cr:et with spaces/and$dollar"
NOBODY = 65534


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        missing_tool(
            f"{name} is not installed (Debian: apt-get install mosquitto mosquitto-clients)"
        )
    assert found is not None
    return found


def emitted(target: str = "compose") -> dict[str, str]:
    spec = StackSpec.model_validate(
        {"name": "plant", "architecture": "basic", "accept_eula": True, "mqtt": {}}
    )
    return render(prepare(spec), (target,))[target].files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Broker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.as_nobody = os.getuid() == 0
        files = emitted()
        self.config = root / "mosquitto" / "config" / "mosquitto.conf"
        self.config.parent.mkdir(parents=True)
        text = files["mqtt/mosquitto.conf"]
        assert "listener 1883\n" in text and "allow_anonymous false\n" in text
        text = text.replace("/mosquitto/", f"{root}/mosquitto/")
        self.config.write_text(text.replace("listener 1883", f"listener {self.port} 127.0.0.1"))
        self.script = root / "mqtt-password-file.sh"
        self.script.write_text(files["scripts/mqtt-password-file.sh"])
        self.compose = yaml.safe_load(files["compose.yaml"])
        data = root / "mosquitto" / "data"
        data.mkdir()
        if self.as_nobody:
            os.chown(data, NOBODY, NOBODY)
            # The temporary directory is the test's own; the broker's user must pass through it.
            for parent in (root, *root.parents):
                if parent == Path(parent.anchor):
                    break
                parent.chmod(parent.stat().st_mode | 0o001)
        self.process: subprocess.Popen[str] | None = None

    def write_password_file(self, password: str) -> subprocess.CompletedProcess[str]:
        source = self.root / "secret"
        source.write_text(password + "\n")
        source.chmod(0o600)
        step = self.compose["services"]["mqtt-password-file"]["environment"]
        environment = {
            **os.environ,
            **{
                name: value.replace("/mosquitto/", f"{self.root}/mosquitto/")
                for name, value in step.items()
            },
            "MQTT_PASSWORD_SOURCE": str(source),
            "PATH": f"{Path(tool('mosquitto_passwd')).parent}:{os.environ['PATH']}",
        }
        if not self.as_nobody:
            environment.pop("MQTT_PASSWORD_OWNER")
        else:
            environment["MQTT_PASSWORD_OWNER"] = f"{NOBODY}:{NOBODY}"
        return subprocess.run(
            ["sh", str(self.script)], env=environment, capture_output=True, text=True, check=False
        )

    def start(self) -> None:
        command = [tool("mosquitto"), "-c", str(self.config)]
        if self.as_nobody:
            command = [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                *command,
            ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"the broker did not listen within 10 s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def log(self) -> str:
        if self.process is None or self.process.poll() is None:
            return ""
        assert self.process.stdout is not None
        return self.process.stdout.read()

    def client(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool(program), "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    tool("mosquitto")
    tool("mosquitto_pub")
    running = Broker(tmp_path)
    yield running
    running.stop()


def test_the_password_file_holds_a_hash_never_the_password(broker: Broker) -> None:
    written = broker.write_password_file(PASSWORD)
    assert written.returncode == 0, written.stderr
    password_file = broker.root / "mosquitto" / "auth" / "password_file"
    text = password_file.read_text()
    assert text.startswith("ignition:$7$") and PASSWORD not in text
    assert password_file.stat().st_mode & 0o777 == 0o400
    client_copy = broker.root / "mosquitto" / "auth" / "client-password"
    assert client_copy.read_text() == PASSWORD + "\n"
    assert client_copy.stat().st_mode & 0o777 == 0o400
    if broker.as_nobody:
        assert password_file.stat().st_uid == NOBODY
    # Only the two files: no staged copy of the plain password is left behind.
    assert sorted(path.name for path in password_file.parent.iterdir()) == [
        "client-password",
        "password_file",
    ]


@pytest.mark.parametrize("password", ["", "two\nlines"])
def test_the_script_refuses_an_empty_or_multi_line_password(broker: Broker, password: str) -> None:
    written = broker.write_password_file(password)
    assert written.returncode != 0
    assert "mqtt-password-file:" in written.stderr
    assert not (broker.root / "mosquitto" / "auth" / "password_file").exists()


def test_only_the_configured_user_with_its_password_gets_in(broker: Broker) -> None:
    assert broker.write_password_file(PASSWORD).returncode == 0
    broker.start()
    good = ("-u", "ignition", "-P", PASSWORD)
    published = broker.client(
        "mosquitto_pub", *good, "-t", "plant/tag", "-m", "42", "-q", "1", "-r"
    )
    assert published.returncode == 0, published.stderr
    received = broker.client("mosquitto_sub", *good, "-t", "plant/tag", "-C", "1", "-W", "5")
    assert (received.returncode, received.stdout) == (0, "42\n"), received.stderr
    wrong = broker.client(
        "mosquitto_pub", "-u", "ignition", "-P", "wrong", "-t", "x", "-n", "-q", "1"
    )
    assert wrong.returncode != 0 and "not authori" in wrong.stderr.lower(), wrong.stderr
    anonymous = broker.client("mosquitto_pub", "-t", "x", "-n", "-q", "1")
    assert anonymous.returncode != 0 and "not authori" in anonymous.stderr.lower(), anonymous.stderr
    other_user = broker.client("mosquitto_pub", "-u", "admin", "-P", PASSWORD, "-t", "x", "-n")
    assert other_user.returncode != 0


def test_the_compose_health_check_logs_in(broker: Broker) -> None:
    assert broker.write_password_file(PASSWORD).returncode == 0
    broker.start()
    test = broker.compose["services"]["mqtt"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    # What the shell in the container runs: Compose turns `$$` into `$`.
    command = (
        test[1]
        .replace("$$", "$")
        .replace("/mosquitto/", f"{broker.root}/mosquitto/")
        .replace("-p 1883", f"-p {broker.port}")
        .replace("mosquitto_pub", tool("mosquitto_pub"), 1)
    )
    assert subprocess.run(["sh", "-c", command], capture_output=True, check=False).returncode == 0
    broker.write_password_file("changed")  # the broker still has the old one: unhealthy
    assert subprocess.run(["sh", "-c", command], capture_output=True, check=False).returncode != 0


def test_retained_messages_survive_a_restart(broker: Broker) -> None:
    """persistence_location is the data volume: what the broker keeps outlives its container."""
    assert broker.write_password_file(PASSWORD).returncode == 0
    broker.start()
    good = ("-u", "ignition", "-P", PASSWORD)
    assert (
        broker.client("mosquitto_pub", *good, "-t", "kept", "-m", "v", "-q", "1", "-r").returncode
        == 0
    )
    broker.stop()
    assert (broker.root / "mosquitto" / "data" / "mosquitto.db").is_file(), broker.log()
    broker.start()
    received = broker.client("mosquitto_sub", *good, "-t", "kept", "-C", "1", "-W", "5")
    assert received.stdout == "v\n", received.stderr


def test_the_kubernetes_readiness_probe_logs_in_with_the_secret(broker: Broker) -> None:
    assert broker.write_password_file(PASSWORD).returncode == 0
    broker.start()
    objects = {
        path: yaml.safe_load(text)
        for path, text in emitted("kubernetes").items()
        if path.endswith(".yaml")
    }
    statefulset = objects["apps_v1_statefulset_mqtt.yaml"]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    command = container["readinessProbe"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    secret = broker.root / "secret-volume"
    secret.mkdir()
    (secret / "password").write_text(PASSWORD)  # a Secret's key, as the kubelet mounts it
    shell = (
        command[2]
        .replace("/run/secrets/mqtt", str(secret))
        .replace("-p 1883", f"-p {broker.port}")
        .replace("mosquitto_pub", tool("mosquitto_pub"), 1)
    )
    assert subprocess.run(["sh", "-c", shell], capture_output=True, check=False).returncode == 0
    (secret / "password").write_text("another")
    assert subprocess.run(["sh", "-c", shell], capture_output=True, check=False).returncode != 0
