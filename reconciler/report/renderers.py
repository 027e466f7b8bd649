"""Plans, apply results and diagnostics → text, markdown and JSON (JUnit XML: ``junit``).

Pure: every function returns a string; ``artifacts`` writes them and ``cli`` prints them.
Output formats are part of the interface: JSON documents carry ``formatVersion``.

Names, reasons, field changes, statuses, ids and platform messages are untrusted text, made
inert here for the channel each report is written to (``outbound``): one line per table cell
in the terminal tables; ``md_code`` for names, ``md_text`` for prose and cells, ``html_text``
inside ``<summary>``, ``md_fence`` for field changes in the Markdown reports (``plan.md``,
``summary.md``, the job summary).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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

FORMAT_VERSION = 1

_SYMBOL = {
    ActionKind.SUBMIT: "+",
    ActionKind.RERUN: "~",
    ActionKind.RETRY: "^",
    ActionKind.RESUME: ">",
    ActionKind.WAIT: ".",
    ActionKind.NOOP: "=",
    ActionKind.SKIP: "-",
    ActionKind.ORPHAN: "?",
    ActionKind.UNKNOWN: "!",
}


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain aligned text table (no colours: it must read the same in CI logs).

    Every cell is one inert line, whatever it holds: a line break in a recorded status would
    break the table and could start a workflow command.
    """
    body = [[one_line(str(cell)) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body
    )
    return "\n".join(lines)


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


def plan_text(plan: Plan) -> str:
    """The plan as a terminal table followed by field-level changes and a count line."""
    rows = [(_SYMBOL[a.kind], a.name, a.kind.value, a.reason) for a in plan.actions]
    out = [table(("", "EXECUTION", "ACTION", "REASON"), rows)] if rows else []
    for action in plan.actions:
        if action.changes:
            out.append(f"\n{one_line(action.name)} changes:")
            out.extend(f"  {one_line(change)}" for change in action.changes)
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
            f"| {_SYMBOL[a.kind]} | {md_code(a.name, table=True)} | {a.kind.value} | "
            f"{md_text(a.reason)} |"
            for a in plan.actions
        ]
    for action in plan.actions:
        if action.changes:
            summary = f"<details><summary><code>{html_text(action.name)}</code> changes</summary>"
            changes = "\n".join(f"~ {one_line(c)}" for c in action.changes)
            lines += ["", summary, "", md_fence(changes, "diff"), "</details>"]
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


def apply_text(result: ApplyResult) -> str:
    """Names and final statuses after an apply, with the platform's message."""
    rows = [
        (r.name, run_status(r), _seconds(r.duration_ms), one_line(r.message or ""))
        for r in result.results
    ]
    if not rows:
        return "Nothing to apply."
    return (
        table(("EXECUTION", "STATUS", "DURATION", "MESSAGE"), rows) + "\n\n" + _apply_counts(result)
    )


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
    lines = [
        f"# reconciler apply ({result.environment})",
        "",
        f"Started {timestamp(result.started_at)}, finished {timestamp(result.finished_at)}. "
        + _apply_counts(result),
        "",
        "| Execution | Status | Duration | Polls | HTTP calls | Waiting for record | Message |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.results:
        lines.append(
            f"| {md_code(r.name, table=True)} | {md_text(run_status(r))} | "
            f"{_seconds(r.duration_ms)} | {r.polls} | {r.http_calls} | "
            f"{r.waited_for_record_s:.1f}s | {md_text(r.message or '')} |"
        )
    if stats:
        lines += ["", "| HTTP | |", "|---|---|"]
        lines += [
            f"| {md_text(str(key))} | {md_text(str(value))} |" for key, value in stats.items()
        ]
    return "\n".join(lines) + "\n"


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


def apply_record_json(
    result: ApplyResult,
    *,
    plan: Plan,
    review: Review,
    shard: tuple[int, int] | None = None,
    stats: Mapping[str, Any] | None = None,
) -> str:
    """``apply.json``: what this apply was (plan digest, review, counts) for tools and commits."""
    payload = {
        "formatVersion": FORMAT_VERSION,
        "environment": result.environment,
        "planDigest": review.digest or plan_digest(plan),
        "reviewed": {
            "status": review.status,
            "reviewedDigest": review.reviewed_digest,
            "differences": list(review.differences),
        },
        "shard": f"{shard[0]}/{shard[1]}" if shard else None,
        "startedAt": timestamp(result.started_at),
        "finishedAt": timestamp(result.finished_at),
        "actions": {kind.value: plan.count(kind) for kind in ActionKind if plan.count(kind)},
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


def status_text(entries: Mapping[str, StateEntry], environment: str) -> str:
    """The recorded state of every execution."""
    rows = [
        (
            e.name,
            e.phase.value,
            e.status or "-",
            timestamp(e.execution_time or e.submitted_at or e.intent_at) or "-",
            e.execution_id or e.request_id or "-",
        )
        for e in entries.values()
    ]
    if not rows:
        return f"No state recorded for environment {environment!r}."
    return table(("EXECUTION", "PHASE", "STATUS", "WHEN", "ID"), rows)


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
