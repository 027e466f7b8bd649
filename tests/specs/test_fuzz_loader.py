"""Generated garbage through the loader: always diagnostics, never an exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.specs.load import load_desired

VALID = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: 789abcde-f012-3456-789a-bcdef0123456
  atomId: 3456789a-bcde-f012-3456-789abcdef012
  dynamicProperties:
    A: "{{ vars.a }}"
  processProperties:
    - componentId: 456789ab-cdef-0123-4567-89abcdef0123
      values: {k: v}
  vars: {a: 1}
"""

VALID_SET = """\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata: {name: regions, labels: {team: a}}
spec:
  defaults:
    processId: 789abcde-f012-3456-789a-bcdef0123456
    runtime: cloud
    dynamicProperties: {R: "{{ matrix.region }}"}
    policy: {run: always, timeout: 30m, retries: {count: 1, on: [ERROR]}}
  matrix:
    region: [eu, us]
  executions:
    - name: "orders-{{ matrix.region }}"
      dependsOn: ["extract-{{ matrix.region }}"]
      processProperties:
        456789ab-cdef-0123-4567-89abcdef0123: {k: v}
    - name: "extract-{{ matrix.region }}"
      atomId: 3456789a-bcde-f012-3456-789abcdef012
"""

yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _load(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = load_desired([path], root=Path(folder))
        for diagnostic in result.diagnostics:
            assert diagnostic.location.file == "spec.yaml"
            assert diagnostic.location.line >= 1
            assert diagnostic.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _load(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 40), st.text(max_size=12))
def test_mutated_valid_spec(start: int, length: int, insert: str) -> None:
    _load(VALID[:start] + insert + VALID[start + length :])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID_SET) - 1), st.integers(0, 40), st.text(max_size=12))
def test_mutated_valid_set(start: int, length: int, insert: str) -> None:
    _load(VALID_SET[:start] + insert + VALID_SET[start + length :])


SET_KEYS = ["defaults", "matrix", "executions", "processId", "dependsOn", "policy", "name", "x"]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["Execution", "ExecutionSet"]),
    st.dictionaries(st.sampled_from(SET_KEYS), yaml_values),
    st.lists(st.dictionaries(st.sampled_from(SET_KEYS), yaml_values), max_size=3),
)
def test_structured_garbage_in_known_kinds(
    kind: str, spec: dict[str, object], executions: list[dict[str, object]]
) -> None:
    import json

    if kind == "ExecutionSet":
        spec = {**spec, "executions": executions}
    document = {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": "a"}}
    _load(json.dumps({**document, "spec": spec}, default=str))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "x"]), yaml_values)
)
def test_structured_garbage(document: dict[str, object]) -> None:
    import json

    _load(json.dumps(document, default=str))  # JSON is YAML
