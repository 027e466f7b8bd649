"""The progress display: plain lines in CI, a redrawn status line on a terminal."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.cli.progress import ProgressDisplay, elapsed_text
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
from tests.conftest import INVOICES, ORDERS, PROD_ATOM, Admin, build_tree, spec

T = datetime(2026, 1, 15, 10, 4, 12, tzinfo=UTC)


class Clock:
    """The display's injected clock: it moves only when a test says so."""

    def __init__(self) -> None:
        self.at = T

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


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
    assert display.status_line() == "1 ERROR, 1 submitted · 0s"
    display.close()
    assert out.getvalue().endswith(
        "\r\033[K[10:04:12] a: ERROR (execution-1)\n1 ERROR, 1 submitted · 0s\r\033[K"
    )


def test_the_live_line_counts_each_status_and_the_queue_and_says_the_time() -> None:
    clock = Clock()
    display = ProgressDisplay(io.StringIO(), live=True, now=clock.now)
    display.planned("test", 10)
    assert display.status_line() == "apply test: 10 queued · 0s"
    for index, status in enumerate(["COMPLETE", "ERROR", "COMPLETE", "INPROCESS", "COMPLETE"]):
        name = f"run-{index}"
        display(Submitted(name, f"executionrecord-{index}"))
        event = Final if status != "INPROCESS" else StatusChanged
        display(event(name, status, f"execution-{index}"))
    display(StatusChanged("run-5", "INPROCESS", "execution-5"))
    clock.advance(72.9)
    assert display.status_line() == (
        "apply test: 3 COMPLETE, 1 ERROR, 2 INPROCESS, 4 queued · 1m12s"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (72, "1m12s"), (3599, "59m59s"), (7500, "2h05m")],
)
def test_elapsed_time_reads_as_people_write_it(seconds: float, text: str) -> None:
    assert elapsed_text(seconds) == text


def test_a_platform_status_cannot_stretch_or_break_the_live_line() -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(StatusChanged("a", "INPROCESS\x1b[2J" + "X" * 100, "execution-1"))
    assert display.status_line() == f"1 INPROCESS {'X' * 14} · 0s"


@pytest.mark.anyio
async def test_the_live_line_is_redrawn_while_nothing_happens() -> None:
    clock = Clock()
    out = io.StringIO()
    display = ProgressDisplay(out, live=True, now=clock.now)
    display.planned("prod", 2)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    async def work() -> str:
        for _ in range(5):
            await asyncio.sleep(0)
        return "done"

    assert await display.alongside(work(), sleep) == "done"
    frames = out.getvalue().split("\r\033[K")[1:]
    assert frames[:3] == [
        "apply prod: 2 queued · 0s",
        "apply prod: 2 queued · 1s",
        "apply prod: 2 queued · 2s",
    ]


@pytest.mark.anyio
async def test_plain_output_is_never_redrawn() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=False, now=lambda: T)

    async def sleep(seconds: float) -> None:
        raise AssertionError("no redraws without a terminal")

    async def work() -> int:
        await asyncio.sleep(0)
        return 1

    assert await display.alongside(work(), sleep) == 1
    assert out.getvalue() == ""


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


# What a run counts as in the live line when its last event is each of these.
ENDED_WORDS = ["ERROR", "not submitted", "rejected", "unknown", "skipped", *["pending"] * 3]
GOING_WORDS = ["submitted", "adopted", "ABORTED_RECOVERING", "INPROCESS", "resolving", "retrying"]
ENDED_AS = list(zip(ENDS_ITS_RUN, ENDED_WORDS, strict=True))
GOING_AS = list(zip(GOES_ON, GOING_WORDS, strict=True))


@pytest.mark.parametrize(("last", "word"), ENDED_AS, ids=[type(e).__name__ for e, _ in ENDED_AS])
def test_a_run_whose_last_event_ends_it_counts_first(last: Event, word: str) -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(StatusChanged("b", "AAA", "execution-2"))  # sorts first among words, yet goes on
    display(last)
    assert display.status_line() == f"1 {word}, 1 AAA · 0s"


@pytest.mark.parametrize(("last", "word"), GOING_AS, ids=[type(e).__name__ for e, _ in GOING_AS])
def test_a_run_whose_last_event_does_not_end_it_counts_after_those_ended(
    last: Event, word: str
) -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(Final("b", "ZZZ", "e-2"))  # sorts last among words, yet ended
    display(last)
    assert display.status_line() == f"1 ZZZ, 1 {word} · 0s"


def test_notices_belong_to_no_run() -> None:
    display = ProgressDisplay(io.StringIO(), live=True, now=lambda: T)
    display(Notice("durations not surveyed further: access denied"))
    assert display.status_line() == "nothing started · 0s"


class Terminal(io.StringIO):
    """Standard error as an interactive terminal shows it (a stream that says it is one)."""

    def isatty(self) -> bool:
        return True


def test_the_apply_keeps_a_live_line_with_counts_and_time_on_a_terminal(
    workspace: Path, sim: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_tree(
        workspace,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/invoices.yaml": spec("invoices", INVOICES, PROD_ATOM),  # ends ERROR
        },
    )
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with pytest.raises(SystemExit) as exited:
        main(["apply"])
    assert exited.value.code == 3
    frames = terminal.getvalue().split("\r\033[K")
    lines = [line for frame in frames for line in frame.split("\n")]
    live = re.compile(r"apply default: .* · \d+s").fullmatch
    assert any(re.fullmatch(r"apply default: 2 queued · \d+s", line) for line in lines)
    assert any(live(line) and "1 COMPLETE" in line for line in lines)
    assert any(live(line) and "1 COMPLETE, 1 ERROR · " in line for line in lines)
    assert frames[-1] == ""  # cleared at the end, before the results
