"""``reconciler history`` as text, Markdown and JSON: pure functions over ``usecases.history``.

Every cell is untrusted (commit messages, trailers and state files came from whoever could
push): the text table folds each cell to one inert line (``tables.table``), the Markdown
table escapes each cell (``md_text``, ``md_code``) and links a run only when its URL has the
shape of an Actions run, and JSON is JSON. The CLI's ``echo`` then scrubs secrets and defuses
workflow commands in the whole output.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from reconciler.outbound import md_code, md_text
from reconciler.report.tables import table
from reconciler.usecases.history import History, Run

__all__ = ["FORMAT_VERSION", "history_json", "history_markdown", "history_text"]

FORMAT_VERSION = 1
HEADERS = (
    "STARTED",
    "ENDED",
    "STATUS",
    "ATTEMPTS",
    "DIGEST",
    "SPECS",
    "PLAN",
    "PRS",
    "ACTOR",
    "COMMIT",
    "RUN URL",
)
_RUN_URL = re.compile(
    r"https://[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?/[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}"
    r"/actions/runs/[0-9]{1,20}(?:/attempts/[0-9]{1,5})?"
)


def history_text(found: History) -> str:
    """A heading line, then one table row per run, newest first."""
    lines = [_heading(found)]
    rows = [_cells(run) for run in found.runs]
    lines.append(table(HEADERS, rows))
    lines.extend(f"  {run.commit[:12]}: {run.problem}" for run in found.runs if run.problem)
    if found.total > len(found.runs):
        lines.append(f"({found.total - len(found.runs)} older run(s) not shown: see --limit)")
    if found.cut:
        lines.append("(only the newest commits were read: older history exists)")
    return "\n".join(lines)


def history_markdown(found: History) -> str:
    """The same table as Markdown, for a job summary or a comment."""
    lines = [f"### {_heading(found, md=True)}", ""]
    lines.append("| " + " | ".join(h.title() for h in HEADERS) + " |")
    lines.append("|" + "---|" * len(HEADERS))
    lines.extend("| " + " | ".join(_md_cells(run)) + " |" for run in found.runs)
    problems = [run for run in found.runs if run.problem]
    if problems:
        lines.append("")
        lines.extend(f"- {md_code(r.commit[:12])}: {md_text(r.problem or '')}" for r in problems)
    if found.total > len(found.runs):
        lines += ["", f"{found.total - len(found.runs)} older run(s) not shown."]
    return "\n".join(lines) + "\n"


def history_json(found: History) -> str:
    """A JSON document: ``formatVersion``, where it was read, and every run shown."""
    document = {
        "formatVersion": FORMAT_VERSION,
        "name": found.name,
        "environment": found.environment,
        "ref": found.ref,
        "path": found.path,
        "total": found.total,
        "cut": found.cut,
        "runs": [_json_run(run) for run in found.runs],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _heading(found: History, *, md: bool = False) -> str:
    shown = len(found.runs)
    count = f"{shown} of {found.total}" if found.total > shown else str(shown)
    name, environment, path, ref = found.name, found.environment, found.path, found.ref
    if md:
        name, path, ref, environment = (
            md_code(name),
            md_code(path),
            md_code(ref),
            md_text(environment),
        )
    return f"{name} in {environment}: {count} run(s) from {path} on {ref}, newest first"


def _cells(run: Run) -> list[str]:
    return [
        _ts(run.started) or "-",
        _ts(run.ended) or "-",
        run.status,
        "-" if run.attempts is None else str(run.attempts),
        _short(run.digest),
        run.specs_commit[:12] if run.specs_commit else "-",
        _short(run.plan_digest),
        " ".join(str(n) for n in run.pull_requests) or "-",
        run.actor or "-",
        run.commit[:12],
        run.run_url or "-",
    ]


def _md_cells(run: Run) -> list[str]:
    cells = _cells(run)
    code = [4, 5, 6, 9]  # digests and commits: literal, never prose
    out = [
        (md_code(cell, table=True) if at in code else md_text(cell)) if cell != "-" else "-"
        for at, cell in enumerate(cells[:-1])
    ]
    return [*out, _link(run.run_url)]


def _json_run(run: Run) -> dict[str, Any]:
    return {
        "attemptId": run.attempt_id,
        "status": run.status,
        "phase": run.phase,
        "started": _ts(run.started) or None,
        "ended": _ts(run.ended) or None,
        "attempts": run.attempts,
        "digest": run.digest,
        "requestId": run.request_id,
        "executionId": run.execution_id,
        "message": run.message,
        "specsCommit": run.specs_commit,
        "planDigest": run.plan_digest,
        "reviewed": run.reviewed,
        "pullRequests": list(run.pull_requests),
        "actor": run.actor,
        "runUrl": run.run_url,
        "commit": run.commit,
        "committedAt": _ts(run.committed_at),
        "commits": list(run.commits),
        "source": run.source,
        "problem": run.problem,
    }


def _short(digest: str | None) -> str:
    """``v1:sha256:<hex>`` or ``sha256:<hex>`` as the hex's first 12 characters."""
    return digest.rsplit(":", 1)[-1][:12] if digest else "-"


def _link(url: str | None) -> str:
    if not url:
        return "-"
    if _RUN_URL.fullmatch(url):
        return f"[run]({url})"
    return md_text(url)


def _ts(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
