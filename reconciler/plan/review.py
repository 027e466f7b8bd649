"""Plan approval: is the plan about to be applied the plan that was reviewed?

Pure. The reviewed plan is the ``plan --output json`` document shown on the pull request, read
by the one strict parser (``plan.document``: valid execution names, known action kinds, run
digests of their form, bounded strings). The comparison is by plan digest
(``digest.plan_digest``: names, kinds, runs, reasons and field changes), and when the digests
differ, by execution: which changes are new, which were reviewed but are no longer planned,
which now do something else (another action, or another run digest), and which do the same
for another reason or with other field changes than the reviewer was shown. What the review
prints quotes only names, kinds and digests, and goes through ``outbound`` for its channel:
``log`` for the terminal and CI log, ``md_code``/``md_fence`` for the summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.errors import UserError
from reconciler.model import Location, Plan
from reconciler.model.digest import PlanItem, plan_items
from reconciler.outbound import log, md_code, md_fence
from reconciler.plan.document import (
    Item,
    PlanDocument,
    PlanDocumentError,
    parse_plan_document,
    shown,
)

ReviewStatus = Literal["match", "differs", "none"]

__all__ = ["Item", "Review", "ReviewStatus", "ReviewedPlan", "compare", "parse_reviewed"]


#: The reviewed plan: a plan document (``plan.document``), compared by its ``items``.
ReviewedPlan = PlanDocument


@dataclass(frozen=True)
class Review:
    """The outcome of comparing a plan with the reviewed one."""

    status: ReviewStatus
    reviewed_digest: str | None = None
    digest: str | None = None
    differences: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """One headline, then one line per difference (inert in a terminal and a CI log)."""
        if self.status == "none":
            return "Reviewed plan: none given; applying the plan as computed."
        if self.status == "match":
            return log(f"Reviewed plan: matches ({self.digest}).")
        lines = [
            f"Reviewed plan: DIFFERS (reviewed {self.reviewed_digest}, now {self.digest}):",
            *(f"  {line}" for line in self.differences),
        ]
        return log("\n".join(lines))

    def markdown(self) -> str:
        """The same, for the job summary and ``summary.md``."""
        if self.status == "none":
            return "**Reviewed plan:** none given."
        if self.status == "match":
            return f"**Reviewed plan:** matches ({md_code(self.digest or '')})."
        return "\n".join(
            [
                f"**Reviewed plan: differs** (reviewed {md_code(self.reviewed_digest or '')}, "
                f"applied {md_code(self.digest or '')})",
                "",
                md_fence("\n".join(self.differences), "diff"),
            ]
        )


def parse_reviewed(text: str, source: str) -> ReviewedPlan:
    """Read a ``plan --output json`` document; a clear error naming ``source`` if it is not one.

    The one strict parser of ``plan.document``, worded for ``apply --reviewed-plan``: the
    error is located at the file (at the line and column of a JSON syntax error).
    """
    try:
        return parse_plan_document(text, source)
    except PlanDocumentError as exc:
        raise UserError(_reviewed_message(exc), location=_location(exc)) from None


def _location(exc: PlanDocumentError) -> Location:
    if exc.line is not None and exc.col is not None:
        return Location(file=exc.source, line=exc.line, col=exc.col)
    return Location(file=exc.source)


def _reviewed_message(exc: PlanDocumentError) -> str:
    """The review's own wording of a problem (the comment's is ``exc.message``)."""
    if exc.part == "json":
        return f"not JSON ({exc.detail})"
    if exc.part in ("environment", "planDigest"):
        return "expected planDigest and environment strings (write it with plan --output json)"
    if exc.part == "actions":
        return "expected an actions list"
    if exc.part == "action":
        return f"actions[{exc.index}]: expected an object with a name"
    if exc.part == "action.action":
        return f"actions[{exc.index}].action: {shown(exc.value)} is not an action"
    return exc.problem


def compare(reviewed: ReviewedPlan | None, plan: Plan, digest: str) -> Review:
    """Compare ``plan`` (whose digest is ``digest``) with what was reviewed."""
    if reviewed is None:
        return Review(status="none", digest=digest)
    if reviewed.digest == digest:
        return Review(status="match", reviewed_digest=reviewed.digest, digest=digest)
    differences: list[str] = []
    if reviewed.environment != plan.environment:
        differences.append(
            f"! environment: reviewed {reviewed.environment}, applying {plan.environment}"
        )
    before = {item.name: item for item in reviewed.items}
    after = {item.name: item for item in plan_items(plan)}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None and new is not None:
            differences.append(f"+ {name}: {new.action} (not in the reviewed plan)")
        elif new is None and old is not None:
            differences.append(f"- {name}: {old.action} (reviewed, no longer planned)")
        elif old is not None and new is not None:
            differences.append(f"~ {name}: {_changed(old, new)}")
    if not differences:
        differences.append("! the digests differ but no execution does (another digest version?)")
    return Review(
        status="differs",
        reviewed_digest=reviewed.digest,
        digest=digest,
        differences=tuple(differences),
    )


def _changed(old: PlanItem, new: PlanItem) -> str:
    """How one execution's planned work differs: action, run, else the text the reviewer saw."""
    what = old.action if old.action == new.action else f"{old.action} → {new.action}"
    if old.run != new.run:
        return f"{what}, run {_short(old.run)} → {_short(new.run)}"
    if old.action != new.action:
        return what
    shown = []
    if old.reason != new.reason:
        shown.append("another reason")
    if old.changes != new.changes:
        shown.append("other field changes")
    return f"{what} (the reviewed plan showed {' and '.join(shown)})"


def _short(digest: str | None) -> str:
    return digest.rsplit(":", 1)[-1][:12] if digest else "(none)"
