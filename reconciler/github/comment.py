"""The sticky plan comment on a pull request: reading the plan document, rendering, the marker.

Pure. The plan document (``plan --output json``) reaches the commenting workflow as an
artifact of a pull-request run, so it is untrusted data: it is parsed strictly and bounded
(``parse_plan``, the one parser of ``plan.document``), every string from it is rendered inert
by ``outbound`` (``md_text`` for reasons, ``md_code`` for names, ``html_text`` inside the
``<summary>``, ``md_fence`` for field changes: no markdown structure, no HTML, no
``@mention``, ``#123`` reference or autolink, no fence it can close), and the comment is
capped below GitHub's 65,536-character limit with a pointer to the full plan (practices.md
A7).

The marker. The comment's first line is a hidden marker naming the environment, the plan
digest, the plan run and the head commit; it is how the comment is found again and how
``reconciler github reviewed-plan`` finds what was reviewed. ``find_marker`` reads the first
line only, and only when the whole line is a marker: every byte of that line is ours
(the environment, digest and commit checked against their patterns, the run an integer), and
plan text is rendered below it, one inert line per cell, so no action name, reason or field
change can make a comment carry a marker for another environment, digest or run. (A marker in
the body of a comment is not one; before this, a field change holding a marker line inside the
changes fence was read as the comment's marker.) It is not signed: a key the pull request's
author cannot read would have to live in a secret of the commenting and the applying
workflows, and a pull request from a branch of the same repository runs with the repository's
secrets, while the job token, the one credential a fork cannot reach, changes with every run.
Who may write the comment is checked instead (``reviewed``: only the bot's comments count), and
what was reviewed is checked at merge against a plan computed there (``plan.review``).

What the digest covers, the comment shows as the plan: the actions that change something,
each with its reason and field changes, all covered by the plan digest (``model.digest``), so
an artifact that shows other text than the merged specs produce does not review as a match.
Actions with nothing to do are listed apart, folded, as information the digest does not cover.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.errors import UserError
from reconciler.model.check import CheckReport
from reconciler.outbound import html_text, md_code, md_fence, md_text, one_line
from reconciler.plan.document import (
    DIGEST_PATTERN,
    ENV_PATTERN,
    PLAN_SIZE_LIMIT,
    PlanAction,
    PlanDocument,
    parse_plan_document,
)
from reconciler.report.check import check_markdown
from reconciler.report.renderers import SYMBOLS

COMMENT_LIMIT = 60_000  # GitHub refuses comment bodies over 65,536 characters
CELL_LIMIT = 300  # characters of one untrusted string in the table
CHANGE_LIMIT = 500  # characters of one field-change line
CHECK_RESERVE = 4_000  # characters kept for the check's section (its head and first rows)

SHA_PATTERN = re.compile(r"[0-9a-f]{40}\Z")
_MARKER = re.compile(
    r"<!-- reconciler-plan:(?P<env>[a-z][a-z0-9-]{0,62})"
    r"(?: digest=(?P<digest>sha256:[0-9a-f]{64}|none))?"
    r"(?: run=(?P<run>[0-9]{1,20}))?"
    r"(?: sha=(?P<sha>[0-9a-f]{40}))? -->"
)
#: The plan's symbols, as every rendering of a plan shows them (docs/engine.md).
_SYMBOL = {str(kind): symbol for kind, symbol in SYMBOLS.items()}
_LABEL = {
    "submit": "to submit",
    "rerun": "to rerun",
    "retry": "to retry",
    "resume": "to resume",
    "wait": "waiting",
    "noop": "up to date",
    "skip": "skipped",
    "orphan": "orphaned",
    "unknown": "unknown",
}


@dataclass(frozen=True)
class Marker:
    """What the hidden marker of a plan comment records."""

    environment: str
    digest: str | None
    run_id: int | None
    head_sha: str | None

    def render(self) -> str:
        """The marker line: an HTML comment, invisible on GitHub."""
        parts = [f"<!-- reconciler-plan:{self.environment}", f"digest={self.digest or 'none'}"]
        if self.run_id is not None:
            parts.append(f"run={self.run_id}")
        if self.head_sha is not None:
            parts.append(f"sha={self.head_sha}")
        line = " ".join(parts) + " -->"
        if not _MARKER.fullmatch(line):  # every field is checked before it gets here
            raise ValueError(f"not a marker: {line!r}")
        return line


def check_environment(name: str) -> str:
    """``name`` if it is a valid environment name, else a user error."""
    if not ENV_PATTERN.match(name):
        raise UserError(
            f"environment {name!r} is not a valid name",
            hint="expected lowercase letters, digits and dashes, starting with a letter",
        )
    return name


def find_marker(body: str, environment: str) -> Marker | None:
    """The plan-comment marker for ``environment``: the body's first line, if all of it is one."""
    first = body.split("\n", 1)[0].removesuffix("\r")
    match = _MARKER.fullmatch(first)
    if match is None or match["env"] != environment:
        return None
    digest, run = match["digest"], match["run"]
    return Marker(
        environment=environment,
        digest=digest if digest and digest != "none" else None,
        run_id=int(run) if run else None,
        head_sha=match["sha"],
    )


#: Read a plan document strictly (``plan.document``): a one-line error naming the source.
parse_plan = parse_plan_document

__all__ = [
    "DIGEST_PATTERN",
    "ENV_PATTERN",
    "PLAN_SIZE_LIMIT",
    "SHA_PATTERN",
    "CommentContext",
    "Marker",
    "PlanAction",
    "PlanDocument",
    "check_environment",
    "find_marker",
    "parse_plan",
    "render_comment",
]


@dataclass(frozen=True)
class CommentContext:
    """Trusted facts the commenting workflow adds: where the plan came from."""

    environment: str
    run_id: int | None = None
    head_sha: str | None = None
    details_url: str | None = None


