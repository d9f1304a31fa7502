"""The findings of static scanners that ignition-stack's Kubernetes output keeps on purpose.

One list per scanner, mirrored in docs/security.md ("Reasoned scanner exceptions"): a finding of
kube-score or trivy on a golden tree that is not listed here fails the suite, and so does an
entry here that no golden tree triggers any more (a stale exception hides nothing, but misleads).
"""

from __future__ import annotations

from dataclasses import dataclass

KUBE_SCORE_VERSION = "v1.20.0"  # keep equal to KUBE_SCORE_VERSION in tests/tools/install.sh
TRIVY_VERSION = "v0.74.0"  # keep equal to TRIVY_VERSION in tests/tools/install.sh


@dataclass(frozen=True)
class ScannerException:
    check: str  # the scanner's check id
    kind: str  # the kind of object it may fire on
    reason: str


KUBE_SCORE_EXCEPTIONS = (
    ScannerException(
        "container-security-context-user-group-id",
        "StatefulSet",
        "uid/gid 2003: the user the official image is built for and owns its files",
    ),
    ScannerException(
        "container-security-context-readonlyrootfilesystem",
        "StatefulSet",
        "the gateway writes logs and temporary files outside its data volume",
    ),
    ScannerException(
        "container-image-pull-policy",
        "StatefulSet",
        "the image is pinned to a tag or digest: Always would only add a registry round trip to "
        "every restart, and break restarts in an air-gapped plant",
    ),
    ScannerException(
        "pod-probes",
        "StatefulSet",
        "readiness only, on purpose: a liveness probe would restart a gateway that is slow to "
        "answer while it syncs from its master or restores a backup",
    ),
    ScannerException(
        "service-targets-pod",
        "Service",
        "a pair node's Service selects its pod by statefulset.kubernetes.io/pod-name, a label the "
        "StatefulSet controller adds, and a pair's -active Service by ignition-stack.io/active, "
        "which the pair's markers set at run time: kube-score sees neither in the pod template",
    ),
    ScannerException(
        "statefulset-has-host-podantiaffinity",
        "StatefulSet",
        "replicated tiers spread over nodes with topologySpreadConstraints (maxSkew 1), which "
        "scales to many pods where inter-pod anti-affinity does not; pairs do have anti-affinity",
    ),
)


def kube_score_allowed(check: str, kind: str) -> bool:
    return any(e.check == check and e.kind == kind for e in KUBE_SCORE_EXCEPTIONS)


_UID = "uid/gid 2003: the user the official image is built for and owns its files"
TRIVY_EXCEPTIONS = (
    ScannerException(
        "KSV-0014",
        "StatefulSet",
        "the gateway writes logs and temporary files outside its data volume",
    ),
    ScannerException("KSV-0020", "StatefulSet", _UID),
    ScannerException("KSV-0021", "StatefulSet", _UID),
    ScannerException(
        "KSV-0110",
        "StatefulSet",
        "the base leaves metadata.namespace to kustomize (the kustomization's namespace:), so one "
        "base serves every environment; the rendered overlay has it",
    ),
    ScannerException(
        "KSV-0125",
        "StatefulSet",
        "the official Ignition image is published on Docker Hub, which trivy's built-in list of "
        "trusted registries leaves out; `image:` in stack.yaml points the gateways at a mirror",
    ),
    ScannerException(
        "KSV-01010",
        "ConfigMap",
        "the word 'key' in redundancy.xml's <entry key=...> elements and in the scripts' shell "
        "variables, and the MQTT broker's password_file path and script; no ConfigMap holds a "
        "secret",
    ),
    ScannerException(
        "KSV-0048",
        "Role",
        "a pair's markers label the active pod: `patch` on pods, which the Role limits by "
        "resourceNames to the pair's two pods (trivy does not read resourceNames)",
    ),
    ScannerException(
        "KSV-0109",
        "ConfigMap",
        "keytool's -storepass:env NAME passes a keystore password by reference to an environment "
        "variable filled from a Secret at run time; the MQTT broker's script reads its password "
        "from the mounted Secret at run time, and password_file is a path",
    ),
)


def trivy_allowed(check: str, kind: str) -> bool:
    return any(e.check == check and e.kind == kind for e in TRIVY_EXCEPTIONS)
