"""The apply's outcome on a merged pull request: the runs that did not succeed, the comment.

Pure. After an apply on the default branch, ``reconciler github apply-comment`` tells each
pull request the apply covered how it went, in a sticky comment of its own per environment:
its first line is ``<!-- reconciler-apply:<env> -->`` (another marker than the plan comment's,
so the two are kept apart and each is updated in place), then the counts by outcome, each run
that failed, was rejected, is unknown, unsent or still running with its message, the review's
status, the plan digest and a link to the apply run.

What it shows comes from the apply's own files (``apply.json`` for counts, digest and review,
``junit.xml`` for the runs, optionally ``summary.md``), which a pull request could have
committed in their place, and from the platform's run messages: so every string is rendered
inert (``md_code`` for names, ``md_text`` for messages and reasons, ``md_fence`` for the
summary: no mention, link, HTML or table cell it can open), and the comment is capped below
GitHub's limit. ``parse_junit`` reads the report strictly: no document type (so no entity of
any kind), a bound on the test cases read, attributes only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

from reconciler.errors import UserError
from reconciler.outbound import md_code, md_fence, md_text
from reconciler.report.apply_record import ApplyRecord

COMMENT_LIMIT = 60_000  # GitHub refuses comment bodies over 65,536 characters
ROW_LIMIT = 50  # runs listed; the rest are counted
CASE_LIMIT = 100_000  # test cases read from junit.xml
MESSAGE_LIMIT = 300
SUMMARY_LIMIT = 20_000  # characters of summary.md shown, folded

ISSUES = ("failure", "rejected", "unknown", "unsent", "pending")
_WORDS = {
    "success": "succeeded",
    "failure": "failed",
    "rejected": "rejected",
    "unknown": "unknown",
    "unsent": "not sent",
    "pending": "still running",
    "skipped": "skipped",
}
_REVIEW = {
    "match": "the apply ran the plan that was reviewed",
    "covered": "every change the apply sent was in a reviewed plan",
    "differs": "the apply's plan differed from the reviewed plan (the run lists each difference)",
    "none": "no reviewed plan covered this apply",
}
_MARKER = re.compile(r"<!-- reconciler-apply:(?P<env>[a-z][a-z0-9-]{0,62}) -->")
_DOCTYPE = re.compile(rb"<!\s*(?:doctype|entity)", re.IGNORECASE)


def apply_marker(environment: str) -> str:
    """The apply comment's first line for ``environment`` (a checked environment name)."""
    line = f"<!-- reconciler-apply:{environment} -->"
    if not _MARKER.fullmatch(line):
        raise ValueError(f"not a marker: {line!r}")
    return line


def is_apply_comment(body: str, environment: str) -> bool:
    """Whether ``body``'s first line, all of it, is the apply marker for ``environment``."""
    match = _MARKER.fullmatch(body.split("\n", 1)[0].removesuffix("\r"))
    return match is not None and match["env"] == environment


@dataclass(frozen=True)
class RunIssue:
    """One run of the apply that did not succeed: its name, outcome and message."""

    name: str
    outcome: str  # one of ISSUES, or "error" for an outcome this version does not know
    message: str


def parse_junit(data: bytes, source: str) -> tuple[RunIssue, ...]:
    """The runs of ``junit.xml`` that failed, or ended rejected, unknown, unsent or pending.

    ``report.junit_xml`` writes a ``<failure>`` for a failed run and an ``<error type=OUTCOME>``
    for the others; its message is the status and the platform's message.
    """
    if _DOCTYPE.search(data):
        raise UserError(f"{source}: not a JUnit report of an apply (it declares a document type)")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - no DTD (checked above), bounded
    except ElementTree.ParseError as exc:
        raise UserError(f"{source}: not a JUnit report ({exc})") from None
    issues: list[RunIssue] = []
    for number, case in enumerate(root.iter("testcase")):
        if number >= CASE_LIMIT:
            raise UserError(f"{source}: more than {CASE_LIMIT} test cases")
        name = case.get("name", "")
        for child in case:
            if child.tag == "failure":
                issues.append(RunIssue(name, "failure", child.get("message", "")))
            elif child.tag == "error":
                kind = child.get("type", "")
                outcome = kind if kind in ISSUES else "error"
                issues.append(RunIssue(name, outcome, child.get("message", "")))
    return tuple(issues)


