"""JSON Schema validation of spec documents, reported in the user's coordinates.

Pure: the schema arrives as a dict and the document as a ``Document``; the result is a list of
``Diagnostic`` values, every problem rather than the first. A fast yes/no check passes valid
documents; a failing one is validated again by ``jsonschema``, whose errors ``specs.diagnose``
turns into located messages for humans (practices.md D2). No file reads happen here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.model import Diagnostic
from reconciler.specs.diagnose import from_schema_errors
from reconciler.specs.documents import Document
from reconciler.specs.schema_check import Check, compile_check

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


class SchemaValidator:
    """One schema: a fast yes/no check first, ``jsonschema`` (built on first need) for errors."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.check: Check | None = compile_check(schema)
        self._full: Draft202012Validator | None = None

    @property
    def full(self) -> Draft202012Validator:
        """The general validator, which finds every error (imported and built when needed)."""
        if self._full is None:
            from jsonschema import Draft202012Validator

            self._full = Draft202012Validator(self.schema)
        return self._full


def make_validator(schema: Mapping[str, Any]) -> SchemaValidator:
    """Build a validator once; reuse it for every document."""
    return SchemaValidator(schema)


def validate_document(validator: SchemaValidator, document: Document) -> list[Diagnostic]:
    """Validate one document; return every problem, sorted by position."""
    if validator.check is not None and validator.check(document.data):
        return []
    return from_schema_errors(document, validator.full.iter_errors(document.data))
