"""One source of truth: the committed schema is exactly what the pydantic models generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from reconciler.cli.schemagen import schema_text
from reconciler.specs.documents import iter_yaml_files, load_file
from reconciler.specs.language import ExecutionDocument, ExecutionSetDocument, generate_schema

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
