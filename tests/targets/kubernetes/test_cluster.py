"""What the Kubernetes target emits, applied to a real API server with real controllers.

The control plane is ``tests/engines/kubernetes.py``'s (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, and kwok for the kubelets of two fake nodes). Each
test gets its own namespace, Pod Security ``restricted`` enforced and warned.

* Every golden tree and every scaffolded overlay applies server-side with no warning and no
  refusal, its pods are admitted and scheduled, and re-applying it changes nothing.
* ``emit --check``'s immutable-field notes (``drift.drift_notes``) agree with the API server
  about which StatefulSet changes it refuses.
* A redundant pair rolls one member at a time, backup first: the master and the backup are
  never both down once the pair was Ready.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from emitter import image
from emitter.pipeline import prepare, render
from emitter.spec import load_stack_file
from emitter.targets.kubernetes import drift

from ...conftest import GOLDEN, Result
from ...engines.kubernetes import Kubectl, prepare_namespace
from ...support.cases import CASES
from ...support.validators import kustomize_build

pytestmark = pytest.mark.engine

KUSTOMIZATION = "kustomization.yaml"
PAIR_LABEL = "ignition-stack.io/pair"
REDUNDANCY_LABEL = "ignition-stack.io/redundancy"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
RELOAD_ANNOTATION = "secret.reloader.stakater.com/reload"
TIMEOUT = 240.0  # generous: a loaded 2-core machine slows every controller

GOLDEN_TREES = list(CASES)
NewNamespace = Callable[..., str]
Cli = Callable[..., Result]


# --- trees --------------------------------------------------------------------------------


def write_tree(files: Mapping[str, str], directory: Path, namespace: str) -> Path:
    """Write an emitted tree to ``directory``, its kustomization retargeted to ``namespace`` (a
    golden tree names the stack's namespace; each test applies into its own)."""
    if directory.exists():
        shutil.rmtree(directory)
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    kustomization = directory / KUSTOMIZATION
    document = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    document["namespace"] = namespace
    kustomization.write_text(yaml.safe_dump(document), encoding="utf-8")
    return directory


def golden_files(case: str) -> dict[str, str]:
    root = GOLDEN / case / "expected" / "kubernetes"
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def emitted_files(stack_file: Path, **changes: Any) -> dict[str, str]:
    """The Kubernetes tree the tool emits for ``stack_file`` with top-level keys changed."""
    document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) | changes
    changed = stack_file.parent / "changed-stack.yaml"
    changed.write_text(yaml.safe_dump(document), encoding="utf-8")
    resolved = prepare(load_stack_file(changed))
    return dict(render(resolved, ("kubernetes",))["kubernetes"].files)


def stack_beside(tree: Path) -> Path:
    """The stack file a rollout test copied next to the tree it emitted."""
    return tree.parent / "stack.yaml"


def built_objects(directory: Path) -> list[dict[str, Any]]:
    return [item for item in yaml.safe_load_all(kustomize_build(directory)) if item]


def stateful_sets(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in objects if item["kind"] == "StatefulSet"]


# --- applying -----------------------------------------------------------------------------


def apply_tree(kubectl: Kubectl, directory: Path) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", "--server-side", "--kustomize", str(directory), check=False)


def reapply(kubectl: Kubectl, directory: Path) -> None:
    run = apply_tree(kubectl, directory)
    assert run.returncode == 0, f"the API server refused the changed {directory}:\n{run.stderr}"


def apply_cleanly(kubectl: Kubectl, directory: Path, namespace: str) -> list[dict[str, Any]]:
    """Apply a tree as its user would (Secrets created first); fail on any refusal or warning."""
    objects = built_objects(directory)
    prepare_namespace(kubectl, namespace, objects)
    run = apply_tree(kubectl, directory)
    assert run.returncode == 0, f"the API server refused {directory}:\n{run.stderr}"
    assert run.stderr == "", f"applying {directory} printed warnings:\n{run.stderr}"
    return objects