def render_comment(
    plan: PlanDocument,
    context: CommentContext,
    *,
    limit: int = COMMENT_LIMIT,
    check: CheckReport | None = None,
) -> str:
    """The whole comment body: marker, headline, table, changes, digest; at most ``limit``.

    With ``check`` (a ``reconciler check`` document, read strictly), its findings follow the
    plan in what room the plan leaves: information, not covered by the plan digest.
    """
    trusted = plan.consistent
    marker = Marker(
        environment=context.environment,
        digest=plan.digest if trusted else None,
        run_id=context.run_id,
        head_sha=context.head_sha,
    )
    head = [marker.render(), f"### reconciler plan: `{context.environment}`", ""]
    if not trusted:
        head += [
            "> [!CAUTION]",
            "> The plan's digest does not match the actions it lists, so it was not recorded "
            "as reviewed. Plan again; if it persists, the plan artifact was altered (or written "
            "by a version of reconciler whose digest covers other fields).",
            "",
        ]
    counts = plan.counts()
    shown = [f"{n} {_LABEL[kind]}" for kind, n in counts.items() if n]
    head += [f"**{', '.join(shown) or 'no executions'}**", ""]
    foot: list[str] = []
    if trusted:
        foot += ["", f"Plan digest: `{plan.digest}`"]
    where = [f"head `{context.head_sha[:12]}`"] if context.head_sha else []
    if context.details_url:
        where.append(f"[full plan and artifact]({context.details_url})")
    if where:
        foot += ["", f"<sub>{' · '.join(where)}</sub>"]
    reserve = CHECK_RESERVE if check is not None else 0
    budget = limit - _size(head) - _size(foot) - 400 - reserve  # and the "not shown" note
    body, hidden = _body(plan, budget)
    if any(hidden):
        body += ["", _not_shown(*hidden, context.details_url)]
    if check is not None:  # after the plan and its digest, before where they come from
        room = limit - _size(head) - _size(body) - _size(foot) - 200
        section = check_markdown(check, heading="####", limit=room).rstrip("\n")
        at = 2 if trusted else 0
        foot[at:at] = ["", *section.split("\n")]
    text = "\n".join(head + body + foot) + "\n"
    if len(text) > limit:  # a safety net: the budget above keeps this from happening
        text = text[: limit - 80] + "\n\n_… cut at the comment size limit._\n"
    return text


_TABLE = ["| | Execution | Action | Reason |", "|---|---|---|---|"]


def _row(action: PlanAction) -> list[str]:
    name = md_code(action.name, table=True, limit=CELL_LIMIT)
    reason = md_text(action.reason, limit=CELL_LIMIT)
    return [f"| {_SYMBOL[action.action]} | {name} | {action.action} | {reason} |"]


def _body(plan: PlanDocument, budget: int) -> tuple[list[str], tuple[int, int, int]]:
    """The tables and changes that fit in ``budget``; how many rows, changes, idle rows did not.

    First the actions that change something (the plan the digest covers), then their field
    changes, then, folded, the actions with nothing to do: each part only if all before fit.
    Only what fits is rendered, so a plan of any size costs one comment's worth of work.
    """
    body: list[str] = []
    changing = [a for a in plan.actions if a.action.changes]
    changed = [a for a in changing if a.changes]
    idle = [a for a in plan.actions if not a.action.changes]
    rows: list[list[str]] = []
    details: list[list[str]] = []
    idle_rows: list[list[str]] = []
    if changing:
        rows, budget = _take(changing, _row, budget - _size(_TABLE))
        body += _TABLE + [row[0] for row in rows]
    if len(rows) == len(changing):
        details, budget = _take(changed, _details, budget)
        for block in details:
            body += ["", *block]
    if idle and len(rows) == len(changing) and len(details) == len(changed):
        summary = (
            f"{len(idle)} with nothing to do (for information: the plan digest covers only "
            "what changes)"
        )
        fold = ["", f"<details><summary>{summary}</summary>", "", *_TABLE]
        idle_rows, _ = _take(idle, _row, budget - _size(fold) - 20)
        if idle_rows:
            body += fold + [row[0] for row in idle_rows] + ["", "</details>"]
    hidden = (len(changing) - len(rows), len(changed) - len(details), len(idle) - len(idle_rows))
    return body, hidden


def _details(action: PlanAction) -> list[str]:
    changes = [f"~ {one_line(c, invisible=True)[:CHANGE_LIMIT]}" for c in action.changes[:200]]
    if len(action.changes) > 200:
        changes.append(f"… {len(action.changes) - 200} more")
    return [
        f"<details><summary><code>{html_text(action.name, limit=CELL_LIMIT)}</code> changes"
        "</summary>",
        "",
        *md_fence("\n".join(changes), "diff").split("\n"),
        "</details>",
    ]


def _not_shown(rows: int, details: int, idle: int, url: str | None) -> str:
    what = []
    if rows:
        what.append(f"{rows} more execution{'s' if rows != 1 else ''}")
    if details:
        what.append(f"the changes of {details}")
    if idle:
        what.append(f"{idle} with nothing to do")
    pointer = f"see the [full plan]({url})" if url else "see the full plan in the run's artifact"
    return f"_… {' and '.join(what)} not shown here (comment size limit); {pointer}._"


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _take(
    actions: list[PlanAction], render: Callable[[PlanAction], list[str]], budget: int
) -> tuple[list[list[str]], int]:
    """The blocks of the leading ``actions`` that fit in ``budget`` (each with a blank line)."""
    blocks = []
    for action in actions:
        block = render(action)
        cost = _size(block) + 1
        if cost > budget:
            break
        blocks.append(block)
        budget -= cost
    return blocks, budget
