"""Validation errors to located diagnostics: the one converter, for specs and the config.

Pure. ``jsonschema`` errors of a spec document (``from_schema_errors``) and ``pydantic`` errors of
``reconciler.yaml`` (``from_model_errors``) become ``Diagnostic`` values at the line and column
of the offending key or value, with the field's dotted path and a message for humans; both go
through ``located``. ``model_disagreement`` says a spec passed the schema but not the model
(a bug in reconciler, never the user's).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.model import Diagnostic, PathPart, dotted, json_path
from reconciler.specs.documents import Document
from reconciler.specs.language import PATTERN_WORDS

if TYPE_CHECKING:
    import pydantic
    from jsonschema.exceptions import ValidationError

_TYPE_WORDS = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "null",
}

_PATTERN_WORDS = {
    "guid": "a GUID like 789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal digits)",
    "name": "lower-case letters, digits and dashes, starting with a letter, at most 63 characters",
    "var": "a letter or underscore followed by letters, digits or underscores",
}


_BOUNDS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
)


def located(
    document: Document, path: list[PathPart], what: str, *, key: bool = False
) -> Diagnostic:
    """``what`` is wrong at ``path``: at its value (or ``key``), after the dotted path."""
    return Diagnostic(
        location=document.locate(path, key=key),
        message=f"{dotted(path)}: {what}",
        path=json_path(path),
    )


def from_model_errors(
    document: Document,
    exc: pydantic.ValidationError,
    *,
    known: Callable[[Sequence[PathPart]], list[str]],
    unknown: str = "unknown setting",
    fallback: str = "expected one of the documented settings (see docs/config.md)",
) -> list[Diagnostic]:
    """``pydantic``'s errors for ``document`` in the words of spec errors, sorted by position.

    An unknown key is reported at the key with the closest of ``known(mapping path)``, else
    ``fallback``; a pattern the language names is said in words; a wrong type or a value out
    of range reads as it does for a spec ("expected an integer, got the text "many"", "0 is
    out of range; expected more than 0"). The alternatives of a union (``true``, ``false`` or
    ``"auto"``) make one problem, at the value, not one per alternative.
    """
    grouped: dict[tuple[PathPart, ...], list[Any]] = {}
    for error in exc.errors():
        field = tuple(_document_path(document.data, error["loc"]))
        grouped.setdefault(field, []).append(error)
    diagnostics = []
    for field, errors in grouped.items():
        path = list(field)
        first = errors[0]
        if first["type"] == "extra_forbidden":
            guess = difflib.get_close_matches(str(path[-1]), known(path[:-1]), n=1)
            what = unknown + (f'; did you mean "{guess[0]}"?' if guess else f"; {fallback}")
            diagnostics.append(located(document, path, what, key=True))
            continue
        wanted = [w for w in (_MODEL_TYPES.get(e["type"]) or _literal(e) for e in errors) if w]
        if len(wanted) == len(errors):  # only wrong types: one line naming every alternative
            words = list(dict.fromkeys(wanted))
            if len(words) > 1 and "true or false" in words:
                at = words.index("true or false")
                words[at : at + 1] = ["true", "false"]
            either = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
            what = f"expected {either}, got {_kind(first['input'])}"
        else:
            what = _model_words(next(e for e in errors if not _MODEL_TYPES.get(e["type"])))
        diagnostics.append(located(document, path, what))
    diagnostics.sort(key=lambda d: (d.location.line, d.location.col))
    return diagnostics


#: pydantic's type errors → what was expected, in the words of ``_TYPE_WORDS``.
_MODEL_TYPES = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
}

#: pydantic's bound errors → the words of ``_bounds`` (``ctx`` holds the limit).
_MODEL_BOUNDS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _literal(error: Any) -> str | None:
    """``"auto"`` for a value that had to be one of some words (a ``Literal``)."""
    if error["type"] != "literal_error":
        return None
    return str((error.get("ctx") or {}).get("expected", "")).replace("'", '"') or None


def _model_words(error: Any) -> str:
    """One pydantic error that is not a wrong type, in the words of a spec error."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error["input"]
    if kind in _MODEL_BOUNDS:
        name, words = _MODEL_BOUNDS[kind]
        return f"{_number(value)} is out of range; expected {words} {_number(ctx.get(name))}"
    if kind in ("string_too_short", "string_too_long", "too_short", "too_long"):
        limit = ctx.get("min_length", ctx.get("max_length"))
        least = kind.endswith("short")
        size = len(value) if isinstance(value, str | list | dict) else 0
        unit = "characters" if kind.startswith("string") else "items"
        return f"{size} {unit}; expected {'at least' if least else 'at most'} {limit}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        rule = PATTERN_WORDS.get(pattern, f"text matching {pattern}")
        return f"{_short(value)} is not valid; expected {rule}"
    if kind == "missing":
        return "missing required setting"
    return str(error["msg"]).removeprefix("Value error, ")


