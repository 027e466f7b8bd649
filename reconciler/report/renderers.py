"""Plans, apply results and diagnostics → text, markdown and JSON (JUnit XML: ``junit``).

Pure: every function returns a string; ``artifacts`` writes them and ``cli`` prints them. The
reports of an apply, whose size grows with its runs, also come in pieces (``apply_lines``,
``summary_lines``): joined, the same text.
Output formats are part of the interface: JSON documents carry ``formatVersion``.

Names, reasons, field changes, statuses, ids and platform messages are untrusted text, made
inert here for the channel each report is written to (``outbound``): one line per table cell
in the terminal tables; ``md_code`` for names, ``md_text`` for prose and cells, ``html_text``
inside ``<summary>``, ``md_fence`` for field changes in the Markdown reports (``plan.md``,
``summary.md``, the job summary).

The terminal tables take two things from the CLI as plain values: ``width`` (the terminal's
columns: a reason too long for it is shortened, its detail left to JSON and Markdown) and
``paint`` (a role such as ``submit`` or ``failure`` and a word of ours → the word in colour; the
default paints nothing). Only our own words are painted: symbols, actions, phases, statuses
in their cells, never a name, a reason or a platform message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.model import (
    ActionKind,
    ApplyResult,
    Diagnostic,
    Outcome,
    Plan,
    RunResult,
    StateEntry,
)
from reconciler.model.digest import canonical_request, plan_digest
from reconciler.outbound import html_text, md_code, md_fence, md_text, one_line
from reconciler.plan.review import Review
from reconciler.report.tables import (
    MIN_REASON_WIDTH,
    ROWS_PER_CHUNK,
    Paint,
    shorten,
    table,
    table_lines,
    unpainted,
)

FORMAT_VERSION = 1

#: The plan's symbols (docs/engine.md has the legend). None borrows Terraform's meaning for
#: ``-`` (destroy): nothing here ever deletes, so no symbol says it does. ``/`` marks a run
#: passed over this time (``skip``), ``=`` one already as its spec says (``noop``).
SYMBOLS: dict[str, str] = {
    ActionKind.SUBMIT: "+",
    ActionKind.RERUN: "~",
    ActionKind.RETRY: "^",
    ActionKind.RESUME: ">",
    ActionKind.WAIT: ".",
    ActionKind.NOOP: "=",
    ActionKind.SKIP: "/",
    ActionKind.ORPHAN: "?",
    ActionKind.UNKNOWN: "!",
}


def plan_counts(plan: Plan) -> str:
    """``2 to submit, 1 to rerun, ...`` in a fixed order, only non-zero kinds."""
    parts = [f"{plan.count(kind)} {_verb(kind)}" for kind in ActionKind if plan.count(kind)]
    return ", ".join(parts) if parts else "no executions"


def _verb(kind: ActionKind) -> str:
    return {
        ActionKind.SUBMIT: "to submit",
        ActionKind.RERUN: "to rerun",
        ActionKind.RETRY: "to retry",
        ActionKind.RESUME: "to resume",
        ActionKind.WAIT: "waiting on dependencies",
        ActionKind.NOOP: "up to date",
        ActionKind.SKIP: "skipped",
        ActionKind.ORPHAN: "orphaned",
        ActionKind.UNKNOWN: "unknown",
    }[kind]


def plan_text(plan: Plan, *, width: int | None = None, paint: Paint = unpainted) -> str:
    """The plan as a terminal table followed by field-level changes and a count line.

    With ``width``, reasons are shortened (``shorten``) so each row fits in that many columns,
    and a line says where the full reasons are.
    """
    names = [one_line(a.name) for a in plan.actions]
    reasons = [one_line(a.reason) for a in plan.actions]
    shortened = False
    if width is not None and plan.actions:
        used = 1 + 2 + max(len("EXECUTION"), *map(len, names)) + 2
        used += max(len("ACTION"), *(len(a.kind.value) for a in plan.actions)) + 2
        room = max(width - used, MIN_REASON_WIDTH)
        short = [shorten(reason, room) for reason in reasons]
        shortened = short != reasons
        reasons = short
    rows = [
        (SYMBOLS[a.kind], name, a.kind.value, reason)
        for a, name, reason in zip(plan.actions, names, reasons, strict=True)
    ]
    roles = [a.kind.value for a in plan.actions]
    out = []
    if rows:
        headers = ("", "EXECUTION", "ACTION", "REASON")
        out.append(table(headers, rows, roles=roles, painted=(0, 2), paint=paint))
    for action in plan.actions:
        if action.changes:
            out.append(f"\n{one_line(action.name)} changes:")
            out.extend(f"  {one_line(change)}" for change in action.changes)
    if shortened:
        out.append("\nReasons shortened to fit; --output json or markdown shows them in full.")
    out.append(f"\nPlan ({plan.environment}): {plan_counts(plan)}.")
    if plan.has_changes:
        out.append(f"Plan digest: {plan_digest(plan)}")
    return "\n".join(out).lstrip("\n")


def plan_markdown(plan: Plan) -> str:
    """The plan for a pull-request comment or a job summary."""
    lines = [f"### reconciler plan ({plan.environment})", "", f"**{plan_counts(plan)}**", ""]
    if plan.actions:
        lines += ["| | Execution | Action | Reason |", "|---|---|---|---|"]
        lines += [
            f"| {SYMBOLS[a.kind]} | {md_code(a.name, table=True)} | {a.kind.value} | "
            f"{md_text(a.reason)} |"
            for a in plan.actions
        ]
    for action in plan.actions:
        if action.changes:
            summary = f"<details><summary><code>{html_text(action.name)}</code> changes</summary>"
            changes = "\n".join(f"~ {one_line(c)}" for c in action.changes)
            lines += ["", summary, "", md_fence(changes, "diff"), "</details>"]
    if plan.notices:  # values taken as written, dependents that do not follow, empty selectors
        lines += ["", "**Notices**", ""] + [f"- {md_text(notice)}" for notice in plan.notices]
    if plan.has_changes:
        lines += ["", f"Plan digest: `{plan_digest(plan)}`"]
    return "\n".join(lines) + "\n"


def plan_json(plan: Plan) -> str:
    """The plan as versioned JSON for other tools."""
    actions = []
    for action in plan.actions:
        item: dict[str, Any] = {
            "name": action.name,
            "action": action.kind.value,
            "reason": action.reason,
        }
        if action.desired is not None:
            item["digest"] = action.desired.digest
            item["request"] = canonical_request(action.desired.request)
            item["source"] = str(action.desired.source)
        elif action.current is not None:
            item["digest"] = action.current.digest
        if action.changes:
            item["changes"] = list(action.changes)
        if action.follows:  # the upstream whose new run this one follows (plan.dependents)
            item["follows"] = list(action.follows)
        actions.append(item)
    payload = {
        "formatVersion": FORMAT_VERSION,
        "environment": plan.environment,
        "hasChanges": plan.has_changes,
        "planDigest": plan_digest(plan),
        "summary": {kind.value: plan.count(kind) for kind in ActionKind},
        "actions": actions,
        "notices": list(plan.notices),  # outside the digest, as on the terminal
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def diagnostics_text(diagnostics: Sequence[Diagnostic]) -> str:
    """One ``file:line:col: message`` line per problem."""
    return "\n".join(str(d) for d in diagnostics)


def diagnostics_json(diagnostics: Sequence[Diagnostic], files: int) -> str:
    """Versioned machine-readable validation result."""
    payload = {
        "formatVersion": FORMAT_VERSION,
        "valid": not diagnostics,
        "files": files,
        "problems": [
            {
                "file": d.location.file,
                "line": d.location.line,
                "col": d.location.col,
                "path": d.path,
                "message": d.message,
            }
            for d in diagnostics
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def apply_text(result: ApplyResult, *, paint: Paint = unpainted) -> str:
    """Names and final statuses after an apply, with the platform's message."""
    return "".join(apply_lines(result, paint=paint))[:-1]


