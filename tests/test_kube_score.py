"""kube-score on every golden Kubernetes tree: every finding is one of the reasoned exceptions
of ``support/scanners.py`` (docs/security.md), and every exception is still needed."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from .conftest import GOLDEN
from .support.scanners import KUBE_SCORE_EXCEPTIONS, kube_score_allowed
from .support.validators import require_tool

KUBERNETES_TREES = sorted(path for path in GOLDEN.glob("*/expected/kubernetes") if path.is_dir())
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
ACTIVE_LABEL = "ignition-stack.io/active"
OK_GRADE = 10


@cache
def findings(tree: Path) -> tuple[tuple[str, str, str, str], ...]:
    """(check id, kind, object name, what kube-score says) of every check that is neither OK
    nor skipped."""
    manifests = sorted(
        str(path) for path in tree.glob("*.yaml") if path.name != "kustomization.yaml"
    )
    result = subprocess.run(
        [require_tool("kube-score"), "score", "--output-format", "json", *manifests],
        capture_output=True,
        text=True,
        check=False,
    )
    # kube-score exits 1 when it has critical findings: the report decides, not the status.
    if not result.stdout.strip():
        pytest.fail(f"kube-score printed no report:\n{result.stderr}", pytrace=False)
    found = []
    for scored in json.loads(result.stdout):
        for check in scored["checks"]:
            if check["skipped"] or check["grade"] >= OK_GRADE:
                continue
            said = "; ".join(
                f"{comment.get('path', '')} {comment['summary']}".strip()
                for comment in check.get("comments") or []
            )
            found.append(
                (
                    check["check"]["id"],
                    scored["type_meta"]["kind"],
                    scored["object_meta"]["name"],
                    said,
                )
            )
    return tuple(sorted(found))


@pytest.mark.external
@pytest.mark.parametrize("tree", KUBERNETES_TREES, ids=lambda path: path.parts[-3])
def test_kube_score_finds_only_the_documented_exceptions(tree: Path) -> None:
    unexpected = [
        f"{kind}/{name}: {check}: {said}"
        for check, kind, name, said in findings(tree)
        if not kube_score_allowed(check, kind)
    ]
    assert not unexpected, "kube-score findings that docs/security.md does not explain:\n" + (
        "\n".join(unexpected)
    )
    # The Service exception holds only for a pair node's Service, which selects by pod name,
    # and a pair's -active Service, which selects by the label its markers set.
    for check, _, name, _ in findings(tree):
        if check == "service-targets-pod":
            service = yaml.safe_load((tree / f"v1_service_{name}.yaml").read_text())
            selector = service["spec"]["selector"]
            assert POD_NAME_LABEL in selector or selector.get(ACTIVE_LABEL) == "true", name


@pytest.mark.external
def test_every_kube_score_exception_is_still_needed() -> None:
    seen = {(check, kind) for tree in KUBERNETES_TREES for check, kind, _, _ in findings(tree)}
    stale = [e.check for e in KUBE_SCORE_EXCEPTIONS if (e.check, e.kind) not in seen]
    assert not stale, f"no golden tree triggers these exceptions any more; drop them: {stale}"


def test_exceptions_are_documented() -> None:
    security = (Path(__file__).parents[1] / "docs" / "security.md").read_text()
    for exception in KUBE_SCORE_EXCEPTIONS:
        assert f"`{exception.check}`" in security, exception.check
