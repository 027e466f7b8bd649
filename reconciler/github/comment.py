"""The sticky plan comment on a pull request: reading the plan document, rendering, the marker.

Pure. The plan document (``plan --output json``) reaches the commenting workflow as an
artifact of a pull-request run, so it is untrusted data: it is parsed strictly and bounded
(``parse_plan``, the one parser of ``plan.document``), every string from it is rendered inert
(no markdown structure, no HTML, no ``@mention`` or ``#123`` reference, no autolink), and the
comment is capped below GitHub's 65,536-character limit with a pointer to the full plan
(practices.md A7). The comment carries a hidden marker naming the environment, the plan
digest, the plan run and the head commit, which is how the comment is found again and how
``reconciler github reviewed-plan`` finds what was reviewed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.errors import UserError
from reconciler.outbound import one_line
from reconciler.plan.document import (
    DIGEST_PATTERN,
    ENV_PATTERN,
    PLAN_SIZE_LIMIT,
    PlanAction,
    PlanDocument,
    parse_plan_document,
)

COMMENT_LIMIT = 60_000  # GitHub refuses comment bodies over 65,536 characters
CELL_LIMIT = 300  # characters of one untrusted string in the table
CHANGE_LIMIT = 500  # characters of one field-change line

SHA_PATTERN = re.compile(r"[0-9a-f]{40}\Z")
_MARKER = re.compile(
    r"<!-- reconciler-plan:(?P<env>[a-z][a-z0-9-]{0,62})"
    r"(?: digest=(?P<digest>sha256:[0-9a-f]{64}|none))?"
    r"(?: run=(?P<run>[0-9]{1,20}))?"
    r"(?: sha=(?P<sha>[0-9a-f]{40}))? -->"
)
_SYMBOL = {
    "submit": "+",
    "rerun": "~",
    "retry": "^",
    "resume": ">",
    "wait": ".",
    "noop": "=",
    "skip": "-",
    "orphan": "?",
    "unknown": "!",
}
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
        return " ".join(parts) + " -->"


def check_environment(name: str) -> str:
    """``name`` if it is a valid environment name, else a user error."""
    if not ENV_PATTERN.match(name):
        raise UserError(
            f"environment {name!r} is not a valid name",
            hint="expected lowercase letters, digits and dashes, starting with a letter",
        )
    return name


def find_marker(body: str, environment: str) -> Marker | None:
    """The plan-comment marker for ``environment`` in a comment body, if there is one."""
    for match in _MARKER.finditer(body):
        if match["env"] != environment:
            continue
        digest = match["digest"]
        run = match["run"]
        return Marker(
            environment=environment,
            digest=digest if digest and digest != "none" else None,
            run_id=int(run) if run else None,
            head_sha=match["sha"],
        )
    return None


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
    "code",
    "find_marker",
    "inline",
    "parse_plan",
    "render_comment",
]


def inline(text: str, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as one inert line of markdown, safe in a table cell.

    Control characters become spaces, the text is cut at ``limit``, HTML and markdown
    punctuation are escaped, and ``@name``, ``#123`` and URLs get a zero-width space so GitHub
    neither notifies anyone, nor links an issue, nor makes a link.
    """
    text = one_line(text, invisible=True)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    out = []
    for char in text:
        if char in "&<>\"'":
            out.append(f"&#{ord(char)};")
        elif char in "\\`*_{}[]()#+-.!|~=:^$":
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = "".join(out)
    # After an @ or # a zero-width space breaks mentions and issue references; after :// and
    # www. it breaks autolinks. (A backslash or an entity is decoded before GitHub looks.)
    escaped = escaped.replace("@", "@&#8203;").replace("\\#", "\\#&#8203;")
    return re.sub(r"(?i)(\\:)(//)|(www)(\\\.)", _break_link, escaped)


