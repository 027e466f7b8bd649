"""The official schema subset, and which part of it a request body must match.

Read from ``../shared/reference/boomi-openapi-subset.json`` beside the repository when it is
there (the reference the project is written against), else from the verbatim copy in
``tests/sim/data`` (what a clone alone has); ``test_client_bodies`` asserts the two are equal
whenever both exist. ``request_problems`` finds a request's operation by method and path in
the document's ``paths`` and checks its content type and body against that operation's
``requestBody``: no relaxation, no list of expected endpoints to go stale.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "boomi-openapi-subset.json"
COPY = ROOT / "tests" / "sim" / "data" / "boomi-openapi-subset.json"


def source() -> Path:
    """The reference subset when present, else the copy kept in the repository."""
    return REFERENCE if REFERENCE.is_file() else COPY


@cache
def document() -> dict[str, Any]:
    data = json.loads(source().read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def validator(schema: dict[str, Any]) -> Draft4Validator:
    """A validator of ``schema`` resolving ``#/components/...`` in the document.

    Draft 4: OpenAPI 3.0 schema objects are an extended subset of JSON Schema Wright draft 00
    (draft 4's successor); its keywords ``xml`` and ``example`` are annotations a validator
    ignores.
    """
    return Draft4Validator({**schema, "components": document()["components"]})


def component(name: str) -> Draft4Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """(path template, operation object) serving ``method path`` (path below the account)."""
    for template, item in document()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None


def errors(check: Draft4Validator, body: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(body)]


def request_problems(method: str, path: str, content_type: str, body: str) -> list[str]:
    """What is wrong with one request against the operation the document declares for it."""
    found = operation(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the official schema"]
    template, op = found
    declared = op.get("requestBody")
    if declared is None:
        return [] if body == "" else [f"{method} {template}: a body where none is declared"]
    if not body:
        return [f"{method} {template}: no body"] if declared.get("required") else []
    media = content_type.split(";", 1)[0].strip().lower()
    content = declared.get("content", {})
    if media not in content:
        return [f"{method} {template}: content type {media!r}, expected one of {sorted(content)}"]
    schema = content[media]["schema"]
    if media == "text/plain":
        value: Any = body
    else:
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            return [f"{method} {template}: the {media} body is not JSON"]
    return [f"{method} {template}: {e}" for e in errors(validator(schema), value)]
