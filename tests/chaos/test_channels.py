"""The judges of the hostile-platform scenarios (``chaos.channels``), on known text.

Each judge must find the attack in raw hostile text, and find nothing in the same text once
it went through the channel filter meant for it (``reconciler.outbound``) or in the shapes the
tool itself writes: a judge that cries wolf would make the scenarios useless, one that sees
nothing would make them vacuous.
"""

from __future__ import annotations

import json

import pytest

from chaos import channels
from reconciler import outbound
from reconciler.github import workflow
from reconciler.sim.hostile import MARKER, PAYLOAD, echo_message

SECRET = 'cnry-0123456789abcdef"q\tt  s\nn<&>+/=%\\é-end'
NAMES = {"orders", "inj-00"}


def log_findings(text: str, masks: set[str] | None = None) -> channels.Findings:
    return channels.scan_log(text, "log", masks=masks or set(), names=NAMES)


def test_a_raw_payload_in_a_log_forges_commands_masks_and_escapes() -> None:
    found = log_findings(f"run failed: {PAYLOAD}\n")
    assert len(found.forged_commands) >= 4  # ::error, indented ::warning, ##[, ::stop-commands
    assert found.unknown_masks == [f"log: ::add-mask::{MARKER}"]
    assert found.escapes
    assert found.total > 0


def test_the_log_filter_and_our_own_commands_pass() -> None:
    lines = [
        outbound.log(f"run failed: {PAYLOAD}"),
        workflow.group("reconciler plan (default)"),
        workflow.endgroup(),
        workflow.mask(SECRET),
        workflow.mask(json.dumps(SECRET)[1:-1]),
        *workflow.failed_run_annotations([("inj-00", "ERROR", outbound.log(PAYLOAD))]),
        workflow.annotation("error", "bad", file="specs/a.yaml", line=3, col=1),
    ]
    found = log_findings("\n".join(lines) + "\n", channels.mask_forms([SECRET]))
    assert found.total == 0, found.as_dict()
    assert found.own_commands == 6
    assert found.annotations_quoting_platform_text == 1  # quoted, escaped: not a command


@pytest.mark.parametrize(
    "line",
    [
        f"::error title={MARKER}::forged",
        "::error title=reconciler%3A someone-else::forged",
        "  ::group::indented",
        "::set-output name=x::y",
        "text ##[error]legacy",
    ],
)
def test_lines_that_are_not_our_shapes_are_forged(line: str) -> None:
    assert log_findings(line).forged_commands == [f"log: {line}"]


def test_markdown_judges_fences_html_and_mentions() -> None:
    raw = channels.scan_markdown(f"| a | b |\n|---|---|\n| x | {PAYLOAD} |\n", "summary.md")
    assert raw.raw_html
    assert raw.mentions
    assert raw.unclosed_fences == ["summary.md"]
    safe = "\n".join(
        [
            "| name | message |",
            "|---|---|",
            f"| {outbound.md_text('orders')} | {outbound.md_text(PAYLOAD)} |",
            "",
            outbound.md_fence(PAYLOAD, "text"),
            f"Run {outbound.md_code(PAYLOAD)} failed; see <details><summary>x</summary></details>",
            outbound.html_text(PAYLOAD),
        ]
    )
    found = channels.scan_markdown(safe + "\n", "summary.md")
    assert found.total == 0, found.as_dict()


def test_step_outputs_with_a_value_that_starts_a_line_of_its_own(tmp_path: object) -> None:
    ours = "count-failure=1\nplan-digest<<ghadelimiter_1\nevil=1\nghadelimiter_1\nreviewed=none\n"
    assert channels.scan_outputs(ours, "out").total == 0
    forged = channels.scan_outputs("count-failure=1\nevil=1\n", "out")
    assert forged.injected_outputs == ["out: evil=1"]


def test_json_and_xml_files() -> None:
    stored = json.dumps({"message": PAYLOAD, "status": "ERROR"}).encode()
    found = channels.scan_json(stored, "state.json")
    assert found.forged_commands
    assert found.escapes
    clean = json.dumps({"message": outbound.terminal(outbound.log(PAYLOAD))}).encode()
    assert channels.scan_json(clean, "state.json").total == 0
    assert channels.scan_json(b"{", "state.json").unreadable
    bad = f"<testsuite><testcase name='x'><failure>{PAYLOAD}</failure></testcase></testsuite>"
    assert channels.scan_xml(bad.encode(), "junit.xml").unreadable
    good = f"<testsuite><failure>{outbound.xml_text(PAYLOAD).replace('<', '&lt;')}</failure>"
    assert channels.scan_xml((good + "</testsuite>").encode(), "junit.xml").unreadable == []


def test_a_secret_echoed_by_the_platform_is_found_and_the_redactor_removes_every_form() -> None:
    # A cross-check of the judge and reconciler.outbound.Redactor: the echo quotes the body as
    # sent (JSON, ASCII-escaped), so its base64 holds the base64 of the *escaped* secret.
    body = json.dumps({"DynamicProcessProperties": {"value": SECRET}}).encode()
    echoed = echo_message(body)
    forms = channels.secret_forms(SECRET)
    found = channels.count_forms(echoed.encode(), forms)
    assert len(found) >= 4  # JSON-escaped, twice, URL-encoded, XML-escaped, base64
    assert any(form in echoed for form in channels.secret_forms(SECRET) if "%5C" in form)
    scrubbed = outbound.Redactor({"CANARY": SECRET}).scrub(echoed)
    assert channels.count_forms(scrubbed.encode(), forms) == []
    assert 'secret("CANARY")' in scrubbed
