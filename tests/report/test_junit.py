"""``junit.xml`` with spec locations, the report of an apply with nothing to do, and the path
every reader looks a spec up by (relative to the repository root)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath
from xml.etree import ElementTree

import pytest

from reconciler.model import (
    Action,
    ActionKind,
    ApplyResult,
    DesiredRun,
    Location,
    Outcome,
    Phase,
    Plan,
    RunRequest,
    RunResult,
    StateEntry,
)
from reconciler.report import renderers as report
from reconciler.report.junit import junit_xml, noop_junit_xml
from reconciler.report.locations import repository_path

T = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
REQUEST = RunRequest(process_id="p", atom_id="a")


def _desired(name: str, file: str, line: int) -> DesiredRun:
    return DesiredRun(
        name=name, request=REQUEST, digest="d", source=Location(file=file, line=line, col=9)
    )


def _plan() -> Plan:
    entry = StateEntry(
        name="gone", digest="d", request=REQUEST, phase=Phase.FINAL, attempt_id="x", intent_at=T
    )
    return Plan(
        actions=(
            Action(
                name="a",
                kind=ActionKind.NOOP,
                reason="succeeded",
                desired=_desired("a", "s/a.yaml", 4),
            ),
            Action(
                name="b",
                kind=ActionKind.SKIP,
                reason="manual\x00 <b>\n::error::x",
                desired=_desired("b", "s/b.yaml", 9),
            ),
            Action(
                name="c",
                kind=ActionKind.NOOP,
                reason="up to date: ran 2026-01-15T10:00:00Z, ended ERROR",
                desired=_desired("c", "s/c.yaml", 2),
            ),
            Action(name="gone", kind=ActionKind.ORPHAN, reason="in state only", current=entry),
        ),
        environment="prod",
    )


def test_cases_carry_file_and_line_and_stay_valid_xml() -> None:
    result = ApplyResult(
        environment="prod",
        results=(RunResult(name="a", outcome="success"), RunResult(name="c", outcome="failure")),
        started_at=T,
        finished_at=T,
    )
    hostile = Location(file="s/\x00a&<\x1b.yaml", line=12)
    root = ElementTree.fromstring(junit_xml(result, {"a": hostile}))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert (cases["a"].get("file"), cases["a"].get("line")) == ("s/a&<.yaml", "12")
    assert cases["c"].get("file") is None  # a name without a source gets no location


def test_a_noop_report_skips_every_execution_of_the_specs_saying_why() -> None:
    plan = _plan()
    sources = {
        "a": Location(file="sub/s/a.yaml", line=4),
        "b": Location(file="sub/s/b.yaml", line=9),
    }
    root = ElementTree.fromstring(noop_junit_xml(plan, T, sources))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib == {
        "name": "reconciler.prod",
        "tests": "3",
        "failures": "0",
        "errors": "0",
        "skipped": "3",
        "timestamp": "2026-01-15T10:00:00Z",
        "time": "0.000",
    }
    cases = list(root.iter("testcase"))
    assert [(c.get("name"), c.get("file"), c.get("line")) for c in cases] == [
        ("a", "sub/s/a.yaml", "4"),
        ("b", "sub/s/b.yaml", "9"),
        ("c", None, None),
    ]
    messages = [c.find("skipped").get("message") for c in cases]  # type: ignore[union-attr]
    assert messages == [
        "up to date: succeeded",
        "skip: manual <b>\n::error::x",
        "up to date: ran 2026-01-15T10:00:00Z, ended ERROR",  # said once, the failure not again
    ]


def test_a_noop_summary_says_nothing_ran() -> None:
    summary = report.noop_summary_markdown(_plan(), T)
    assert summary.startswith(
        "# reconciler apply (prod)\n\nChecked 2026-01-15T10:00:00Z. Nothing ran: nothing to do "
        "(2 up to date, 1 skipped, 1 orphaned).\n"
    )
    assert "| `a` | noop | succeeded |" in summary
    assert not any(line.startswith("::") for line in summary.splitlines())


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("specs/a.yaml", "sub/specs/a.yaml"),  # relative to cwd, cwd under the root
        ("/repo/sub/specs/../x/a.yaml", "sub/x/a.yaml"),  # absolute, made plain
        ("/elsewhere/a.yaml", "/elsewhere/a.yaml"),  # outside the root: unchanged
        ("../../outside.yaml", "../../outside.yaml"),  # climbs out of the root: unchanged
        ("", ""),
    ],
)
def test_repository_path(file: str, expected: str) -> None:
    root, cwd = PurePosixPath("/repo"), PurePosixPath("/repo/sub")
    assert repository_path(file, cwd=cwd, root=root) == expected


def test_without_a_root_the_path_is_the_loaders() -> None:
    assert repository_path("specs/a.yaml", cwd=PurePosixPath("/x"), root=None) == "specs/a.yaml"


@pytest.mark.parametrize("count", [0, 1, 12])
def test_the_document_written_case_by_case_is_the_one_elementtree_lays_out_whole(
    count: int,
) -> None:
    """Each case is serialised on its own (no tree of every case in memory); the bytes are
    those of ``ElementTree.indent`` over the whole document, with every kind of case."""
    outcomes: tuple[Outcome, ...] = (
        "success",
        "failure",
        "skipped",
        "unknown",
        "unsent",
        "rejected",
    )
    results = tuple(
        RunResult(
            name=f"run-{i}<&\"'",
            outcome=outcomes[i % len(outcomes)],
            status="COMPLETE" if i % 2 else None,
            message='no \x01control <b> & "quotes"' if i % 3 else None,
            request_id=f"req-{i}",
            execution_id=f"exec-{i}" if i % 4 else None,
            duration_ms=i * 7,
        )
        for i in range(count)
    )
    result = ApplyResult(environment="default", results=results, started_at=T, finished_at=T)
    text = junit_xml(result, {"run-1<&\"'": Location(file="a&b.yaml", line=3)})
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    assert text.startswith(head)
    whole = ElementTree.fromstring(text[len(head) :])
    for element in whole.iter():  # what indent lays out again
        element.tail = None
        if len(element):
            element.text = None
    ElementTree.indent(whole)
    assert text == head + ElementTree.tostring(whole, encoding="unicode") + "\n"
    assert len(whole.findall("./testsuite/testcase")) == count
