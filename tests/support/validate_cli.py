"""Manifests, compose files and a runner shared by the ``ignition-stack validate`` tests.

The CLI runs through its real entry point (``python -m emitter``) in a subprocess, where output
and exit codes matter; tests that need to swap a tool out use the in-process ``cli`` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from emitter.targets.kubernetes.validation import schemas

STATEFULSET = textwrap.dedent(
    """\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: backend
      labels:
        app.kubernetes.io/name: backend
    spec:
      replicas: 1
      serviceName: backend
      selector:
        matchLabels:
          app.kubernetes.io/name: backend
      template:
        metadata:
          labels:
            app.kubernetes.io/name: backend
        spec:
          securityContext:
            runAsNonRoot: true
            runAsUser: 2003
            fsGroup: 2003
          containers:
            - name: gateway
              image: inductiveautomation/ignition:8.3.6
              ports:
                - name: http
                  containerPort: 8088
              readinessProbe:
                httpGet:
                  path: /StatusPing
                  port: http
              volumeMounts:
                - name: data
                  mountPath: /usr/local/bin/ignition/data
      volumeClaimTemplates:
        - metadata:
            name: data
          spec:
            accessModes: [ReadWriteOnce]
            resources:
              requests:
                storage: 3Gi
    """
)
SERVICE = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Service
    metadata:
      name: backend
    spec:
      clusterIP: None
      selector:
        app.kubernetes.io/name: backend
      ports:
        - name: http
          port: 8088
          targetPort: http
    """
)
UNKNOWN_FIELD = STATEFULSET.replace(
    "      containers:\n        - name: gateway\n",
    "      containers:\n        - name: gateway\n          bogusField: true\n",
)
WRONG_TYPE = STATEFULSET.replace("replicas: 1", "replicas: three")
CERTIFICATE = textwrap.dedent(
    """\
    apiVersion: cert-manager.io/v1
    kind: Certificate
    metadata:
      name: backend-tls
    spec:
      secretName: backend-tls
      issuerRef:
        name: stack-ca
        kind: Issuer
    """
)
REMOVED_API = textwrap.dedent(
    """\
    apiVersion: policy/v1beta1
    kind: PodDisruptionBudget
    metadata:
      name: backend
    spec:
      maxUnavailable: 1
    """
)
COMPOSE = textwrap.dedent(
    """\
    name: demo
    services:
      gateway:
        image: inductiveautomation/ignition:8.3.6
        ports:
          - "9088:8088"
        volumes:
          - gateway-data:/usr/local/bin/ignition/data
    volumes:
      gateway-data: {}
    """
)
INVALID_COMPOSE = COMPOSE.replace("    ports:\n", "    restart_policy: always\n    ports:\n")
BROKEN_YAML = "apiVersion: v1\nkind: Service\n  metadata: {}\nspec: {}\n"
DUPLICATE_KEY = SERVICE.replace("  clusterIP: None\n", "  clusterIP: None\n  clusterIP: 10.0.0.1\n")
KUSTOMIZATION = textwrap.dedent(
    """\
    apiVersion: kustomize.config.k8s.io/v1beta1
    kind: Kustomization
    resources:
      - apps_v1_statefulset_backend.yaml
      - v1_service_backend.yaml
    """
)

NEWEST = schemas.latest_kubernetes_version()
SINCE_1_29 = [
    version
    for version in schemas.bundled_kubernetes_versions()
    if tuple(map(int, version.split("."))) >= (1, 29)
]


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def line(self, name: str) -> str:
        """The report line of the file called ``name``."""
        for line in self.stdout.splitlines():
            if line.split(": ", 1)[0].endswith(f"/{name}") or line.startswith(f"{name}: "):
                return line
        raise AssertionError(f"no line for {name} in:\n{self.stdout}")


def validate(
    *args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Run:
    """``ignition-stack validate ARGS`` through the real entry point, in a subprocess."""
    done = subprocess.run(
        [sys.executable, "-m", "emitter", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def valid_manifests(directory: Path) -> Path:
    return write(
        directory,
        {"apps_v1_statefulset_backend.yaml": STATEFULSET, "v1_service_backend.yaml": SERVICE},
    )