def _number(value: object) -> str:
    """``1`` for ``1.0``: limits read as written."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _document_path(data: Any, loc: Sequence[Any]) -> list[PathPart]:
    """The document path of pydantic's ``loc``: without the tags naming union members.

    ``git.durableIntents.bool`` and ``git.durableIntents.literal['auto']`` are both
    ``git.durableIntents``: a part that is not a key (or an index) of the data at that point
    is pydantic's name for an alternative it tried.
    """
    path: list[PathPart] = []
    node = data
    for part in loc:
        if _has(node, part):
            node = node[part]
        elif _tag(part):
            continue
        else:  # a key that is missing or not allowed: still where the problem is
            node = None
        path.append(part)
    return path


def _has(node: Any, part: object) -> bool:
    """Whether ``part`` is a key of the mapping ``node``, or an index of the list ``node``."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _tag(part: object) -> bool:
    """Whether a part of pydantic's ``loc`` names a union member (``bool``, ``literal['x']``)."""
    return isinstance(part, str) and (
        part in ("bool", "int", "float", "str", "dict", "list", "none")
        or part.startswith(("literal[", "function-", "constrained-", "json-or-python["))
    )


def model_disagreement(document: Document, exc: pydantic.ValidationError) -> Diagnostic:
    """A document the schema accepted and the model refused: reconciler's bug, said so."""
    first = exc.errors()[0]
    where: list[PathPart] = list(first["loc"])
    message = (
        f"internal error: the spec passed the schema but not the model ({first['msg']}); "
        "expected these to agree, please report this"
    )
    return Diagnostic(location=document.locate(where), message=message)


def from_schema_errors(document: Document, found: Iterable[ValidationError]) -> list[Diagnostic]:
    """``jsonschema``'s errors for ``document``: every problem once, sorted by position."""
    errors = sorted(_leaf_errors(found), key=lambda e: list(map(str, e.path)))
    diagnostics = {d for error in errors for d in _diagnose_all(document, error)}
    return sorted(diagnostics, key=lambda d: (d.location.line, d.location.col, d.message))


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield from _branch_errors(error)
        else:
            yield error


def _branch_errors(error: ValidationError) -> Iterable[ValidationError]:
    """The errors of the alternative the user most likely meant.

    When every alternative fails on the value's type alone, the ``anyOf`` itself is reported
    ("expected a list or a mapping"). Otherwise the alternative with the deepest error wins,
    preferring one whose type matched (a string that misses a pattern beats "expected a number").
    """
    context = list(error.context or [])
    depth = len(error.absolute_path)
    if all(e.validator == "type" and len(e.absolute_path) == depth for e in context):
        yield error
        return
    # A branch whose type the value does not have is not what the user meant, however its
    # other keywords fared ("not" beside a pattern fails on a list, which has no pattern).
    mistyped = {
        _branch(e) for e in context if e.validator == "type" and len(e.absolute_path) == depth
    }
    meant = [e for e in context if _branch(e) not in mistyped] or context
    best = min(meant, key=lambda e: (-len(e.absolute_path), e.validator == "type"))
    branch = _branch(best)
    for candidate in context:
        if candidate.relative_schema_path and candidate.relative_schema_path[0] == branch:
            yield from _leaf_errors([candidate])


def _branch(error: ValidationError) -> object:
    """Which alternative of an ``anyOf`` an error of its context belongs to."""
    return error.relative_schema_path[0] if error.relative_schema_path else None


def _schema(error: ValidationError) -> dict[str, Any]:
    return error.schema if isinstance(error.schema, dict) else {}


def _diagnose_all(document: Document, error: ValidationError) -> list[Diagnostic]:
    if error.validator != "additionalProperties":
        return [_diagnose(document, error)]
    known = sorted(_schema(error).get("properties", {}))
    out = []
    for field in _extra_keys(error):
        path: list[PathPart] = [*error.absolute_path, field]
        guess = difflib.get_close_matches(field, known, n=1)
        hint = f'did you mean "{guess[0]}"?' if guess else f"expected one of: {', '.join(known)}"
        out.append(located(document, path, f"unknown field {_q(field)}; {hint}", key=True))
    return out


