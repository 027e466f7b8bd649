"""Several running executions in one QUERY: the batch the engine follows its runs with.

An edge helper of ``client`` (pure). Once a run's ``executionId`` is known, its record can be
read by ``POST /ExecutionRecord/query`` with an ``or`` of ``executionId EQUALS`` expressions
(boomi-platform-api.md §9.1; OAS ``ExecutionRecordGroupingExpression`` operator ``or``,
``nestedExpression`` of ``ExecutionRecordSimpleExpression``): up to ``BATCH`` runs per call,
the page size of §9.2, so the answer is one page. ``answered`` reads that answer as untrusted:
a record for an id not asked is dropped, duplicates that disagree drop that id (its run falls
back to its own poll), and an id the answer does not carry is simply absent, never "gone".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.boomi import fields
from reconciler.model import PlatformRecord

BATCH = 100  # executionIds in one QUERY: the records of one page (§9.2)


def askable(execution_ids: Iterable[str]) -> list[str]:
    """The ids that may go in a query (the shape of an id), each once, in order."""
    seen: dict[str, None] = {}
    for execution_id in execution_ids:
        if fields.is_identifier(execution_id):
            seen.setdefault(execution_id)
    return list(seen)


def answered(asked: Sequence[str], records: Iterable[PlatformRecord]) -> dict[str, PlatformRecord]:
    """The record of each asked id the answer carries once (or the same record more than once)."""
    wanted = set(asked)
    found: dict[str, PlatformRecord] = {}
    torn: set[str] = set()
    for record in records:
        key = record.execution_id
        if key not in wanted or key in torn:
            continue
        if key in found and found[key] != record:
            torn.add(key)
            del found[key]
            continue
        found[key] = record
    return found
