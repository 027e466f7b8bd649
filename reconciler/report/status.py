"""The recorded state of an environment (``reconciler status``) as text, Markdown and JSON.

Pure: every function returns a string. Names, statuses, ids and platform messages are
untrusted text, made inert for each channel as in ``renderers``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler.model import Phase, RunStatus, StateEntry
from reconciler.outbound import md_code, md_text
from reconciler.report.renderers import FORMAT_VERSION, timestamp
from reconciler.report.tables import Paint, table, unpainted


def status_text(
    entries: Mapping[str, StateEntry], environment: str, *, paint: Paint = unpainted
) -> str:
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
    roles = [_status_role(e) for e in entries.values()]
    headers = ("EXECUTION", "PHASE", "STATUS", "WHEN", "ID")
    return table(headers, rows, roles=roles, painted=(1, 2), paint=paint)


def _status_role(entry: StateEntry) -> str:
    """The colour role of a recorded execution: how its last run ended, or where it stands."""
    if entry.phase is Phase.FINAL:
        good = entry.status in (RunStatus.COMPLETE, RunStatus.COMPLETE_WARN)
        return "success" if good else "failure"
    return {Phase.SUBMITTED: "pending", Phase.REJECTED: "rejected"}.get(entry.phase, "unknown")


def status_json(entries: Mapping[str, StateEntry], environment: str) -> str:
    """``status --output json``: every recorded execution, in a stable shape.

    Every key is always present (``null`` when unknown), executions sorted by name; the
    shape is documented in docs/engine.md and versioned by ``formatVersion``.
    """
    executions = [
        {
            "name": e.name,
            "phase": e.phase.value,
            "status": e.status,
            "message": e.message,
            "digest": e.digest,
            "revision": e.revision,
            "requestId": e.request_id,
            "executionId": e.execution_id,
            "intentAt": timestamp(e.intent_at) or None,
            "submittedAt": timestamp(e.submitted_at) or None,
            "executionTime": timestamp(e.execution_time) or None,
            "finishedAt": timestamp(e.finished_at) or None,
            "durationMs": e.duration_ms,
            "attempts": e.attempts,
            "adopted": e.adopted,
            "onDemand": e.on_demand,
        }
        for e in sorted(entries.values(), key=lambda e: e.name)
    ]
    counts: dict[str, int] = {phase.value: 0 for phase in Phase}
    for entry in entries.values():
        counts[entry.phase.value] += 1
    payload = {
        "formatVersion": FORMAT_VERSION,
        "environment": environment,
        "summary": counts,
        "executions": executions,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def status_markdown(entries: Mapping[str, StateEntry], environment: str) -> str:
    """``status --output markdown``: the recorded state as a table, with each run's message."""
    lines = [f"### reconciler status ({environment})", ""]
    if not entries:
        return "\n".join([*lines, f"No state recorded for environment `{environment}`."]) + "\n"
    lines += [
        "| Execution | Phase | Status | When | ID | Message |",
        "|---|---|---|---|---|---|",
    ]
    for e in sorted(entries.values(), key=lambda e: e.name):
        when = timestamp(e.execution_time or e.submitted_at or e.intent_at)
        ident = e.execution_id or e.request_id
        lines.append(
            f"| {md_code(e.name, table=True)} | {e.phase.value} | {md_text(e.status or '')} | "
            f"{when} | {md_code(ident, table=True) if ident else ''} | "
            f"{md_text(e.message or '')} |"
        )
    return "\n".join(lines) + "\n"