def _break_link(match: re.Match[str]) -> str:
    if match[1]:
        return f"{match[1]}&#8203;{match[2]}"
    return f"{match[3]}&#8203;{match[4]}"


def code(text: str, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as an inline code span (no backtick inside, pipes escaped for tables)."""
    text = one_line(text, invisible=True).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("|", "\\|")
    return f"`{text}`" if text else "` `"


def _html(text: str, limit: int = CELL_LIMIT) -> str:
    """Untrusted text inside raw HTML (where backslash escapes do not apply): entities only."""
    text = one_line(text, invisible=True)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    out = []
    for char in text:
        if char in "&<>\"'`":
            out.append(f"&#{ord(char)};")
        elif char in "@#":  # a zero-width space after: no mention, no issue reference
            out.append(f"{char}&#8203;")
        else:
            out.append(char)
    return "".join(out).replace("://", ":&#8203;//")


def _block(lines: list[str]) -> list[str]:
    """A fenced block that no line of ``lines`` can close (and HTML-inert by construction)."""
    longest = max((len(m) for line in lines for m in re.findall(r"`{3,}|~{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}diff", *lines, fence]


@dataclass(frozen=True)
class CommentContext:
    """Trusted facts the commenting workflow adds: where the plan came from."""

    environment: str
    run_id: int | None = None
    head_sha: str | None = None
    details_url: str | None = None


def render_comment(
    plan: PlanDocument, context: CommentContext, *, limit: int = COMMENT_LIMIT
) -> str:
    """The whole comment body: marker, headline, table, changes, digest; at most ``limit``."""
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
            "as reviewed. Plan again; if it persists, the plan artifact was tampered with.",
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
    body: list[str] = []
    rows = [
        [f"| {_SYMBOL[a.action]} | {code(a.name)} | {a.action} | {inline(a.reason)} |"]
        for a in plan.actions
    ]
    details = [_details(a) for a in plan.actions if a.changes]
    budget = limit - _size(head) - _size(foot) - 400  # room for the "not shown" note
    if rows:
        table = ["| | Execution | Action | Reason |", "|---|---|---|---|"]
        budget -= _size(table)
        kept = _fit(rows, budget)
        budget -= sum(_size(row) for row in rows[:kept])
        body += table + [row[0] for row in rows[:kept]]
        hidden_rows = len(rows) - kept
        kept_details = _fit(details, budget) if hidden_rows == 0 else 0
        for block in details[:kept_details]:
            body += ["", *block]
        hidden_details = len(details) - kept_details
        if hidden_rows or hidden_details:
            body += ["", _not_shown(hidden_rows, hidden_details, context.details_url)]
    text = "\n".join(head + body + foot) + "\n"
    if len(text) > limit:  # a safety net: the budget above keeps this from happening
        text = text[: limit - 80] + "\n\n_… cut at the comment size limit._\n"
    return text


def _details(action: PlanAction) -> list[str]:
    changes = [f"~ {one_line(c, invisible=True)[:CHANGE_LIMIT]}" for c in action.changes[:200]]
    if len(action.changes) > 200:
        changes.append(f"… {len(action.changes) - 200} more")
    return [
        f"<details><summary><code>{_html(action.name)}</code> changes</summary>",
        "",
        *_block(changes),
        "</details>",
    ]


def _not_shown(rows: int, details: int, url: str | None) -> str:
    what = []
    if rows:
        what.append(f"{rows} more execution{'s' if rows != 1 else ''}")
    if details:
        what.append(f"the changes of {details}")
    pointer = f"see the [full plan]({url})" if url else "see the full plan in the run's artifact"
    return f"_… {' and '.join(what)} not shown here (comment size limit); {pointer}._"


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _fit(blocks: list[list[str]], budget: int) -> int:
    """How many leading blocks fit in ``budget`` characters (each block with a blank line)."""
    used = 0
    for index, block in enumerate(blocks):
        used += _size(block) + 1
        if used > budget:
            return index
    return len(blocks)