def pods(kubectl: Kubectl, namespace: str, *selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kubectl.json("get", "pods", *selector, namespace=namespace)[
        "items"
    ]
    return items


def owner(pod: dict[str, Any]) -> str | None:
    for reference in pod["metadata"].get("ownerReferences") or []:
        if reference["kind"] == "StatefulSet":
            name: str = reference["name"]
            return name
    return None


# Warnings about the cluster's own timing, never about the objects applied:
# * the scheduler may try a pod before the volume controller has bound its claim (to the
#   volume made for it in advance); it retries once the claim is bound;
# * on a loaded machine it may even try the pod before its informer has seen the claim the
#   StatefulSet controller created just before the pod ("could not find"); it retries too;
# * the API server's Service IP repair loop can run between a Service's IP allocation and the
#   Service's write and report the IP as not allocated (kubernetes/kubernetes#37488).
CLAIM_NOT_YET_BOUND = "pod has unbound immediate PersistentVolumeClaims"
CLAIM_NOT_YET_SEEN = "could not find v1.PersistentVolumeClaim"
IP_REPAIR_RACE = "ClusterIPNotAllocated"


def warnings(kubectl: Kubectl, namespace: str) -> list[str]:
    """Every Warning event in ``namespace`` but the cluster's own transient ones (above)."""
    events = kubectl.json("get", "events", "--field-selector", "type=Warning", namespace=namespace)
    return [
        f"{event['involvedObject']['kind']}/{event['involvedObject']['name']}: "
        f"{event['reason']}: {event['message']}"
        for event in events["items"]
        if not (
            event["reason"] == "FailedScheduling"
            and any(text in event["message"] for text in (CLAIM_NOT_YET_BOUND, CLAIM_NOT_YET_SEEN))
        )
        and event["reason"] != IP_REPAIR_RACE
    ]


def wait_scheduled(kubectl: Kubectl, namespace: str, objects: list[dict[str, Any]]) -> None:
    """Wait until every StatefulSet's first pod exists and is on a node: Pod Security admitted
    it (the API refuses a non-compliant pod), its claim bound and the scheduler placed it."""
    wanted = {item["metadata"]["name"] for item in stateful_sets(objects)}
    deadline = time.monotonic() + TIMEOUT
    while True:
        placed = {owner(pod) for pod in pods(kubectl, namespace) if pod["spec"].get("nodeName")}
        if wanted <= placed:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"no scheduled pod for {sorted(wanted - placed)} after {TIMEOUT:.0f}s; "
                "warnings:\n" + "\n".join(warnings(kubectl, namespace)),
                pytrace=False,
            )
        time.sleep(0.5)


def check_applies_cleanly(kubectl: Kubectl, directory: Path, namespace: str) -> None:
    objects = apply_cleanly(kubectl, directory, namespace)
    wait_scheduled(kubectl, namespace, objects)
    assert warnings(kubectl, namespace) == []
    # The API server keeps what was applied: a second apply (a GitOps sync) changes nothing.
    # `kubectl diff` reads the live object and the dry-run result one after the other, so a
    # controller's status update in between shows as a difference: a real one shows every time.
    for _ in range(3):
        diff = kubectl("diff", "--server-side", "--kustomize", str(directory), check=False)
        if diff.returncode == 0:
            break
        time.sleep(2)
    assert diff.returncode == 0, (
        f"re-applying {directory} would change:\n{diff.stdout}{diff.stderr}"
    )


# --- a: every tree applies cleanly ---------------------------------------------------------


