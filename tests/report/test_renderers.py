"""Platform text in reports stays inert for its channel.

One line per cell in the terminal tables; no workflow command, no raw HTML, no @mention and no
fence a text can close in the Markdown reports; nothing XML forbids in ``junit.xml``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

from reconciler.model import Action, ActionKind, ApplyResult, Plan, RunResult
from reconciler.report import renderers as report
from reconciler.report.junit import junit_xml

T = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
HOSTILE = "bad\n::error::pwned\r\x1b[2J|cell"
#: What a platform message (or a changed value) could hold to take a Markdown report over.
TAKEOVER = (
    "x\n```\n</details><img src=x onerror=alert(1)>\n@someone #1 https://evil.example\n"
    "::error title=x::pwned\n::add-mask::x\n##[group]y\x00\x0b\x1b]8;;http://e\x07z"
)


def _result(message: str = HOSTILE, status: str = "ERROR") -> ApplyResult:
    run = RunResult(
        name="a",
        outcome="failure",
        status=status,
        message=message,
        request_id="r\n::x",
        execution_id="e\x00",
    )
    return ApplyResult(environment="default", results=(run,), started_at=T, finished_at=T)


def _outside_code(markdown: str) -> str:
    """The text GitHub renders as Markdown: fenced blocks and code spans taken out."""
    out, fence = [], None
    for line in markdown.split("\n"):
        opening = re.fullmatch(r"(`{3,})\w*", line)
        if fence is None and opening:
            fence = opening[1]
        elif fence is not None and re.fullmatch(f"{fence}`*", line):
            fence = None
        elif fence is None:
            out.append(re.sub(r"(`+)[^`].*?\1", "", line))
    assert fence is None, "a fence left open"
    return "\n".join(out)


def _inert(markdown: str) -> None:
    assert not any(line.lstrip().startswith("::") for line in markdown.split("\n"))
    assert "##[" not in markdown
    assert "\x1b" not in markdown
    assert "\x00" not in markdown
    rendered = _outside_code(markdown)
    tags = re.findall(r"<[^>]*>", rendered)
    assert set(tags) <= {"<details>", "</details>", "<summary>", "</summary>", "<code>", "</code>"}
    assert not re.search(r"@\w", rendered)
    assert "https://evil" not in rendered


def test_apply_text_and_summary_keep_platform_text_on_one_line() -> None:
    text = report.apply_text(_result())
    assert not any(line.startswith("::") for line in text.splitlines())
    assert "\x1b" not in text
    assert "bad ::error::pwned |cell" in text
    summary = report.summary_markdown(_result())
    row = next(line for line in summary.splitlines() if line.startswith("| `a`"))
    assert row.endswith("| bad \\:\\:error\\:\\:pwned \\|cell |")


def test_the_summary_is_inert_whatever_the_platform_says() -> None:
    summary = report.summary_markdown(_result(TAKEOVER, status="<b>ERROR</b>\n::error::s"))
    _inert(summary)
    rows = [line for line in summary.split("\n") if line.startswith("| `a`")]
    assert len(rows) == 1
    assert rows[0].count(" | ") == 6, "the message stays in its cell"


def test_plan_markdown_changes_cannot_close_their_fence() -> None:
    plan = Plan(
        actions=(
            Action(
                name="orders",
                kind=ActionKind.RERUN,
                reason=TAKEOVER,
                changes=("A: ``` → ````", TAKEOVER, "</details>"),
            ),
        ),
        environment="default",
    )
    markdown = report.plan_markdown(plan)
    _inert(markdown)
    rendered = _outside_code(markdown)
    assert rendered.count("<details>") == rendered.count("</details>") == 1
    lines = markdown.split("\n")
    start = lines.index("`````diff")  # one longer than the longest run inside
    assert lines.index("`````") > start


def test_a_terminal_table_row_is_one_line() -> None:
    plan = Plan(actions=(Action(name="o", kind=ActionKind.SUBMIT, reason=HOSTILE),))
    text = report.plan_text(plan)
    assert not any(line.startswith("::") for line in text.split("\n"))
    assert [line.split()[:2] for line in text.split("\n")[2:3]] == [["+", "o"]]


def test_junit_xml_is_valid_xml_whatever_the_platform_says() -> None:
    xml = junit_xml(_result(TAKEOVER))
    root = ElementTree.fromstring(xml)  # the raw file failed here: \x00, \x0b, \x1b
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message", "").startswith("ERROR: x\n```\n</details><img")
    out = root.find("testsuite/testcase/system-out")
    assert out is not None
    assert out.text == "requestId=r\n::x executionId=e"
