"""PURE. The QUERY filter grammar (boomi-platform-api.md §9.1) and its evaluation.

Owns parsing a ``QueryConfig`` JSON body (``QueryFilter.expression`` with simple and
grouping expressions, ``QuerySort``) against an object's ``QuerySchema`` (which properties and
operators it allows, and how each property compares), and applying it to a list of
``(key, facts)`` pairs. A body is read as strictly as the OAS ``QueryConfig`` describes it
(documented keys only, lists where it says arrays, string arguments); what it leaves open, a
body with no filter, is the caller's choice (``empty_matches_all``). Bad filters raise
``QueryError`` with the message the 400 Error body carries. No HTTP, no simulator state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["string", "number", "date", "boolean"]
Predicate = Callable[[Mapping[str, Any]], bool]

ALL_OPERATORS = frozenset(
    {
        "EQUALS", "NOT_EQUALS", "LIKE", "IS_NULL", "IS_NOT_NULL", "BETWEEN", "GREATER_THAN",
        "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL", "CONTAINS", "NOT_CONTAINS",
    }
)  # fmt: skip
_ARITY = {"IS_NULL": 0, "IS_NOT_NULL": 0, "BETWEEN": 2}


class QueryError(Exception):
    """An invalid query body; ``str()`` is the Error message."""


@dataclass(frozen=True, slots=True)
class QuerySchema:
    """What one object's QUERY accepts (OAS ``<Object>SimpleExpression`` enums)."""

    name: str
    properties: Mapping[str, Kind]
    operators: frozenset[str] = ALL_OPERATORS
    default_sort: str | None = None