@pytest.mark.parametrize("case", GOLDEN_TREES)
def test_golden_tree_applies_cleanly(
    case: str, kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    namespace = new_namespace()
    tree = write_tree(golden_files(case), tmp_path / "kubernetes", namespace)
    check_applies_cleanly(kubectl, tree, namespace)


def test_a_tree_that_breaks_pod_security_is_caught(
    kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    namespace = new_namespace()
    files = golden_files("basic")
    path = next(path for path in files if "_statefulset_" in path)
    document = yaml.safe_load(files[path])
    del document["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]
    files[path] = yaml.safe_dump(document)
    tree = write_tree(files, tmp_path / "kubernetes", namespace)
    with pytest.raises(AssertionError, match='would violate PodSecurity "restricted:latest"'):
        check_applies_cleanly(kubectl, tree, namespace)


# Stack names double as namespaces (production) and their prefix (dev): one per shape.
SHAPES = {
    "basic": ("--arch", "basic", "--redundant", "none"),
    "scale-out-redundant": ("--arch", "scale-out", "--redundant", "backend", "--frontends", "2"),
    "hub-and-spoke-redundant-ssl": (
        "--arch",
        "hub-and-spoke",
        "--redundant",
        "hub",
        "--spokes",
        "2",
        "--transport",
        "ssl",
    ),
}


@pytest.mark.parametrize("environment", ["dev", "production"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_scaffolded_overlay_applies_cleanly(
    shape: str,
    environment: str,
    cli: Cli,
    kubectl: Kubectl,
    new_namespace: NewNamespace,
    tmp_path: Path,
) -> None:
    name = f"overlay-{shape}"
    created = cli("create", name, *SHAPES[shape], "--target", "all", "-o", str(tmp_path))
    assert created.exit_code == 0, created.stderr
    overlay = tmp_path / name / "overlays" / "kubernetes" / environment
    namespace = yaml.safe_load((overlay / KUSTOMIZATION).read_text(encoding="utf-8"))["namespace"]
    new_namespace(name=namespace)
    check_applies_cleanly(kubectl, overlay, namespace)


# --- b: emit --check's immutable-field notes agree with the API server --------------------


def _selector(spec: dict[str, Any]) -> None:
    labels = spec["template"]["metadata"]["labels"]
    extra = next(key for key in sorted(labels) if key not in spec["selector"]["matchLabels"])
    spec["selector"]["matchLabels"][extra] = labels[extra]  # still selects its own pods


def _service_name(spec: dict[str, Any]) -> None:
    spec["serviceName"] += "-renamed"


def _claim_size(spec: dict[str, Any]) -> None:
    spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "7Gi"


def _images(spec: dict[str, Any]) -> list[str]:
    return [container["image"] for container in spec["template"]["spec"]["containers"]]


def _environments(spec: dict[str, Any]) -> list[Any]:
    return [container.get("env") for container in spec["template"]["spec"]["containers"]]


def _image(spec: dict[str, Any]) -> None:
    for container in spec["template"]["spec"]["containers"]:
        container["image"] += "-revised"


def _replicas(spec: dict[str, Any]) -> None:
    spec["replicas"] = spec.get("replicas", 1) + 1


def _environment(spec: dict[str, Any]) -> None:
    spec["template"]["spec"]["containers"][0].setdefault("env", []).append(
        {"name": "IGNITION_STACK_TEST", "value": "1"}
    )


# An accepted change: the mutation, and what of the live spec must then equal the mutated one.
ACCEPTED: dict[str, tuple[Callable[[dict[str, Any]], None], Callable[[dict[str, Any]], Any]]] = {
    "template-image": (_image, _images),
    "replicas": (_replicas, lambda spec: spec["replicas"]),
    "template-env": (_environment, _environments),
}
# A refused change: the spec field it changes, and the mutation.
REFUSED_CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "selector": _selector,
    "serviceName": _service_name,
    "volumeClaimTemplates": _claim_size,
}
REFUSED = "Forbidden: updates to statefulset spec for fields other than"
DRIFT_CASE = "hub-and-spoke-redundant"


def apply_changed_stateful_set(
    kubectl: Kubectl,
    namespace: str,
    tree: Path,
    mutate: Callable[[dict[str, Any]], None],
) -> tuple[list[str], subprocess.CompletedProcess[str], dict[str, Any]]:
    """Apply ``tree``, then change its first StatefulSet in the files and apply it again, as a
    re-emitted tree would be: ``emit --check``'s notes for the change, the second apply, and
    the changed StatefulSet."""
    apply_cleanly(kubectl, tree, namespace)
    path = next(path for path in sorted(tree.glob("*.yaml")) if "_statefulset_" in path.name)
    before = path.read_text(encoding="utf-8")
    document = yaml.safe_load(before)
    mutate(document["spec"])
    after = yaml.safe_dump(document)
    path.write_text(after, encoding="utf-8")
    return drift.drift_notes(path.name, before, after), apply_tree(kubectl, tree), document


@pytest.mark.parametrize("field", REFUSED_CHANGES)
def test_a_change_emit_check_calls_out_is_refused(
    field: str, kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    namespace = new_namespace()
    tree = write_tree(golden_files(DRIFT_CASE), tmp_path / "kubernetes", namespace)
    notes, run, _ = apply_changed_stateful_set(kubectl, namespace, tree, REFUSED_CHANGES[field])
    assert run.returncode != 0, f"the API server accepted a changed spec.{field}"
    assert REFUSED in run.stderr, run.stderr
    assert len(notes) == 1, notes
    assert f"changes spec.{field} of StatefulSet" in notes[0], notes


@pytest.mark.parametrize("change", ACCEPTED)
def test_a_change_emit_check_does_not_call_out_is_applied_in_place(
    change: str, kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    mutate, probe = ACCEPTED[change]
    namespace = new_namespace()
    tree = write_tree(golden_files(DRIFT_CASE), tmp_path / "kubernetes", namespace)
    notes, run, changed = apply_changed_stateful_set(kubectl, namespace, tree, mutate)
    assert notes == []
    assert run.returncode == 0, run.stderr
    live = kubectl.json("get", "statefulset", changed["metadata"]["name"], namespace=namespace)
    assert probe(live["spec"]) == probe(changed["spec"])


# --- c: a redundant pair rolls one member at a time, backup first --------------------------


@dataclass(frozen=True)
class PodView:
    name: str
    uid: str
    backup: bool
    ready: bool
    terminating: bool

    @property
    def up(self) -> bool:
        return self.ready and not self.terminating

    def describe(self) -> str:
        role = "backup" if self.backup else "master"
        state = "Ready" if self.ready else "not Ready"
        return f"{self.name} ({role}, {state}{', terminating' if self.terminating else ''})"


def pod_view(pod: dict[str, Any]) -> PodView:
    """A pair member as the watch sees it. The backup is the pod labelled
    ``ignition-stack.io/redundancy=backup`` (a StatefulSet per member) or ordinal 1 of the
    pair's StatefulSet (one StatefulSet of two replicas per pair)."""
    metadata = pod["metadata"]
    labels = metadata.get("labels") or {}
    ordinal = labels.get(POD_INDEX_LABEL, metadata["name"].rpartition("-")[2])
    backup = labels.get(REDUNDANCY_LABEL) == "backup" or (
        owner(pod) is not None and PAIR_LABEL in labels and ordinal == "1"
    )
    conditions = (pod.get("status") or {}).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return PodView(
        metadata["name"], metadata["uid"], backup, ready, "deletionTimestamp" in metadata
    )


@dataclass(frozen=True)
class Moment:
    seconds: float
    event: str
    pod: PodView
    pair: tuple[PodView, ...]  # the pair's pods after the event

    def up(self, backup: bool) -> bool:
        return any(pod.up for pod in self.pair if pod.backup == backup)

    def describe(self) -> str:
        members = ", ".join(pod.describe() for pod in self.pair) or "no pods"
        return f"{self.seconds:7.2f}s {self.event:8} {self.pod.name}: {members}"


class PairWatch:
    """``kubectl get pods --watch`` on one pair: every event, with the pair's state after it."""

    def __init__(self, kubectl: Kubectl, namespace: str, role: str) -> None:
        self.moments: list[Moment] = []
        self._pods: dict[str, PodView] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        argv = kubectl.argv(
            "get",
            "pods",
            "--watch",
            "--output-watch-events",
            "--output",
            "json",
            "--selector",
            f"{PAIR_LABEL}={role}",
            namespace=namespace,
        )
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> PairWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(10)
        assert self._process.stderr is not None
        self._process.stderr.close()

    def _read(self) -> None:
        # kubectl writes one JSON document per event (compact with --output-watch-events;
        # decoding from a buffer does not depend on how it lays them out).
        assert self._process.stdout is not None
        decoder = json.JSONDecoder()
        buffer = ""
        for line in self._process.stdout:
            buffer += line
            while buffer.strip():
                try:
                    event, end = decoder.raw_decode(buffer.lstrip())
                except json.JSONDecodeError:
                    break  # incomplete: read on
                self._record(event)
                buffer = buffer.lstrip()[end:]
        self._process.stdout.close()

    def _record(self, event: dict[str, Any]) -> None:
        pod = pod_view(event["object"])
        with self._lock:
            if event["type"] == "DELETED":
                self._pods.pop(pod.name, None)
            else:
                self._pods[pod.name] = pod
            pair = tuple(self._pods[name] for name in sorted(self._pods))
            self.moments.append(Moment(time.monotonic() - self._started, event["type"], pod, pair))

    def now(self) -> int:
        with self._lock:
            return len(self.moments)

    def wait_until(self, condition: Callable[[Moment], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with self._lock:
                if self.moments and condition(self.moments[-1]):
                    return
            time.sleep(0.2)
        pytest.fail(f"{what}: not seen within {TIMEOUT:.0f}s\n{self.timeline(0)}", pytrace=False)

    def timeline(self, start: int) -> str:
        with self._lock:
            return "\n".join(moment.describe() for moment in self.moments[start:])


def pair_up(moment: Moment) -> bool:
    return moment.up(backup=False) and moment.up(backup=True)


def rollout_status(kubectl: Kubectl, namespace: str, names: list[str]) -> None:
    for name in names:
        run = kubectl(
            "rollout",
            "status",
            f"statefulset/{name}",
            f"--timeout={TIMEOUT:.0f}s",
            namespace=namespace,
            timeout=TIMEOUT + 10,
            check=False,
        )
        if run.returncode != 0:
            pods = kubectl("get", "pods", "-o", "wide", namespace=namespace, check=False).stdout
            status = kubectl(
                "get", "statefulset", name, "-o", "jsonpath={.status}", namespace=namespace,
                check=False,
            ).stdout  # fmt: skip
            events = kubectl(
                "get", "events", "--sort-by=.lastTimestamp", namespace=namespace, check=False
            ).stdout
            pytest.fail(
                f"statefulset/{name} did not finish rolling out: {run.stderr}\n{status}\n"
                f"{pods}\n{events[-4000:]}",
                pytrace=False,
            )


def pair_of(objects: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The pair's role and the StatefulSets that run it."""
    members = {
        item["metadata"]["name"]: item["spec"]["template"]["metadata"]["labels"][PAIR_LABEL]
        for item in stateful_sets(objects)
        if PAIR_LABEL in item["spec"]["template"]["metadata"]["labels"]
    }
    roles = set(members.values())
    assert len(roles) == 1, f"expected one redundant pair, found {sorted(roles)}"
    return roles.pop(), sorted(members)


@dataclass(frozen=True)
class Rollout:
    """Applies one change to a running tree."""

    case: str
    change: Callable[[Kubectl, Path, str, pytest.MonkeyPatch], None]


def _new_image(kubectl: Kubectl, tree: Path, namespace: str, _: pytest.MonkeyPatch) -> None:
    files = emitted_files(stack_beside(tree), image="inductiveautomation/ignition:8.3.7")
    write_tree(files, tree, namespace)
    reapply(kubectl, tree)


def _new_scripts(kubectl: Kubectl, tree: Path, namespace: str, patch: pytest.MonkeyPatch) -> None:
    # A revised health script: its ConfigMap and every pod template's checksum change.
    original = image.script
    patch.setattr(image, "script", lambda name: original(name) + "\n# revised\n")
    write_tree(emitted_files(stack_beside(tree)), tree, namespace)
    reapply(kubectl, tree)


def _renewed_certificates(
    kubectl: Kubectl, _: Path, namespace: str, __: pytest.MonkeyPatch
) -> None:
    # cert-manager renews the pair's certificates together (issued together, same duration);
    # Reloader then changes the pod template of every workload whose reload annotation names a
    # renewed Secret, as its "annotations" strategy does.
    workloads = kubectl.json("get", "statefulsets", namespace=namespace)["items"]
    renewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    reloaded = [
        item for item in workloads if RELOAD_ANNOTATION in item["metadata"].get("annotations", {})
    ]
    assert reloaded, f"no StatefulSet names its certificate Secret in {RELOAD_ANNOTATION}"
    for workload in reloaded:
        secret = workload["metadata"]["annotations"][RELOAD_ANNOTATION]
        annotation = json.dumps({"kind": "Secret", "name": secret, "time": renewed})
        patch = {
            "spec": {
                "template": {
                    "metadata": {
                        "annotations": {"reloader.stakater.com/last-reloaded-from": annotation}
                    }
                }
            }
        }
        kubectl(
            "patch",
            "statefulset",
            workload["metadata"]["name"],
            "--type=merge",
            f"--patch={json.dumps(patch)}",
            namespace=namespace,
        )


ROLLOUTS = {
    "hub-image": Rollout("hub-and-spoke-redundant", _new_image),
    "hub-scripts": Rollout("hub-and-spoke-redundant", _new_scripts),
    "hub-ssl-certificate-renewal": Rollout("hub-and-spoke-redundant-ssl", _renewed_certificates),
    "backend-image": Rollout("scale-out-redundant", _new_image),
}


@pytest.mark.parametrize("rollout", ROLLOUTS)
def test_pair_rolls_one_member_at_a_time_backup_first(
    rollout: str,
    kubectl: Kubectl,
    new_namespace: NewNamespace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case, change = ROLLOUTS[rollout].case, ROLLOUTS[rollout].change
    namespace = new_namespace()
    shutil.copyfile(GOLDEN / case / "stack.yaml", tmp_path / "stack.yaml")
    tree = write_tree(golden_files(case), tmp_path / "kubernetes", namespace)
    objects = apply_cleanly(kubectl, tree, namespace)
    role, members = pair_of(objects)
    rollout_status(kubectl, namespace, members)
    with PairWatch(kubectl, namespace, role) as watch:
        watch.wait_until(pair_up, f"the {role} pair Ready")
        start = watch.now()
        before = {pod.uid for pod in watch.moments[-1].pair}
        change(kubectl, tree, namespace, monkeypatch)
        rollout_status(kubectl, namespace, members)
        watch.wait_until(
            lambda moment: pair_up(moment) and not before & {pod.uid for pod in moment.pair},
            f"both members of the {role} pair replaced and Ready",
        )
    history = f"pods of pair {role!r} after the change:\n{watch.timeline(start)}"
    both_down = [
        moment
        for moment in watch.moments[start:]
        if not moment.up(backup=False) and not moment.up(backup=True)
    ]
    assert not both_down, (
        f"master and backup of {role!r} were down at the same time "
        f"(first at {both_down[0].seconds:.2f}s)\n{history}"
    )
    first_replaced = next(
        moment.pod
        for moment in watch.moments[start:]
        if moment.pod.uid in before and (moment.pod.terminating or moment.event == "DELETED")
    )
    assert first_replaced.backup, (
        f"{first_replaced.name}, the master, was replaced first\n{history}"
    )


def _evict(kubectl: Kubectl, namespace: str, pod: str) -> subprocess.CompletedProcess[str]:
    """Ask the Eviction API to evict ``pod``, as `kubectl drain` does for every pod of a node."""
    body = json.dumps(
        {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
        }
    )
    return kubectl(
        "create",
        "--raw",
        f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction",
        "-f",
        "-",
        stdin=body,
        check=False,
    )


def _disruptions_allowed(kubectl: Kubectl, namespace: str, budget: str) -> int:
    status = kubectl.json("get", "poddisruptionbudget", budget, namespace=namespace)["status"]
    return int(status.get("disruptionsAllowed", 0))


def test_a_drain_takes_one_node_of_the_pair_at_a_time(
    kubectl: Kubectl, new_namespace: NewNamespace, tmp_path: Path
) -> None:
    """The pair's PodDisruptionBudget lets a drain evict either node once the other is ready,
    and never both at once: the eviction of the second is refused until the first is back."""
    namespace = new_namespace()
    tree = write_tree(golden_files("basic-redundant"), tmp_path / "kubernetes", namespace)
    objects = apply_cleanly(kubectl, tree, namespace)
    role, members = pair_of(objects)
    budget = f"{role}-pair"
    rollout_status(kubectl, namespace, members)
    deadline = time.monotonic() + TIMEOUT
    while _disruptions_allowed(kubectl, namespace, budget) < 1:
        assert time.monotonic() < deadline, f"{budget} never allowed a disruption"
        time.sleep(0.5)
    master, backup = f"{members[0]}-0", f"{members[0]}-1"
    first = _evict(kubectl, namespace, master)
    assert first.returncode == 0, first.stderr
    second = _evict(kubectl, namespace, backup)
    assert second.returncode != 0, "both nodes of the pair were evicted at once"
    assert "disruption budget" in second.stderr, second.stderr
    # Once the master is back and ready, the drain of the backup's node goes on.
    rollout_status(kubectl, namespace, members)
    deadline = time.monotonic() + TIMEOUT
    while (third := _evict(kubectl, namespace, backup)).returncode != 0:
        assert "disruption budget" in third.stderr, third.stderr
        assert time.monotonic() < deadline, f"{backup} was never evictable: {third.stderr}"
        time.sleep(0.5)