def _diagnose(document: Document, error: ValidationError) -> Diagnostic:
    path: list[PathPart] = list(error.absolute_path)
    validator = str(error.validator)
    instance = error.instance
    key_position = False
    if "propertyNames" in error.schema_path:
        # A key of a mapping breaks the rule for keys: point at the key itself.
        key = str(instance)
        rule = _pattern(error) if validator in ("pattern", "not") else error.message
        location = document.locate([*path, key], key=True)
        message = f"{dotted(path)}: invalid key {_short(key)}; expected {rule}"
        return Diagnostic(location=location, message=message, path=json_path([*path, key]))
    if validator == "required":
        missing = _missing_field(error)
        message = f"{dotted([*path, missing])}: missing required field {_q(missing)}"
        message += f"; expected {_describe_schema(_schema(error), missing)}"
        key_position = bool(path)  # point at the key of the mapping that lacks the field
    elif validator in ("type", "anyOf", "oneOf"):
        names = _type_names(error)
        words = [_TYPE_WORDS.get(n, n) for n in names]
        wanted = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
        message = f"{dotted(path)}: expected {wanted}, got {_kind(instance)}"
        if instance is None and "string" in names:  # ``KEY:``, ``KEY: ~``: never guessed as ""
            message += ' (an empty value, "~" or "null"); write "" for empty text'
    elif validator == "pattern" or (validator == "not" and "pattern" in _schema(error)):
        # "not" stands beside every pattern, against the line break Python's "$" lets through.
        message = f"{dotted(path)}: {_short(instance)} is not valid; expected {_pattern(error)}"
    elif validator == "const":
        message = f"{dotted(path)}: unsupported value {_short(instance)}"
        message += f'; supported: "{error.validator_value}"'
    elif validator == "enum":
        choices: Any = error.validator_value
        options = ", ".join(f'"{v}"' for v in choices)
        message = f"{dotted(path)}: unsupported value {_short(instance)}; expected one of {options}"
    elif validator in _BOUNDS:
        message = f"{dotted(path)}: {_bounds(validator, error.validator_value, instance)}"
    elif validator == "propertyNames":
        key_position = True
        path = [*path, str(instance)]
        message = f"{dotted(path)}: invalid name {_short(instance)}; expected {_pattern(error)}"
    else:
        message = f"{dotted(path)}: {error.message}"
    location = document.locate(path, key=key_position)
    return Diagnostic(location=location, message=message, path=json_path(path))


def _bounds(validator: str, limit: Any, instance: object) -> str:
    if validator in ("minItems", "maxItems"):
        least = validator == "minItems"
        count = len(instance) if isinstance(instance, list) else 0
        unit = "item" if count == 1 else "items"
        return f"{count} {unit}; expected " + (f"at least {limit}" if least else f"at most {limit}")
    if validator in ("minLength", "maxLength"):
        size = len(instance) if isinstance(instance, str) else 0
        word = "at least" if validator == "minLength" else "at most"
        return f"text of {size} characters; expected {word} {limit}"
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
    }
    return f"{instance} is out of range; expected {words[validator]} {limit}"


def _type_names(error: ValidationError) -> list[str]:
    if error.validator == "type":
        expected: Any = error.validator_value
        return [expected] if isinstance(expected, str) else list(expected)
    names: list[str] = []
    for sub in error.context or []:
        for name in _type_names(sub):
            if name not in names:
                names.append(name)
    return names


def _pattern(error: ValidationError) -> str:
    value = error.validator_value if error.validator == "pattern" else None
    pattern = str(value if value is not None else _schema(error).get("pattern", ""))
    if pattern in PATTERN_WORDS:
        return PATTERN_WORDS[pattern]
    if "0-9a-fA-F]{8}" in pattern:
        return _PATTERN_WORDS["guid"]
    if pattern.startswith("^[a-z][a-z0-9-]"):
        return _PATTERN_WORDS["name"]
    if pattern.startswith("^[A-Za-z_]"):
        return _PATTERN_WORDS["var"]
    return f"text matching {pattern}"


def _describe_schema(schema: Mapping[str, Any], field: str) -> str:
    sub = schema.get("properties", {}).get(field, {})
    description = str(sub.get("description", "")).split(". ")[0].rstrip(".")
    return description[0].lower() + description[1:] if description else "a value"


def _extra_keys(error: ValidationError) -> list[str]:
    allowed = set(_schema(error).get("properties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    return sorted(str(k) for k in instance if k not in allowed)


def _missing_field(error: ValidationError) -> str:
    message = error.message
    if message.startswith("'") and "' is a required property" in message:
        return message[1 : message.index("' is a required property")]
    return message


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _q(text: str) -> str:
    return f'"{text}"'


def _short(value: object, limit: int = 60) -> str:
    """``value`` quoted for a message: control characters escaped, at most ``limit`` long."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f'"{text}"'