EXECUTION_RECORD = QuerySchema(
    "ExecutionRecord",
    {
        "executionId": "string", "originalExecutionId": "string", "account": "string",
        "executionTime": "date", "status": "string", "executionType": "string",
        "processName": "string", "processId": "string", "atomName": "string", "atomId": "string",
        "inboundDocumentCount": "number", "outboundDocumentCount": "number",
        "executionDuration": "number", "message": "string", "reportKey": "string",
        "launcherId": "string", "nodeId": "string", "recordedDate": "date",
    },
    default_sort="executionTime",
)  # fmt: skip
ATOM = QuerySchema(
    "Atom",
    {
        "name": "string", "id": "string", "hostname": "string", "status": "string",
        "type": "string", "capabilities": "string", "cloudId": "string",
        "attachmentCloudId": "string", "cloudMoleculeId": "string", "instanceId": "string",
        "isCloudAttachment": "boolean",
    },
    frozenset({"EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"}),
)  # fmt: skip
ENVIRONMENT = QuerySchema(
    "Environment",
    {"name": "string", "id": "string", "classification": "string"},
    frozenset({"EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS", "IS_NULL", "IS_NOT_NULL"}),
)
ATTACHMENT = QuerySchema(
    "EnvironmentAtomAttachment", {"atomId": "string", "environmentId": "string"}
)
DEPLOYED_PACKAGE = QuerySchema(
    "DeployedPackage",
    {
        "uid": "string", "notes": "string", "current": "boolean", "packageNotes": "string",
        "active": "boolean", "componentId": "string", "componentVersion": "number",
        "componentName": "string", "componentType": "string", "deployedBy": "string",
        "deployedDate": "date", "deploymentId": "string", "environmentId": "string",
        "environmentName": "string", "packageId": "string", "packageVersion": "string",
        "version": "number", "accountId": "string", "branch": "string",
    },
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed QueryConfig: a predicate over facts and a sort order."""

    predicate: Predicate
    sort: tuple[tuple[str, bool], ...]
    """(property, descending) pairs."""

    def apply(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
        """Keys of the matching items, sorted (stable: ties keep input order)."""
        kept = [(i, key, facts) for i, (key, facts) in enumerate(items) if self.predicate(facts)]
        for name, descending in reversed(self.sort):
            present = [k for k in kept if k[2].get(name) is not None]
            absent = [k for k in kept if k[2].get(name) is None]
            present.sort(key=lambda k: k[2][name], reverse=descending)
            kept = present + absent
        return [key for _, key, _ in kept]


_TYPE = "@type"  # §4: a request may type any object; it is accepted and ignored
_CONFIG_KEYS = ("QueryFilter", "QuerySort")
_FILTER_KEYS = ("expression",)
_SIMPLE_KEYS = ("operator", "property", "argument")
_GROUPING_KEYS = ("operator", "nestedExpression")
_SORT_KEYS = ("sortField",)
_FIELD_KEYS = ("fieldName", "sortOrder")


def parse_query(body: Any, schema: QuerySchema, *, empty_matches_all: bool = True) -> Query:
    """Parse a QueryConfig body (``None`` for an empty body) as strictly as the OAS reads.

    Every object may carry only its documented keys (and ``@type``); ``argument`` and
    ``nestedExpression`` are lists; arguments are strings (or booleans on a boolean property,
    as KRX sends ``active``, §13). A body without a filter (no body, ``{}``, a ``QuerySort``
    alone, or ``{"QueryFilter": {}}``) matches everything when ``empty_matches_all`` (what
    GOSDK relies on, §9.1), else it is refused, as the OAS's ``required`` would have it.

    Raises:
        QueryError: unknown key, property or operator, wrong argument count, bad value or shape.
    """
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise QueryError("Invalid query: the body must be a QueryConfig object.")
    _known_keys(body, _CONFIG_KEYS, "QueryConfig")
    expression = None
    if "QueryFilter" in body:
        query_filter = body["QueryFilter"]
        if not isinstance(query_filter, Mapping):
            raise QueryError("Invalid query: QueryFilter must be an object.")
        _known_keys(query_filter, _FILTER_KEYS, "QueryFilter")
        if "expression" in query_filter:
            expression = query_filter["expression"]
            if not isinstance(expression, Mapping):
                raise QueryError("Invalid query: an expression must be an object.")
    predicate: Predicate = _always
    if expression is not None:
        predicate = _expression(expression, schema)
    elif not empty_matches_all:
        raise QueryError("Invalid query: a QueryFilter with an expression is required.")
    return Query(predicate, _sort(body.get("QuerySort"), schema))


def _known_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [key for key in obj if key not in allowed and key != _TYPE]
    if unknown:
        raise QueryError(
            f"Invalid query: unknown key {unknown[0]!r} in {where}; expected "
            f"{' or '.join(repr(k) for k in allowed)}."
        )


def _always(_facts: Mapping[str, Any]) -> bool:
    return True


def _expression(expr: Any, schema: QuerySchema) -> Predicate:
    if not isinstance(expr, Mapping):
        raise QueryError("Invalid query: an expression must be an object.")
    operator = expr.get("operator")
    if "nestedExpression" in expr or operator in ("and", "or"):
        if operator not in ("and", "or"):
            raise QueryError(
                f"Invalid query: grouping operator must be 'and' or 'or', not {operator!r}."
            )
        _known_keys(expr, _GROUPING_KEYS, "a grouping expression")
        nested = expr.get("nestedExpression", [])
        if not isinstance(nested, list):
            raise QueryError("Invalid query: nestedExpression must be a list of expressions.")
        parts = [_expression(e, schema) for e in nested]
        if operator == "or" and (among := _equals_any(nested, schema)) is not None:
            return among  # the same answer as any(parts), in one set lookup
        combine = all if operator == "and" else any
        return lambda facts: combine(p(facts) for p in parts)
    return _simple(expr, schema)


def _equals_any(nested: list[Any], schema: QuerySchema) -> Predicate | None:
    """An ``or`` of ``EQUALS`` on one string property (runs by executionId) as a set lookup.

    Called once ``nested`` has parsed, so each is a valid simple expression; None when the
    group is anything else.
    """
    props = {e.get("property") for e in nested if e.get("operator") == "EQUALS"}
    if len(props) != 1 or len(nested) < 2 or any(e.get("operator") != "EQUALS" for e in nested):
        return None
    prop = str(props.pop())
    if schema.properties[prop] != "string":
        return None
    values = frozenset(str(e["argument"][0]) for e in nested)

    def predicate(facts: Mapping[str, Any]) -> bool:
        value = facts.get(prop)
        if isinstance(value, list):
            return any(v is not None and str(v) in values for v in value)
        return value is not None and str(value) in values

    return predicate


def _simple(expr: Mapping[str, Any], schema: QuerySchema) -> Predicate:
    _known_keys(expr, _SIMPLE_KEYS, "a simple expression")
    operator, prop = expr.get("operator"), expr.get("property")
    if prop is None:
        raise QueryError("Invalid query: a simple expression needs a property.")
    if prop not in schema.properties:
        raise QueryError(f"Invalid query: unknown property {prop!r} for {schema.name}.")
    if operator is None:
        raise QueryError(f"Invalid query: the expression on {prop} needs an operator.")
    if operator not in schema.operators:
        raise QueryError(f"Invalid query: unknown operator {operator!r} for {schema.name}.")
    kind = schema.properties[str(prop)]
    raw = expr.get("argument", [])
    if not isinstance(raw, list):
        raise QueryError(
            f"Invalid query: argument of {prop} must be a list of strings, got {_shown(raw)}."
        )
    args = [_argument(a, kind, str(prop)) for a in raw]
    arity = _ARITY.get(str(operator), 1)
    if len(args) != arity:
        raise QueryError(
            f"Invalid query: operator {operator} on {prop} takes {arity} argument(s), "
            f"got {len(args)}."
        )
    values = [_convert(a, kind, str(prop)) for a in args]
    return _compare(str(operator), str(prop), kind, values)


def _argument(value: Any, kind: Kind, prop: str) -> str:
    """One argument as text: a string, or a boolean on a boolean property (KRX, §13)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) and kind == "boolean":
        return "true" if value else "false"
    raise QueryError(f"Invalid query: arguments of {prop} must be strings, got {_shown(value)}.")


