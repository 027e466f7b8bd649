"""One source of truth: the committed schema is exactly what the pydantic models generate."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from reconciler.cli.schemagen import schema_text
from reconciler.model.values import is_execution_name
from reconciler.specs.documents import load_file
from reconciler.specs.language import ExecutionDocument, ExecutionSetDocument, generate_schema
from reconciler.specs.load import load_desired
from reconciler.specs.sources import iter_yaml_files

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "execution.v1.json"
# Keywords editors on draft-07 do not understand (practices.md D3).
NOT_DRAFT7 = {"prefixItems", "unevaluatedProperties", "$dynamicRef", "dependentSchemas"}


def test_committed_schema_matches_the_models() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "schemas/execution.v1.json is stale: run `python -m reconciler.cli.schemagen`"
    )


def test_schema_is_valid_2020_12_and_draft7_and_documented() -> None:
    schema = generate_schema()
    Draft202012Validator.check_schema(schema)
    Draft7Validator.check_schema(schema)
    assert schema["$id"].endswith("/execution.v1.json")
    text = json.dumps(schema)
    assert not any(f'"{keyword}"' in text for keyword in NOT_DRAFT7)
    for name, definition in schema["$defs"].items():
        for field, sub in definition.get("properties", {}).items():
            assert sub.get("description"), f"{name}.{field} has no description"


def _documents() -> list[object]:
    docs = ROOT / "docs" / "specs.md"
    found = [d.data for p in iter_yaml_files([ROOT / "specs"]) for d in load_file(p)[0]]
    # Every ```yaml block of the reference that is a spec document is an example too.
    blocks = docs.read_text(encoding="utf-8").split("```yaml\n")[1:]
    for block in blocks:
        text = block.split("```", 1)[0]
        for document in load_file_text(text):
            if isinstance(document, dict) and document.get("apiVersion") == "reconciler/v1":
                found.append(document)
    return found


def load_file_text(text: str) -> list[object]:
    from reconciler.specs.documents import load_text

    documents, problems = load_text(text, "docs/specs.md")
    assert problems == []
    return [d.data for d in documents]


@pytest.mark.parametrize("validator", [Draft7Validator, Draft202012Validator])
def test_examples_validate_under_both_drafts_and_build_models(validator: type) -> None:
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    checker = validator(schema)
    documents = _documents()
    assert len(documents) >= 6
    for document in documents:
        assert isinstance(document, dict)
        assert list(checker.iter_errors(document)) == [], document
        model = ExecutionDocument if document["kind"] == "Execution" else ExecutionSetDocument
        model.model_validate(document)  # must succeed once the schema accepted the document


def test_the_schema_rejects_what_the_models_reject() -> None:
    bad = {
        "apiVersion": "reconciler/v1",
        "kind": "Execution",
        "metadata": {"name": "a", "labels": {"bad key": "x"}},
        "spec": {"processId": None},
    }
    assert list(Draft202012Validator(generate_schema()).iter_errors(bad))
    with pytest.raises(ValueError, match="validation error"):
        ExecutionDocument.model_validate(bad)


NAMES_WITH_A_LINE_BREAK = [
    {"metadata": {"name": "abc\n"}},
    {"metadata": {"name": "abc", "labels": {"team\n": "x"}}},
    {"spec": {"processId": "789abcde-f012-3456-789a-bcdef0123456\n"}},
    {"spec": {"policy": {"timeout": "30m\n"}}},
    {"spec": {"vars": {"a\n": 1}}},
    {"spec": {"policy": {"promote": {"after": "test\n"}}}},
    {"spec": {"policy": {"promote": {"after": ["test\n"]}}}},
]


@pytest.mark.parametrize("change", NAMES_WITH_A_LINE_BREAK)
@pytest.mark.parametrize("validator", [Draft7Validator, Draft202012Validator])
def test_a_trailing_line_break_fails_the_published_schema_as_it_fails_the_models(
    change: dict[str, dict[str, object]], validator: type
) -> None:
    # Python's "$" matches before a final line break: without the "not" beside each pattern,
    # jsonschema accepted "abc\n", the models refused it, and validate said "internal error".
    document: dict[str, object] = {
        "apiVersion": "reconciler/v1",
        "kind": "Execution",
        "metadata": {"name": "abc"},
        "spec": {
            "processId": "789abcde-f012-3456-789a-bcdef0123456",
            "atomId": "3456789a-bcde-f012-3456-789abcdef012",
        },
    }
    for section, fields in change.items():
        document[section] = {**document[section], **fields}  # type: ignore[dict-item]
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert list(validator(schema).iter_errors(document))
    assert not jsonschema_rs.validator_for(schema).is_valid(document)


def test_a_name_with_a_line_break_is_refused_by_the_models() -> None:
    with pytest.raises(ValueError, match="validation error"):
        ExecutionDocument.model_validate(
            {
                "apiVersion": "reconciler/v1",
                "kind": "Execution",
                "metadata": {"name": "abc\n"},
                "spec": {},
            }
        )
    assert not is_execution_name("abc\n")
    assert not is_execution_name("abc\x1b")
    assert is_execution_name("abc")


def test_a_name_with_a_line_break_is_a_located_error_not_an_internal_one(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text(
        'apiVersion: reconciler/v1\nkind: Execution\nmetadata:\n  name: "abc\\n"\n'
        '  labels: {"a\\tb": x}\nspec:\n  processId: 789abcde-f012-3456-789a-bcdef0123456\n'
        "  atomId: 3456789a-bcde-f012-3456-789abcdef012\n",
        encoding="utf-8",
    )
    result = load_desired([spec], root=tmp_path)
    assert [str(d) for d in result.diagnostics] == [
        'a.yaml:4:9: metadata.name: "abc\\n" is not valid; expected lower-case letters, digits '
        "and dashes, starting with a letter, at most 63 characters",
        'a.yaml:5:12: metadata.labels: invalid key "a\\tb"; expected letters, digits, dots, '
        "dashes, underscores and slashes, starting with a letter or digit, at most 63 characters",
    ]
