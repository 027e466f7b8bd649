"""A fast yes/no JSON Schema check, so valid documents skip the general validator.

Pure. ``compile_check`` turns a schema into nested closures for exactly the keywords the spec
schema uses, with the semantics of ``jsonschema``'s Draft 2020-12 validator (types as JSON
sees them: a boolean is not a number, 2.0 is an integer; ``pattern`` searches, lengths count
code points). It answers only "valid or not": a document it rejects goes through
``jsonschema`` for every error and its position, so messages never come from here. A schema
with a keyword it does not know compiles to ``None`` (always use ``jsonschema``).
``tests/specs/test_schema_check.py`` holds it to ``jsonschema``'s answers.

The general validator walks the schema for every value with a fresh validator per step; that
was about half of a cold plan of 10,000 executions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"description", "examples", "default", "title", "$schema", "$id", "$comment", "$defs"}
)


class UnsupportedSchema(Exception):
    """The schema uses a keyword this module does not implement."""


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A function telling whether an instance is valid against ``schema``; None: unsupported."""
    root = schema
    compiled: dict[str, Check] = {}

    def ref(pointer: str) -> Check:
        if not pointer.startswith("#/$defs/") or "/" in pointer[len("#/$defs/") :]:
            raise UnsupportedSchema(pointer)
        name = pointer[len("#/$defs/") :]
        if name not in root.get("$defs", {}):
            raise UnsupportedSchema(pointer)

        def check(instance: Any) -> bool:
            found = compiled.get(name)
            if found is None:
                found = compiled[name] = build(root["$defs"][name])
            return found(instance)

        return check

    def build(node: Any) -> Check:
        if node is True:
            return _always
        if node is False:
            return _never
        if not isinstance(node, Mapping):
            raise UnsupportedSchema(repr(node))
        if not _MAPPING_KEYWORDS.isdisjoint(node):
            mapping = _mapping(node, build)
            rest = {k: v for k, v in node.items() if k not in _MAPPING_KEYWORDS}
        else:
            mapping, rest = None, dict(node)
        found = [_keyword(key, value, node, build, ref) for key, value in rest.items()]
        checks = [c for c in (mapping, *found) if c is not None]
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]

        def all_of(instance: Any) -> bool:
            for check in checks:  # noqa: SIM110 - a loop is faster than all() on this hot path
                if not check(instance):
                    return False
            return True

        return all_of

    try:
        return build(schema)
    except UnsupportedSchema:
        return None


_MAPPING_KEYWORDS = frozenset({"properties", "additionalProperties", "required"})


def _mapping(node: Mapping[str, Any], build: Callable[[Any], Check]) -> Check:
    """``properties``, ``additionalProperties`` and ``required`` in one pass over a mapping."""
    if "patternProperties" in node:
        raise UnsupportedSchema("patternProperties")
    props = {name: build(sub) for name, sub in node.get("properties", {}).items()}
    extra = build(node.get("additionalProperties", True))
    required = tuple(node.get("required", ()))

    def mapping(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for name, item in v.items():
            if not props.get(name, extra)(item):
                return False
        for name in required:  # noqa: SIM110 - as above
            if name not in v:
                return False
        return True

    return mapping


def _always(_instance: Any) -> bool:
    return True


def _never(_instance: Any) -> bool:
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def _keyword(
    key: str,
    value: Any,
    node: Mapping[str, Any],
    build: Callable[[Any], Check],
    ref: Callable[[str], Check],
) -> Check | None:
    if key in _ANNOTATIONS or key == "then":
        return None
    if key == "type":
        names = [value] if isinstance(value, str) else list(value)
        if any(name not in _TYPES for name in names):
            raise UnsupportedSchema(f"type {value}")
        if len(names) == 1:
            return _TYPES[names[0]]
        checks = [_TYPES[name] for name in names]
        return lambda v: any(c(v) for c in checks)
    if key == "propertyNames":
        key_check = build(value)
        return lambda v: not isinstance(v, dict) or all(key_check(name) for name in v)
    if key == "pattern":
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None
    if key in ("minLength", "maxLength", "minItems", "maxItems"):
        limit = int(value)
        kind = str if key.endswith("Length") else list
        if key.startswith("min"):
            return lambda v: not isinstance(v, kind) or len(v) >= limit
        return lambda v: not isinstance(v, kind) or len(v) <= limit
    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if not _is_number(value):
            raise UnsupportedSchema(key)
        bound = value
        compare: dict[str, Check] = {
            "minimum": lambda v: v >= bound,
            "maximum": lambda v: v <= bound,
            "exclusiveMinimum": lambda v: v > bound,
            "exclusiveMaximum": lambda v: v < bound,
        }
        test = compare[key]
        return lambda v: not _is_number(v) or test(v)
    if key in ("const", "enum"):
        options = [value] if key == "const" else list(value)
        if not all(isinstance(option, str) for option in options):
            raise UnsupportedSchema(key)
        allowed = frozenset(options)
        return lambda v: isinstance(v, str) and v in allowed
    if key == "items":
        if "prefixItems" in node:
            raise UnsupportedSchema(key)
        item = build(value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if key in ("anyOf", "allOf"):
        branches = [build(sub) for sub in value]
        if key == "anyOf":
            return lambda v: any(b(v) for b in branches)
        return lambda v: all(b(v) for b in branches)
    if key == "if":
        if "else" in node:
            raise UnsupportedSchema(key)
        condition = build(value)
        then = build(node.get("then", True))
        return lambda v: not condition(v) or then(v)
    if key == "$ref":
        return ref(str(value))
    raise UnsupportedSchema(key)