def _shown(value: Any) -> str:
    """A JSON value as the client wrote it, cut short (for an Error message)."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(arg: str, kind: Kind, prop: str) -> Any:
    if kind == "number":
        try:
            return float(arg)
        except ValueError:
            raise QueryError(f"Invalid query: {prop} needs a number, got {arg!r}.") from None
    if kind == "date":
        try:
            value = datetime.fromisoformat(arg.replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(
                f"Invalid query: {prop} needs a date yyyy-MM-ddTHH:mm:ssZ, got {arg!r}."
            ) from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if kind == "boolean":
        return arg.strip().lower() == "true"
    return arg


def _fact(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "date":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return value is True or str(value).lower() == "true"
    return str(value)


def _compare(operator: str, prop: str, kind: Kind, args: list[Any]) -> Predicate:
    def test(value: Any) -> bool:
        if operator == "IS_NULL":
            return value is None or value == ""
        if operator == "IS_NOT_NULL":
            return not (value is None or value == "")
        if value is None:
            return operator in ("NOT_EQUALS", "NOT_CONTAINS")
        first = args[0]
        if operator == "EQUALS":
            return bool(value == first)
        if operator == "NOT_EQUALS":
            return bool(value != first)
        if operator == "LIKE":
            pattern = "".join(
                ".*" if part == "%" else re.escape(part) for part in re.split("(%)", str(first))
            )
            return re.fullmatch(pattern, str(value), flags=re.DOTALL) is not None
        if operator == "CONTAINS":
            return str(first) in str(value)
        if operator == "NOT_CONTAINS":
            return str(first) not in str(value)
        if operator == "BETWEEN":
            return bool(first <= value <= args[1])
        return bool(_ORDER[operator](value, first))

    def predicate(facts: Mapping[str, Any]) -> bool:
        value = facts.get(prop)
        if isinstance(value, list):
            return any(test(_fact(v, kind)) for v in value) if value else test(None)
        return test(_fact(value, kind))

    return predicate


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "GREATER_THAN": lambda a, b: a > b,
    "GREATER_THAN_OR_EQUAL": lambda a, b: a >= b,
    "LESS_THAN": lambda a, b: a < b,
    "LESS_THAN_OR_EQUAL": lambda a, b: a <= b,
}


def _sort(raw: Any, schema: QuerySchema) -> tuple[tuple[str, bool], ...]:
    default = ((schema.default_sort, False),) if schema.default_sort else ()
    if raw is None:
        return default
    if not isinstance(raw, Mapping):
        raise QueryError("Invalid query: QuerySort must be an object.")
    _known_keys(raw, _SORT_KEYS, "QuerySort")
    fields = raw.get("sortField")
    if not isinstance(fields, list):
        raise QueryError("Invalid query: QuerySort.sortField must be a list of sort fields.")
    out: list[tuple[str, bool]] = []
    for item in fields:
        if not isinstance(item, Mapping):
            raise QueryError("Invalid query: a sortField item must be an object.")
        _known_keys(item, _FIELD_KEYS, "a sortField item")
        name = item.get("fieldName")
        order = item.get("sortOrder", "ASC")
        if name not in schema.properties:
            raise QueryError(f"Invalid query: cannot sort {schema.name} by {name!r}.")
        if not isinstance(order, str) or order.upper() not in ("ASC", "DESC"):
            raise QueryError(f"Invalid query: sortOrder must be ASC or DESC, not {order!r}.")
        out.append((str(name), order.upper() == "DESC"))
    return tuple(out) or default