@dataclass(frozen=True)
class ApplyFacts:
    """What the apply comment says about one apply, the same on every pull request."""

    environment: str
    record: ApplyRecord
    issues: tuple[RunIssue, ...] | None  # None: no junit.xml was read
    pulls: tuple[int, ...]  # every pull request the apply covered
    run_url: str | None = None  # checked by the caller: an http(s) URL
    commit: str | None = None  # checked by the caller: 40 hex digits
    summary: str | None = None  # summary.md, untrusted


@dataclass(frozen=True)
class PullReview:
    """What the reviewed-plans folder says about one pull request."""

    digest: str | None = None  # its reviewed plan's digest, checked
    missing: str | None = None  # why it has none (untrusted text)


def render_apply_comment(
    facts: ApplyFacts, number: int, review: PullReview, *, limit: int = COMMENT_LIMIT
) -> str:
    """The apply comment for pull request ``number``: marker, counts, runs, review, links."""
    env = facts.environment
    lines = [apply_marker(env), f"### reconciler apply: `{env}`", "", f"**{_counts(facts)}**"]
    if facts.issues:
        lines += ["", "| Execution | Outcome | Message |", "|---|---|---|"]
        for issue in facts.issues[:ROW_LIMIT]:
            name = md_code(issue.name, table=True, limit=100)
            message = md_text(issue.message, limit=MESSAGE_LIMIT)
            lines.append(f"| {name} | {issue.outcome} | {message} |")
        if len(facts.issues) > ROW_LIMIT:
            more = len(facts.issues) - ROW_LIMIT
            lines += ["", f"_… {more} more not shown here; see the apply run._"]
    lines += ["", f"Review: {_REVIEW.get(facts.record.reviewed or '', 'not recorded')}."]
    if review.digest:
        lines.append(f"This pull request's reviewed plan: `{review.digest}`.")
    elif review.missing is not None:
        lines.append(
            "No reviewed plan of this pull request was found: "
            f"{md_text(review.missing, limit=MESSAGE_LIMIT)}."
        )
    others = [n for n in facts.pulls if n != number]
    if others:
        shown = ", ".join(f"#{n}" for n in others[:30])
        extra = f" and {len(others) - 30} more" if len(others) > 30 else ""
        lines.append(f"The same apply covered {shown}{extra}.")
    if facts.record.plan_digest:
        lines += ["", f"Plan digest: `{facts.record.plan_digest}`"]
    if facts.summary:
        lines += ["", *_folded_summary(facts.summary)]
    where = [f"specs `{facts.commit[:12]}`"] if facts.commit else []
    if facts.run_url:
        where.append(f"[apply run]({facts.run_url})")
    if where:
        lines += ["", f"<sub>{' · '.join(where)}</sub>"]
    text = "\n".join(lines) + "\n"
    if len(text) > limit:  # a safety net: the bounds above keep this from happening
        text = text[: limit - 80] + "\n\n_… cut at the comment size limit._\n"
    return text


def _counts(facts: ApplyFacts) -> str:
    outcomes = facts.record.outcomes or {}
    shown = [f"{n} {_WORDS.get(kind, kind)}" for kind, n in outcomes.items() if n]
    if shown:
        return ", ".join(shown)
    return "nothing to run" if facts.record.outcomes is not None else "no outcome recorded"


def _folded_summary(summary: str) -> list[str]:
    text = summary if len(summary) <= SUMMARY_LIMIT else summary[:SUMMARY_LIMIT] + "\n…"
    return [
        "<details><summary>summary.md</summary>",
        "",
        *md_fence(text, "markdown").split("\n"),
        "</details>",
    ]


def pulls_line(numbers: Sequence[int]) -> str:
    """``#12 #15``: pull request numbers for a log line or a step output."""
    return " ".join(f"#{n}" for n in numbers)
