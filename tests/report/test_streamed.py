"""The apply's reports written and printed in pieces are the same bytes as rendered whole.

``summary.md``, ``junit.xml`` and the terminal table of an apply are rendered, scrubbed and
written a few hundred runs at a time (issue 18: a 30,000-run apply held each whole, and a
scrubbed copy). These tests render one result of more runs than a piece holds both ways: the
real ``write_apply_artifacts`` and CLI printer against the whole text scrubbed at once, and
against the digests of what the code before the change wrote for the same result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from reconciler.cli import terminal
from reconciler.cli.base import OUTPUT, add_secrets
from reconciler.model import ApplyResult, Location, RunResult
from reconciler.outbound import Redactor
from reconciler.report import renderers
from reconciler.report.junit import junit_pieces, junit_xml
from reconciler.store.artifacts import write_apply_artifacts
from reconciler.store.redact import scrub_result, scrub_xml

SECRET = "hunter2-Zq9-canary"
REDACTOR = Redactor({"API_KEY": SECRET})
AT = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
RUNS = 1234  # more than two pieces of 500 runs
STATS = {"HTTP calls": 4321, "note": f"token {SECRET}"}
NOTES = f"### Review\n\nreviewed by {SECRET} <b>&amp;</b>\n"

#: sha256 of what the code before the change (commit 74395b9: each report rendered whole, then
#: scrubbed whole) wrote for ``_result()`` with ``STATS``, ``NOTES`` and ``REDACTOR``, and of
#: what it printed for the apply table (``echo_painted(apply_text(...))``, no colour).
BEFORE = {
    "summary.md": "5ae4e9366880fd8eefd3e752b902d21315ccb045fa573592817eacb9b601085f",
    "junit.xml": "6e79ac0bb96403d7306f0ac29bcae08c55e1d5fdf571aba6b00d83c290d64461",
    "table": "d9afa505694402e3ed2431ed6201e343faaa0e8ad71056d7ef54bbe7ef5b8046",
}


def _result() -> ApplyResult:
    """Every outcome, secrets in names and messages, and text XML, Markdown and a log escape."""
    kinds = ("success", "failure", "skipped", "pending", "unknown", "rejected", "unsent")
    runs = []
    for i in range(RUNS):
        outcome = kinds[i % len(kinds)]
        message = {
            0: None,
            1: f"bad <input> & \"quotes\" '{SECRET}' \x01 | *md* #1 @you",
            2: "passed over: ::set-output name=x::y",
            3: "still running\nsecond line \x1b[31mred\x1b[0m",
            4: "lost: ]]> <![CDATA[ x ]]>",
            5: f"rejected: echo {SECRET}",
            6: None,
        }[i % 7]
        name = f"job-{SECRET}-{i}" if i % 97 == 0 else f"job-{i:05d}"
        runs.append(
            RunResult(
                name=name,
                outcome=outcome,  # type: ignore[arg-type]
                status={"success": "COMPLETE", "failure": "ERROR", "pending": "INPROCESS"}.get(
                    outcome
                ),
                message=message,
                request_id=f"req-{i}" if i % 3 else None,
                execution_id=f"execution-{i}-2026.01.15" if i % 3 else None,
                duration_ms=None if i % 11 == 0 else i * 37,
                polls=i % 5,
                http_calls=i % 9,
                waited_for_record_s=(i % 4) * 0.25,
            )
        )
    return ApplyResult(
        environment="prod",
        results=tuple(runs),
        started_at=AT,
        finished_at=AT + timedelta(seconds=93.5),
    )


def _sources(result: ApplyResult) -> dict[str, Location]:
    return {
        r.name: Location(file="specs/a&b.yaml", line=i + 1) for i, r in enumerate(result.results)
    }


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_summary_and_junit_written_in_pieces_are_the_whole_texts_scrubbed(tmp_path: Path) -> None:
    result = _result()
    folder = tmp_path / "artifacts" / "prod"
    write_apply_artifacts(
        folder, result, {}, STATS, notes=NOTES, redactor=REDACTOR, sources=_sources(result)
    )
    summary = (folder / "summary.md").read_bytes()
    junit = (folder / "junit.xml").read_bytes()

    scrubbed = scrub_result(result, REDACTOR)
    whole = renderers.summary_markdown(scrubbed, STATS) + f"\n{NOTES}\n"
    assert summary.decode() == REDACTOR.scrub(whole)
    assert junit.decode() == scrub_xml(junit_xml(scrubbed, _sources(result)), REDACTOR)
    assert _digest(summary) == BEFORE["summary.md"]
    assert _digest(junit) == BEFORE["junit.xml"]

    for data in (summary, junit):  # the secret in names, messages, stats and notes is gone
        assert SECRET.encode() not in data
    assert summary.count(b'secret("API_KEY")') > RUNS // 97
    cases = ElementTree.fromstring(junit).findall("./testsuite/testcase")
    assert len(cases) == RUNS
    assert cases[1].get("file") == "specs/a&b.yaml"
    assert cases[1].find("failure").get("message").startswith('ERROR: bad <input> & "quotes"')  # type: ignore[union-attr]


def test_pieces_hold_whole_lines_and_join_to_the_document() -> None:
    result = _result()
    lines = list(renderers.summary_lines(result, STATS, size=100))
    assert len(lines) > 10
    assert all(piece.endswith("\n") for piece in lines)
    assert "".join(lines) == renderers.summary_markdown(result, STATS)
    pieces = list(junit_pieces(result, _sources(result), size=100))
    assert len(pieces) > 10
    assert all(piece.startswith("\n") for piece in pieces[1:])  # each right after a tag's ">"
    assert "".join(pieces) == junit_xml(result, _sources(result))
    table = list(renderers.apply_lines(result))
    assert len(table) > 2
    assert "".join(table) == renderers.apply_text(result) + "\n"


def test_a_summary_piece_withheld_whole_withholds_the_whole_summary(tmp_path: Path) -> None:
    # "abc" + the "s" of secret("...") spells the secret again after every pass: scrubbing
    # withholds a text that holds this name whole, and the summary scrubbed whole was withheld.
    redactor = Redactor({"API_KEY": "abcs"})
    runs = [RunResult(name=f"job-{i}", outcome="success") for i in range(700)]
    runs[650] = RunResult(name="abc" * 5 + "abcs", outcome="success")
    result = ApplyResult(environment="prod", results=tuple(runs), started_at=AT, finished_at=AT)
    folder = tmp_path / "artifacts" / "prod"
    write_apply_artifacts(folder, result, {}, redactor=redactor)
    written = (folder / "summary.md").read_text()
    assert written == redactor.scrub(renderers.summary_markdown(result)) == 'secret("API_KEY")'
    # the first, abandoned write left no temp file behind
    assert sorted(p.name for p in folder.iterdir()) == ["junit.xml", "summary.md"]


def test_a_secret_with_a_line_break_is_scrubbed_from_the_whole_summary(tmp_path: Path) -> None:
    # Matches only across two rows: a piece of whole lines alone could not see it.
    secret = "0.0s |  |\n| `job-00500"
    redactor = Redactor({"API_KEY": secret})
    runs = tuple(RunResult(name=f"job-{i:05d}", outcome="success") for i in range(700))
    result = ApplyResult(environment="prod", results=runs, started_at=AT, finished_at=AT)
    folder = tmp_path / "artifacts" / "prod"
    write_apply_artifacts(folder, result, {}, redactor=redactor)
    written = (folder / "summary.md").read_text()
    assert written == redactor.scrub(renderers.summary_markdown(result))
    assert 'secret("API_KEY")' in written
    assert secret not in written


@pytest.fixture
def secrets() -> Iterator[None]:
    add_secrets({"API_KEY": SECRET})
    yield
    OUTPUT.reset()


@pytest.mark.usefixtures("secrets")
@pytest.mark.parametrize("colour", [False, True])
def test_the_apply_table_printed_in_pieces_is_the_whole_table_printed(
    colour: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1" if colour else "0")
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain = tuple(r for r in _result().results if r.message is None and SECRET not in r.name)
    whole = ""
    for result in (_result(), _result().model_copy(update={"results": plain})):
        paint = terminal.painter()
        terminal.echo_painted(renderers.apply_text(result, paint=paint))
        whole = capsys.readouterr().out
        terminal.echo_painted_lines(
            lambda r=result, p=paint: renderers.apply_lines(r, paint=p)  # type: ignore[misc]
        )
        assert capsys.readouterr().out == whole
        assert SECRET not in whole
        assert "\x1b[31mred" not in whole  # the platform's own escape, never printed
    # the second result holds no secret and nothing to defuse: coloured when asked
    assert ("\x1b[" in whole) is colour


@pytest.mark.usefixtures("secrets")
def test_the_apply_table_is_what_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    terminal.echo_painted_lines(lambda: renderers.apply_lines(_result()))
    assert _digest(capsys.readouterr().out.encode()) == BEFORE["table"]
