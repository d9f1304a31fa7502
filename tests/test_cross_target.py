"""Every target lowers the same IR: for any valid stack they agree on the gateways, who is
master and who is backup, which node the backup points at, and every Gateway Network link.

The targets compared are the registry's, with the suite's own registered: each is read back
through its view (``tests/targets/<name>/view.py``), so a target without one fails here.
"""

from __future__ import annotations

from hypothesis import given

from emitter.pipeline import prepare, render
from emitter.spec import StackSpec
from emitter.targets import registry
from tests.targets.registered import ALL_TARGETS, registered
from tests.targets.views import view_of

from .test_properties import SETTINGS, stacks


def views(spec: StackSpec) -> dict[str, dict[str, object]]:
    """Each registered target's view of ``spec``, by target."""
    resolved = prepare(spec)
    emissions = render(resolved, registry.names())
    return {
        name: view_of(name)(emission.files, resolved.stack) for name, emission in emissions.items()
    }


@SETTINGS
@given(stacks())
def test_every_target_agrees(spec: StackSpec) -> None:
    with registered():
        seen = views(spec)
    first, *others = seen.values()
    for name, view in seen.items():
        assert view == first, f"{name} disagrees with {registry.names()[0]}"
    pairs = prepare(spec).stack.pairs
    for master, backup in pairs:
        assert first[master.name]["pairing"][0] == "Master"  # type: ignore[index]
        assert first[backup.name]["pairing"][:2] == ("Backup", master.name)  # type: ignore[index]
    assert others, "at least two targets compared"


def test_every_registered_target_has_a_view() -> None:
    with registered():
        assert registry.names() == ALL_TARGETS
        for name in registry.names():
            assert callable(view_of(name)), name


def test_views_see_a_pair() -> None:
    """The views above are not vacuous: a redundant stack shows a paired backup in each."""
    spec = StackSpec(name="plant", architecture="scale-out", redundant="backend")  # type: ignore[arg-type]
    with registered():
        seen = views(spec)
    for view in seen.values():
        assert view["backend-backup"]["pairing"] == ("Backup", "backend", "8088", "false")
        assert view["frontend-0"]["links"] == [
            ("backend", "8088", "false"),
            ("backend-backup", "8088", "false"),
        ]