def apply_lines(result: ApplyResult, *, paint: Paint = unpainted) -> Iterator[str]:
    """``apply_text`` and a line break, in pieces of a few hundred rows (``table_lines``).

    What the CLI prints: a piece at a time, so the table of a 30,000-run apply is never one
    string (nor two, once scrubbed).
    """
    if not result.results:
        yield "Nothing to apply.\n"
        return
    headers = ("EXECUTION", "STATUS", "DURATION", "MESSAGE")
    yield from table_lines(headers, lambda: _apply_rows(result), painted=(1,), paint=paint)
    yield "\n" + _apply_counts(result) + "\n"


def _apply_rows(result: ApplyResult) -> Iterator[tuple[str, tuple[str, ...]]]:
    for r in result.results:
        cells = (r.name, run_status(r), _seconds(r.duration_ms), one_line(r.message or ""))
        yield r.outcome, cells


def _apply_counts(result: ApplyResult) -> str:
    names = ("success", "failure", "rejected", "unknown", "pending", "unsent", "skipped")
    words = {
        "success": "succeeded",
        "failure": "failed",
        "rejected": "rejected",
        "unknown": "unknown",
        "pending": "still running",
        "unsent": "not submitted",
        "skipped": "skipped",
    }
    counts = [f"{result.count(n)} {words[n]}" for n in names if result.count(n)]  # type: ignore[arg-type]
    return f"Apply ({result.environment}): " + ", ".join(counts) + "."


def summary_markdown(result: ApplyResult, stats: Mapping[str, Any] | None = None) -> str:
    """``summary.md``: the outcome table, durations, polls and HTTP calls per run."""
    return "".join(summary_lines(result, stats))


