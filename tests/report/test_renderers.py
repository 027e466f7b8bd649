"""Platform text in reports stays one inert line: no workflow command, no terminal escape."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.model import ApplyResult, RunResult
from reconciler.report import renderers as report

T = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
HOSTILE = "bad\n::error::pwned\r\x1b[2J|cell"


def _result() -> ApplyResult:
    run = RunResult(name="a", outcome="failure", status="ERROR", message=HOSTILE)
    return ApplyResult(environment="default", results=(run,), started_at=T, finished_at=T)


def test_apply_text_and_summary_keep_platform_text_on_one_line() -> None:
    text = report.apply_text(_result())
    assert not any(line.startswith("::") for line in text.splitlines())
    assert "\x1b" not in text
    assert "bad ::error::pwned |cell" in text
    summary = report.summary_markdown(_result())
    row = next(line for line in summary.splitlines() if line.startswith("| `a`"))
    assert row.endswith("| bad ::error::pwned \\|cell |")
