"""PURE. The QUERY filter grammar (boomi-platform-api.md §9.1) and its evaluation.

Owns parsing a ``QueryConfig`` JSON body (``QueryFilter.expression`` with simple and
grouping expressions, ``QuerySort``) against an object's ``QuerySchema`` (which properties and
operators it allows, and how each property compares), and applying it to a list of
``(key, facts)`` pairs. Bad filters raise ``QueryError`` with the message the 400 Error body
carries. No HTTP, no simulator state.
"""

from __future__ import annotations

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


def parse_query(body: Any, schema: QuerySchema) -> Query:
    """Parse a QueryConfig body.

    Raises:
        QueryError: unknown property/operator, wrong argument count, bad value or shape.
    """
    if not isinstance(body, Mapping):
        raise QueryError("Invalid query: the body must be a QueryConfig object.")
    query_filter = body.get("QueryFilter")
    predicate: Predicate = _always
    if query_filter is not None:
        if not isinstance(query_filter, Mapping):
            raise QueryError("Invalid query: QueryFilter must be an object.")
        expression = query_filter.get("expression")
        if expression is not None:
            predicate = _expression(expression, schema)
    return Query(predicate, _sort(body.get("QuerySort"), schema))


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
        nested = expr.get("nestedExpression") or []
        nested = [nested] if isinstance(nested, Mapping) else nested
        if not isinstance(nested, list):
            raise QueryError("Invalid query: nestedExpression must be a list.")
        parts = [_expression(e, schema) for e in nested]
        combine = all if operator == "and" else any
        return lambda facts: combine(p(facts) for p in parts)
    return _simple(expr, schema)


def _simple(expr: Mapping[str, Any], schema: QuerySchema) -> Predicate:
    operator, prop = expr.get("operator"), expr.get("property")
    if prop not in schema.properties:
        raise QueryError(f"Invalid query: unknown property {prop!r} for {schema.name}.")
    if operator not in schema.operators:
        raise QueryError(f"Invalid query: unknown operator {operator!r} for {schema.name}.")
    raw = expr.get("argument", [])
    raw = [raw] if not isinstance(raw, list) else raw
    args = [_text(a) for a in raw]
    arity = _ARITY.get(str(operator), 1)
    if len(args) != arity:
        raise QueryError(
            f"Invalid query: operator {operator} on {prop} takes {arity} argument(s), "
            f"got {len(args)}."
        )
    kind = schema.properties[str(prop)]
    values = [_convert(a, kind, str(prop)) for a in args]
    return _compare(str(operator), str(prop), kind, values)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
    fields = raw.get("sortField") or []
    fields = [fields] if isinstance(fields, Mapping) else fields
    out: list[tuple[str, bool]] = []
    for item in fields:
        name = item.get("fieldName") if isinstance(item, Mapping) else None
        order = str(item.get("sortOrder", "ASC")).upper() if isinstance(item, Mapping) else ""
        if name not in schema.properties:
            raise QueryError(f"Invalid query: cannot sort {schema.name} by {name!r}.")
        if order not in ("ASC", "DESC"):
            raise QueryError(f"Invalid query: sortOrder must be ASC or DESC, not {order!r}.")
        out.append((str(name), order == "DESC"))
    return tuple(out) or default