def summary_lines(
    result: ApplyResult, stats: Mapping[str, Any] | None = None, *, size: int = ROWS_PER_CHUNK
) -> Iterator[str]:
    """``summary_markdown`` in pieces of up to ``size`` lines, each ending with a line break.

    ``artifacts`` writes (and scrubs) it a piece at a time: a 30,000-run summary is never one
    string in memory.
    """
    started, finished = timestamp(result.started_at), timestamp(result.finished_at)
    head = [
        f"# reconciler apply ({result.environment})",
        "",
        f"Started {started}, finished {finished}. " + _apply_counts(result),
        "",
        "| Execution | Status | Duration | Polls | HTTP calls | Waiting for record | Message |",
        "|---|---|---|---|---|---|---|",
    ]
    yield "\n".join(head) + "\n"
    lines: list[str] = []
    for r in result.results:
        lines.append(
            f"| {md_code(r.name, table=True)} | {md_text(run_status(r))} | "
            f"{_seconds(r.duration_ms)} | {r.polls} | {r.http_calls} | "
            f"{r.waited_for_record_s:.1f}s | {md_text(r.message or '')} |\n"
        )
        if len(lines) >= size:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)
    if stats:
        lines = ["", "| HTTP | |", "|---|---|"]
        lines += [
            f"| {md_text(str(key))} | {md_text(str(value))} |" for key, value in stats.items()
        ]
        yield "\n".join(lines) + "\n"


def noop_summary_markdown(plan: Plan, at: datetime) -> str:
    """``summary.md`` of an apply with nothing to do: it says so, and why for each execution.

    Written in place of the last apply's summary, which would otherwise be published again as
    if it were this apply's.
    """
    lines = [
        f"# reconciler apply ({plan.environment})",
        "",
        f"Checked {timestamp(at)}. Nothing ran: nothing to do ({plan_counts(plan)}).",
    ]
    if plan.actions:
        lines += ["", "| Execution | Action | Reason |", "|---|---|---|"]
        lines += [
            f"| {md_code(a.name, table=True)} | {a.kind.value} | {md_text(a.reason)} |"
            for a in plan.actions
        ]
    return "\n".join(lines) + "\n"


OUTCOMES: tuple[Outcome, ...] = (
    "success",
    "failure",
    "rejected",
    "unknown",
    "pending",
    "unsent",
    "skipped",
)


@dataclass(frozen=True)
class PlanOutline:
    """What ``apply.json`` says of a plan: its digest and its actions by kind.

    An apply keeps this instead of the plan, whose desired runs it lets go as their runs end.
    """

    digest: str
    actions: Mapping[str, int]

    @classmethod
    def of(cls, plan: Plan, digest: str | None = None) -> PlanOutline:
        """The outline of ``plan`` (``digest``: its digest, if already computed)."""
        counts = {kind.value: plan.count(kind) for kind in ActionKind}
        return cls(digest or plan_digest(plan), {k: n for k, n in counts.items() if n})


def apply_record_json(
    result: ApplyResult,
    *,
    plan: Plan | PlanOutline,
    review: Review,
    shard: tuple[int, int] | None = None,
    stats: Mapping[str, Any] | None = None,
) -> str:
    """``apply.json``: what this apply was (plan digest, review, counts) for tools and commits."""
    outline = plan if isinstance(plan, PlanOutline) else PlanOutline.of(plan, review.digest)
    payload = {
        "formatVersion": FORMAT_VERSION,
        "environment": result.environment,
        "planDigest": review.digest or outline.digest,
        "reviewed": {
            "status": review.status,
            "reviewedDigest": review.reviewed_digest,
            "differences": list(review.differences),
        },
        "shard": f"{shard[0]}/{shard[1]}" if shard else None,
        "startedAt": timestamp(result.started_at),
        "finishedAt": timestamp(result.finished_at),
        "actions": dict(outline.actions),
        "outcomes": {outcome: result.count(outcome) for outcome in OUTCOMES},
        "stats": dict(stats or {}),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def run_record_json(entry: StateEntry, result: RunResult | None = None) -> str:
    """The per-run JSON record kept in ``artifacts/runs/``."""
    payload: dict[str, Any] = {
        "formatVersion": FORMAT_VERSION,
        "name": entry.name,
        "digest": entry.digest,
        "request": canonical_request(entry.request),
        "requestId": entry.request_id,
        "executionId": entry.execution_id,
        "status": entry.status,
        "message": entry.message,
        "intentAt": timestamp(entry.intent_at) or None,
        "submittedAt": timestamp(entry.submitted_at) or None,
        "executionTime": timestamp(entry.execution_time) or None,
        "finishedAt": timestamp(entry.finished_at) or None,
        "durationMs": entry.duration_ms,
        "attempts": entry.attempts,
    }
    if result is not None:
        payload["polls"] = result.polls
        payload["httpCalls"] = result.http_calls
    payload = {k: v for k, v in payload.items() if v is not None}
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def run_status(result: RunResult) -> str:
    """The status a report shows for a run: the platform's, or the outcome in capitals."""
    if result.status and result.outcome in ("success", "failure"):
        return result.status
    if result.outcome == "pending" and result.status:
        return f"{result.status} (pending)"
    return result.outcome.upper()


def _seconds(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}s"


def timestamp(moment: datetime | None) -> str:
    """``2026-01-15T10:00:00Z``, or the empty string for no time."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
