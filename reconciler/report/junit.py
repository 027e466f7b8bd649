"""``junit.xml``: one test case per execution, for the test-report readers of CI systems.

Pure: returns the document as a string, or in pieces (``junit_pieces``) that ``store.artifacts``
writes one after the other. Every test case carries ``file`` and ``line``, where its spec
declares the execution (relative to the repository root: ``report.locations``), so a reader that
annotates failures points at the spec. Every string passes ``xml_text``: ElementTree escapes
markup but writes the control characters XML 1.0 forbids, and JUnit readers then reject the
whole file.

The document is serialised one test case at a time (``_document``), each indented as
``ElementTree.indent`` indents the whole tree: the same bytes, without a tree of every case of
a 30,000-execution apply in memory, and (written in pieces) without its whole text either.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from xml.etree import ElementTree

from reconciler.model import Action, ActionKind, ApplyResult, Location, Plan, RunResult
from reconciler.outbound import xml_text as x
from reconciler.report.renderers import run_status, timestamp


def junit_xml(result: ApplyResult, sources: Mapping[str, Location] | None = None) -> str:
    """One test case per execution the apply ran; the platform's message as failure text.

    ``sources`` maps a name to where its spec declares it (``file``, ``line``); a name it
    lacks (or none given) gets no location.
    """
    return "".join(junit_pieces(result, sources))


def junit_pieces(
    result: ApplyResult, sources: Mapping[str, Location] | None = None, *, size: int = 500
) -> Iterator[str]:
    """``junit_xml`` in pieces: the head, up to ``size`` test cases at a time, the tail.

    ``artifacts`` writes (and scrubs) it a piece at a time. Every piece after the first starts
    right after a tag's ``>`` (a piece holds whole test cases), so text and attribute values,
    what ``store.redact.scrub_xml`` scrubs, never straddle two pieces.
    """
    suite = _suite(
        result.environment,
        tests=len(result.results),
        failures=result.count("failure"),
        errors=sum(result.count(o) for o in ("rejected", "unknown", "pending", "unsent")),
        skipped=result.count("skipped"),
        at=result.started_at,
        seconds=(result.finished_at - result.started_at).total_seconds(),
    )
    cases = (_result_case(result.environment, r, sources or {}) for r in result.results)
    return _pieces(suite, cases, size)


def _result_case(environment: str, r: RunResult, sources: Mapping[str, Location]) -> str:
    case = _case(environment, r.name, sources.get(r.name))
    case.set("time", f"{(r.duration_ms or 0) / 1000:.3f}")
    text = x(f"{run_status(r)}: {r.message or 'no message'}")
    if r.outcome == "failure":
        failure = ElementTree.SubElement(case, "failure", message=text, type=x(r.status or ""))
        failure.text = text
    elif r.outcome == "skipped":
        ElementTree.SubElement(case, "skipped", message=x(r.message or "skipped"))
    elif r.outcome != "success":
        error = ElementTree.SubElement(case, "error", message=text, type=r.outcome)
        error.text = text
    if r.execution_id:
        ElementTree.SubElement(case, "system-out").text = x(
            f"requestId={r.request_id} executionId={r.execution_id}"
        )
    return _text(case)


def noop_junit_xml(plan: Plan, at: datetime, sources: Mapping[str, Location] | None = None) -> str:
    """The report of an apply with nothing to do: every execution a skipped case saying why.

    Skipped, not passed: nothing ran in this apply (a failed last run is not reported again).
    An up-to-date execution says ``up to date: <reason>`` (its last run and how it ended); one
    the plan skips gives ``skip: <reason>``. Orphans (in state, in no spec) are no execution of
    the specs and have no case.
    """
    actions = [a for a in plan.actions if a.kind is not ActionKind.ORPHAN]
    suite = _suite(
        plan.environment,
        tests=len(actions),
        failures=0,
        errors=0,
        skipped=len(actions),
        at=at,
        seconds=0.0,
    )
    cases: list[str] = []
    for action in actions:
        case = _case(plan.environment, action.name, (sources or {}).get(action.name))
        case.set("time", "0.000")
        ElementTree.SubElement(case, "skipped", message=x(_why(action)))
        cases.append(_text(case))
    return _document(suite, cases)


def _why(action: Action) -> str:
    if action.kind is not ActionKind.NOOP:
        return f"{action.kind.value}: {action.reason}"
    # The planner's own "up to date: ran ..., ended COMPLETE" says it already.
    up = "up to date"
    return action.reason if action.reason.startswith(up) else f"{up}: {action.reason}"


def _suite(
    environment: str,
    *,
    tests: int,
    failures: int,
    errors: int,
    skipped: int,
    at: datetime,
    seconds: float,
) -> ElementTree.Element:
    return ElementTree.Element(
        "testsuite",
        name=x(f"reconciler.{environment}"),
        tests=str(tests),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        timestamp=timestamp(at),
        time=f"{seconds:.3f}",
    )


def _case(environment: str, name: str, source: Location | None) -> ElementTree.Element:
    attributes = {"classname": x(f"reconciler.{environment}"), "name": x(name)}
    if source is not None:
        attributes |= {"file": x(source.file), "line": str(source.line)}
    return ElementTree.Element("testcase", attributes)


_CASE_LEVEL = 2  # testsuites > testsuite > testcase
_INDENT = "  "


def _text(case: ElementTree.Element) -> str:
    """One test case as ``ElementTree.indent`` would lay it out inside the whole document."""
    ElementTree.indent(case, space=_INDENT, level=_CASE_LEVEL)
    return ElementTree.tostring(case, encoding="unicode")


def _document(suite: ElementTree.Element, cases: list[str]) -> str:
    """``<testsuites>`` around ``suite`` and its ``cases`` (each from ``_text``), indented."""
    return "".join(_pieces(suite, iter(cases), len(cases) or 1))


def _pieces(suite: ElementTree.Element, cases: Iterator[str], size: int) -> Iterator[str]:
    """``_document`` in pieces: the head, ``size`` cases at a time (read as they come), the tail."""
    first = next(cases, None)
    if first is None:
        body = ElementTree.tostring(suite, encoding="unicode")
        yield f"{_XML_DECLARATION}<testsuites>\n{_INDENT}{body}\n</testsuites>\n"
        return
    suite.text = "\0"  # the open and close tags of the suite, as the serialiser writes them
    head, _, tail = ElementTree.tostring(suite, encoding="unicode").partition("\0")
    yield f"{_XML_DECLARATION}<testsuites>\n{_INDENT}{head}"
    inner = "\n" + _INDENT * _CASE_LEVEL
    batch = [first]
    for case in cases:
        if len(batch) >= size:
            yield inner + inner.join(batch)
            batch = []
        batch.append(case)
    yield inner + inner.join(batch)
    yield f"\n{_INDENT}{tail}\n</testsuites>\n"


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
