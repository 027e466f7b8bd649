"""The progress display: plain lines in CI, a redrawn status line on a terminal."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from reconciler.cli.progress import ProgressDisplay

T = datetime(2026, 1, 15, 10, 4, 12, tzinfo=UTC)


def test_plain_lines_in_ci() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=False, now=lambda: T)
    display("a", "submitted as executionrecord-1")
    display("a", "COMPLETE (execution-1)")
    display.close()
    assert out.getvalue() == (
        "[10:04:12] a: submitted as executionrecord-1\n[10:04:12] a: COMPLETE (execution-1)\n"
    )


def test_live_status_line_on_a_terminal() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=True, now=lambda: T)
    display("a", "submitted as executionrecord-1")
    display("b", "submitted as executionrecord-2")
    display("a", "ERROR (execution-1)")
    assert display.status_line() == "1 final, 1 in flight of 2 started"
    display.close()
    assert out.getvalue().endswith(
        "\r\033[K[10:04:12] a: ERROR (execution-1)\n1 final, 1 in flight of 2 started\r\033[K"
    )


def test_platform_text_cannot_start_a_workflow_command_or_move_the_cursor() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, live=False, now=lambda: T)
    display("a", "rejected: bad\n::error::pwned\r\x1b[2J\u2028::add-mask::x")
    assert out.getvalue() == "[10:04:12] a: rejected: bad ::error::pwned [2J ::add-mask::x\n"
