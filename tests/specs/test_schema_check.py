"""The fast schema check (jsonschema-rs) answers exactly as jsonschema's Draft 2020-12 does."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from bench import workload
from reconciler.specs.documents import load_file, load_text
from reconciler.specs.language import KINDS, kind_schema
from reconciler.specs.load import load_schema
from reconciler.specs.schema import make_validator
from reconciler.specs.sources import iter_yaml_files
from tests.specs.test_fuzz_loader import VALID, VALID_SET

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = {kind: kind_schema(load_schema(), kind) for kind in KINDS}
CHECKS = {kind: make_validator(schema).check for kind, schema in SCHEMAS.items()}
VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in SCHEMAS.items()}


def _agree(document: Any) -> bool:
    valid = None
    for kind in KINDS:
        check = CHECKS[kind]
        assert check is not None
        expected = VALIDATORS[kind].is_valid(document)
        assert check(document) == expected, (kind, document)
        valid = valid or expected
    return bool(valid)


def _documents() -> list[Any]:
    texts = [
        workload._single("one", "789abcde-f012-3456-789a-bcdef0123456", "cloud", 3, True),
        workload._set("set", "789abcde-f012-3456-789a-bcdef0123456", "cloud", 3, 1, True),
        workload._matrix("mx", "789abcde-f012-3456-789a-bcdef0123456", "cloud", (2, 2), 1, True),
        VALID,
        VALID_SET,
    ]
    found = [d.data for text in texts for d in load_text(text, "t.yaml")[0]]
    for path in iter_yaml_files([REPO / "specs", REPO / "tests", REPO / "docs"]):
        documents, _ = load_file(path)
        found.extend(d.data for d in documents if isinstance(d.data, dict) and "kind" in d.data)
    return found


DOCUMENTS = _documents()


def test_every_spec_document_in_the_repository() -> None:
    assert len(DOCUMENTS) > 20
    assert sum(_agree(document) for document in DOCUMENTS) > 10


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "integer"}, 2.0),
        ({"type": "integer"}, 2.5),
        ({"type": "integer"}, True),
        ({"type": "number"}, False),
        ({"type": ["string", "number"]}, None),
        ({"exclusiveMinimum": 0}, 0),
        ({"exclusiveMinimum": 0}, True),
        ({"const": "a"}, "a"),
        ({"enum": ["a", "b"]}, 1),
        ({"pattern": "^a"}, "ba"),
        ({"pattern": "a"}, "ba"),
        ({"maxLength": 2}, "😀😀"),
        ({"minItems": 1}, {}),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"Ab": 1}),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}),
        ({"if": {"required": ["k"]}, "then": {"required": ["x"]}}, {"k": 1}),
        ({"if": {"required": ["k"]}, "then": {"required": ["x"]}}, {"j": 1}),
    ],
)
def test_keywords(schema: dict[str, Any], value: Any) -> None:
    check = make_validator(schema).check
    assert check(value) == Draft202012Validator(schema).is_valid(value)


def test_what_it_cannot_read_is_left_to_jsonschema() -> None:
    check = make_validator({"type": "object"}).check
    assert check({"a": 1})
    assert not check({1: "a"})  # a YAML key that is not a string: jsonschema words the error
    assert Draft202012Validator({"type": "object"}).is_valid({1: "a"})


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 1.5, -2.0])
    | st.sampled_from(["", "a", "30m", "x y", "ERROR", "onChange", "reconciler/v1", "Execution"])
    | st.sampled_from(["789abcde-f012-3456-789a-bcdef0123456", "{{ vars.a }}", "A_b", "a" * 300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@settings(
    max_examples=int(os.environ.get("FAST_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.integers(min_value=0),
    st.integers(min_value=0),
    st.sampled_from(["replace", "delete", "add"]),
    _values,
    st.sampled_from(["x", "name", "count", "timeout", "run", "extra", "DPP", "Bad Key"]),
)
def test_mutated_documents(doc: int, where: int, how: str, value: Any, key: str) -> None:
    document = copy.deepcopy(DOCUMENTS[doc % len(DOCUMENTS)])
    paths = _paths(document)
    path = paths[where % len(paths)]
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    if not path:
        _agree(value)
        return
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][key] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    _agree(document)
