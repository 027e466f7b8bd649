"""The progress display: plain lines in CI, a redrawn status line on a terminal."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from reconciler.cli.progress import ProgressDisplay
from reconciler.model import (
    Adopted,
    Ambiguous,
    Event,
    Final,
    NoRecord,
    Notice,
    NotSubmitted,
    PollingStopped,
    Rejected,
    Retry,
    Skipped,
    StatusChanged,
    Submitted,
    TimedOut,
    Unknown,
)

T = datetime(2026, 1, 15, 10, 4, 12, tzinfo=UTC)


def test_plain_lines_in_ci() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=False, now=lambda: T)
    display(Submitted("a", "executionrecord-1"))
    display(Final("a", "COMPLETE", "execution-1"))
    display.close()
    assert out.getvalue() == (
        "[10:04:12] a: submitted as executionrecord-1\n[10:04:12] a: COMPLETE (execution-1)\n"
    )


def test_live_status_line_on_a_terminal() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=True, now=lambda: T)
    display(Submitted("a", "executionrecord-1"))
    display(Submitted("b", "executionrecord-2"))
    display(Final("a", "ERROR", "execution-1"))
    assert display.status_line() == "1 final, 1 in flight of 2 started"
    display.close()
    assert out.getvalue().endswith(
        "\r\033[K[10:04:12] a: ERROR (execution-1)\n1 final, 1 in flight of 2 started\r\033[K"
    )


def test_platform_text_cannot_start_a_workflow_command_or_move_the_cursor() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=False, now=lambda: T)
    display(Rejected("a", "bad\n::error::pwned\r\x1b[2J\u2028::add-mask::x"))
    assert out.getvalue() == "[10:04:12] a: rejected: bad ::error::pwned ::add-mask::x\n"


# Every event's line, exactly as the CLI printed it before events were typed.
LINES: list[tuple[Event, str]] = [
    (Submitted("a", "executionrecord-1"), "a: submitted as executionrecord-1"),
    (Adopted("a", "execution-1", "by query"), "a: adopted execution-1 by query"),
    (StatusChanged("a", "INPROCESS", "execution-1"), "a: INPROCESS (execution-1)"),
    (Final("a", "COMPLETE_WARN", "execution-1"), "a: COMPLETE_WARN (execution-1)"),
    (NotSubmitted("a", "secret X is not set"), "a: not submitted: secret X is not set"),
    (Rejected("a", "no such process"), "a: rejected: no such process"),
    (Ambiguous("a", "read timed out"), "a: unknown: read timed out"),
    (Unknown("a", "2 runs could be this submit"), "a: unknown: 2 runs could be this submit"),
    (Retry("a", 1, 2), "a: retry 1 of 2"),
    (Skipped("b", "a", "ERROR"), "b: not run: dependency a ended ERROR"),
    (NoRecord("a", 600.4), "a: no record after 600s; the next apply keeps waiting"),
    (TimedOut("a", "INPROCESS", 30), "a: still INPROCESS after 30s; the next apply resumes it"),
    (
        TimedOut("a", None, 30),
        "a: still waiting for its record after 30s; the next apply resumes it",
    ),
    (PollingStopped("a", "HTTP 500"), "a: still pending, polling stopped: HTTP 500"),
    (Notice("interrupted; state saved"), "*: interrupted; state saved"),
]


@pytest.mark.parametrize(("event", "line"), LINES, ids=[type(e).__name__ for e, _ in LINES])
def test_each_event_prints_its_line(event: Event, line: str) -> None:
    out = io.StringIO()
    ProgressDisplay(out, live=False, now=lambda: T)(event)
    assert out.getvalue() == f"[10:04:12] {line}\n"


ENDS_ITS_RUN: list[Event] = [
    Final("a", "ERROR", "e-1"),
    NotSubmitted("a", "secret X is not set"),
    Rejected("a", "no such process"),
    Unknown("a", "no run of this process"),
    Skipped("a", "b", "ERROR"),
    NoRecord("a", 600),
    TimedOut("a", "INPROCESS", 30),
    PollingStopped("a", "HTTP 500"),
]
GOES_ON: list[Event] = [
    Submitted("a", "executionrecord-1"),
    Adopted("a", "e-1", "by query"),
    StatusChanged("a", "ABORTED_RECOVERING", "e-1"),  # starts with ABORTED, yet not final
    StatusChanged("a", "INPROCESS", "e-1"),
    Ambiguous("a", "read timed out"),  # adoption is still looking for its run
    Retry("a", 1, 2),
]


@pytest.mark.parametrize("last", ENDS_ITS_RUN, ids=lambda e: type(e).__name__)
def test_a_run_whose_last_event_ends_it_counts_final(last: Event) -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(Submitted("b", "executionrecord-2"))
    display(last)
    assert display.status_line() == "1 final, 1 in flight of 2 started"


@pytest.mark.parametrize("last", GOES_ON, ids=lambda e: type(e).__name__)
def test_a_run_whose_last_event_does_not_end_it_is_in_flight(last: Event) -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(Final("b", "COMPLETE", "e-2"))
    display(last)
    assert display.status_line() == "1 final, 1 in flight of 2 started"


def test_notices_belong_to_no_run() -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(Notice("durations not surveyed further: access denied"))
    assert display.status_line() == "0 final, 0 in flight of 0 started"
