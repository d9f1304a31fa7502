"""Property tests: for any stack, output is deterministic and parses; for any input, the answer
is diagnostics, never a traceback."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emitter.architectures import ARCHITECTURES
from emitter.diagnostics import StackInvalid
from emitter.names import GATEWAY_NAME
from emitter.pipeline import prepare, render
from emitter.spec import StackSpec, dump_stack, parse_stack
from emitter.targets import registry

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def stacks(draw: st.DrawFn) -> StackSpec:
    architecture = ARCHITECTURES[draw(st.sampled_from(sorted(ARCHITECTURES)))]
    shape: dict[str, Any] = {}
    if architecture.replica_option:
        low = 1 if architecture.replica_option == "frontends" else 0
        shape[architecture.replica_option] = draw(st.integers(low, 6))
    return StackSpec(
        name=draw(st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)),
        architecture=architecture.name,  # type: ignore[arg-type]
        redundant=draw(st.sampled_from([None, architecture.workhorse])),
        edge_role=draw(st.sampled_from(["none", *architecture.role_names])),
        transport=draw(st.sampled_from(["plain", "ssl"])),  # type: ignore[arg-type]
        **shape,
    )


@SETTINGS
@given(stacks())
def test_output_is_deterministic_and_every_yaml_file_parses(spec: StackSpec) -> None:
    first = render(prepare(spec), registry.names())
    second = render(prepare(spec.model_copy(deep=True)), registry.names())
    assert {name: e.files for name, e in first.items()} == {
        name: e.files for name, e in second.items()
    }
    for emission in first.values():
        for path, text in emission.files.items():
            assert text.endswith("\n"), path
            if path.endswith((".yaml", ".yml")):
                assert list(yaml.safe_load_all(text)), path


@SETTINGS
@given(stacks())
def test_names_are_dns_labels_and_the_record_round_trips(spec: StackSpec) -> None:
    resolved = prepare(spec)
    for gateway in resolved.stack.gateways:
        assert GATEWAY_NAME.match(gateway.name) and len(gateway.name) <= 52
    record = dump_stack(resolved.explicit)
    again = prepare(parse_stack(record))
    assert dump_stack(again.explicit) == record
    assert again.stack == resolved.stack


@SETTINGS
@given(stacks())
def test_pairs_are_one_master_and_one_backup_pointing_at_each_other(spec: StackSpec) -> None:
    stack = prepare(spec).stack
    for master, backup in stack.pairs:
        assert master.redundancy and backup.redundancy
        assert (master.redundancy.peer, backup.redundancy.peer) == (backup.name, master.name)
        assert backup.redundancy.master_host == master.name
        assert master.edition is backup.edition
        assert backup.system_name == master.system_name
    if spec.redundant:
        assert len(stack.pairs) == 1
        # Whoever connects to the redundant role connects to both nodes.
        master, backup = stack.pairs[0]
        for gateway in stack.gateways:
            targets = {link.target for link in gateway.connections}
            if master.name in targets and gateway is not backup:
                assert backup.name in targets


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


@SETTINGS
@given(documents)
def test_arbitrary_documents_give_diagnostics_not_tracebacks(document: Any) -> None:
    try:
        text = yaml.safe_dump(document)
    except yaml.YAMLError:
        return
    _must_not_crash(text)


@SETTINGS
@given(stacks(), st.data())
def test_mutated_stack_files_give_diagnostics_not_tracebacks(
    spec: StackSpec, data: st.DataObject
) -> None:
    document = yaml.safe_load(dump_stack(prepare(spec).explicit))
    for _ in range(data.draw(st.integers(1, 4))):
        target: Any = document
        path = []
        while isinstance(target, (dict, list)) and target and data.draw(st.booleans()):
            key = data.draw(
                st.sampled_from(
                    sorted(target) if isinstance(target, dict) else list(range(len(target)))
                )
            )
            path.append(key)
            if not isinstance(target[key], (dict, list)):
                break
            target = target[key]
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target)))
            target[key] = data.draw(
                st.one_of(
                    scalars,
                    st.sampled_from(
                        ["backend", "hub", "gateway", "spoke-0", "master", "backup", "edge"]
                    ),
                )
            )
        elif isinstance(target, list) and target:
            target.pop(data.draw(st.integers(0, len(target) - 1)))
    _must_not_crash(yaml.safe_dump(document))


def _must_not_crash(text: str) -> None:
    try:
        resolved = prepare(parse_stack(text))
        render(resolved, registry.names())
    except StackInvalid as exc:
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            assert diagnostic.code.startswith("IS") and diagnostic.message


# What can reach an emitted file: the stack file's free-form fields are printable ASCII
# (spec.py's patterns), the rest is the tool's own text.
printable = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.just("\n"), max_size=40
)
# Keys are the tool's own names (services, labels, variables, files): one line each.
keys = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=12)
yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        printable,
        st.sampled_from(
            [
                "Y",
                "n",
                "yes",
                "on",
                "0755",
                "1.10",
                "08",
                "null",
                "~",
                "a: b",
                "- x",
                "#c",
                " lead",
                "x\ny\n",
            ]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, yaml_values, max_size=5))
def test_libyaml_and_python_emitters_write_the_same_bytes(value: dict[str, Any]) -> None:
    """Output must not depend on whether PyYAML was built with libyaml (emitted files are
    mappings at the top)."""
    from emitter.yamlio import PYTHON_DUMPER, dump_yaml

    text = dump_yaml(value)
    assert text == dump_yaml(value, PYTHON_DUMPER)
    assert yaml.safe_load(text) == value
