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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from reconciler.errors import UserError
from reconciler.model import ActionKind, Location, Plan
from reconciler.model.digest import PlanItem, plan_items, short_revision
from reconciler.outbound import log, md_code, md_fence
from reconciler.plan.document import (
    Item,
    PlanAction,
    PlanDocument,
    PlanDocumentError,
    parse_plan_document,
    shown,
)
from reconciler.plan.promotion import PROMOTION_WAIT

ReviewStatus = Literal["match", "covered", "differs", "none"]

__all__ = [
    "Item",
    "Review",
    "ReviewStatus",
    "Reviewed",
    "ReviewedPlan",
    "compare",
    "compare_each",
    "parse_reviewed",
]

#: The actions that send a request: each needs a review (see ``compare_each``). ``wait`` is a
#: submit that runs later in the same apply, once its dependencies succeeded.
_SENDS = ("submit", "rerun", "retry", "wait")


#: The reviewed plan: a plan document (``plan.document``), compared by its ``items``.
ReviewedPlan = PlanDocument


@dataclass(frozen=True)
class Review:
    """The outcome of comparing a plan with the reviewed one."""

    status: ReviewStatus
    reviewed_digest: str | None = None
    digest: str | None = None
    differences: tuple[str, ...] = field(default_factory=tuple)
    #: Per execution (``compare_each``): name -> who reviewed it, and the names nobody did.
    covered: tuple[tuple[str, str], ...] = ()
    uncovered: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()

    def text(self) -> str:
        """One headline, then one line per difference (inert in a terminal and a CI log)."""
        if self.status == "none":
            return "Reviewed plan: none given; applying the plan as computed."
        if self.status == "match":
            return log(f"Reviewed plan: matches ({self.digest}).")
        if self.reviewed_digest is None:
            return log("\n".join(self._each_lines()))
        if self.status == "covered":
            head = (
                f"Reviewed plan: differs (reviewed {self.reviewed_digest}, now {self.digest}), "
                "but every change it sends was reviewed:"
            )
        else:
            head = f"Reviewed plan: DIFFERS (reviewed {self.reviewed_digest}, now {self.digest}):"
        lines = [
            head,
            *(f"  {line}" for line in self.differences),
            *(f"  {name}: reviewed in {who}" for name, who in self.covered),
        ]
        return log("\n".join(lines))

    def markdown(self) -> str:
        """The same, for the job summary and ``summary.md``."""
        if self.status == "none":
            return "**Reviewed plan:** none given."
        if self.status == "match":
            return f"**Reviewed plan:** matches ({md_code(self.digest or '')})."
        if self.reviewed_digest is None:
            head, *rest = self._each_lines()
            return "\n".join([f"**{head}**", "", md_fence("\n".join(rest), "diff")])
        covered = ", but every change it sends was reviewed" if self.status == "covered" else ""
        return "\n".join(
            [
                f"**Reviewed plan: differs{covered}** (reviewed "
                f"{md_code(self.reviewed_digest or '')}, "
                f"applied {md_code(self.digest or '')})",
                "",
                md_fence("\n".join(self.differences), "diff"),
            ]
        )

    def _each_lines(self) -> list[str]:
        by = ", ".join(self.reviewers) or "nobody"
        if self.uncovered:
            head = (
                f"Reviewed plans: {len(self.uncovered)} change(s) NOT reviewed; "
                f"{len(self.covered)} reviewed by {by}"
            )
        else:
            head = f"Reviewed plans: every change was reviewed ({len(self.covered)}, by {by})"
        lines = [head, *(f"+ {line}" for line in self.uncovered)]
        lines += [f"  {name}: reviewed in {who}" for name, who in self.covered]
        return lines


@dataclass(frozen=True)
class Reviewed:
    """One reviewed plan and who reviewed it (e.g. ``#12 merged by alice``)."""

    plan: ReviewedPlan
    label: str


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


def compare_each(reviewed: Sequence[Reviewed], plan: Plan, digest: str) -> Review:
    """Whether every change ``plan`` sends was reviewed, execution by execution.

    An action that sends a request the state never recorded for its execution (a ``submit``
    or a ``rerun``/``retry`` of another run digest) needs a reviewed plan, of any of the pull
    requests merged since the last apply, that planned the same execution with the same run
    digest to send (``submit``, ``rerun`` or ``retry``). An action that sends again a run digest
    the state already holds (a ``retry`` or an ``always`` re-run of an applied run) is its
    reviewed policy at work and needs none; nor do ``resume``, ``unknown`` and the rest, which
    send nothing new. A smaller plan than the reviewed ones is fully covered. ``uncovered``
    names every change that needs a review and has none (also when no plan was given).
    """
    needing = [
        (action.name, action.kind.value, action.desired.digest)
        for action in plan.actions
        if action.kind.value in _SENDS
        and action.desired is not None
        and not (action.current is not None and action.current.digest == action.desired.digest)
    ]
    if not reviewed:
        return Review(
            status="none",
            digest=digest,
            uncovered=tuple(f"{name}: {kind} run {_short(run)}" for name, kind, run in needing),
        )
    single = compare(reviewed[0].plan, plan, digest) if len(reviewed) == 1 else None
    if single is not None and single.status == "match":
        return Review(
            status="match", reviewed_digest=digest, digest=digest, reviewers=(reviewed[0].label,)
        )
    # What each reviewer was shown of each run: a pull request's artifact is written by its own
    # code, so the run digest alone is not enough; the action, the reason and the field
    # changes it showed must be what this plan says too (issue #15: no invented "changes").
    shown: dict[tuple[str, str], list[tuple[str, PlanItem]]] = {}
    waits: dict[tuple[str, str], list[tuple[str, PlanAction]]] = {}
    for one in reviewed:
        if one.plan.environment != plan.environment:
            continue
        for item in one.plan.items:
            if item.action in _SENDS and item.run is not None:
                shown.setdefault((item.name, item.run), []).append((one.label, item))
        for shown_action in one.plan.actions:  # a promotion wait shown for this very run
            if shown_action.action is ActionKind.SKIP and shown_action.digest is not None:
                waits.setdefault((shown_action.name, shown_action.digest), []).append(
                    (one.label, shown_action)
                )
    ours = {item.name: item for item in plan_items(plan)}
    revisions = {a.name: a.desired.revision for a in plan.actions if a.desired is not None}
    covered: list[tuple[str, str]] = []
    uncovered: list[str] = []
    for name, kind, run in needing:
        seen = shown.get((name, run), [])
        mine = ours[name]
        who = next((label for label, item in seen if _same_view(item, mine)), None)
        if who is None:
            who = next(
                (
                    label
                    for label, wait in waits.get((name, run), [])
                    if _promoted_view(wait, mine, revisions.get(name, ""))
                ),
                None,
            )
        if who is not None:
            covered.append((name, who))
        elif seen:
            label, item = seen[0]
            uncovered.append(
                f"{name}: {kind} run {_short(run)} ({label} showed {_shown_diff(item, mine)})"
            )
        else:
            uncovered.append(f"{name}: {kind} run {_short(run)}")
    labels = tuple(dict.fromkeys(one.label for one in reviewed))
    return Review(
        status="differs" if uncovered else "covered",
        reviewed_digest=single.reviewed_digest if single is not None else None,
        digest=digest,
        differences=(
            single.differences
            if single is not None
            else tuple(f"+ {line} (not in any reviewed plan)" for line in uncovered)
        ),
        covered=tuple(covered),
        uncovered=tuple(uncovered),
        reviewers=labels,
    )


def _same_view(item: PlanItem, mine: PlanItem) -> bool:
    return (item.action, item.reason, tuple(item.changes)) == (
        mine.action,
        mine.reason,
        tuple(mine.changes),
    )


def _shown_diff(item: PlanItem, mine: PlanItem) -> str:
    shown = []
    if item.action != mine.action:
        shown.append(f"{item.action}, not {mine.action}")
    if item.reason != mine.reason:
        shown.append("another reason")
    if tuple(item.changes) != tuple(mine.changes):
        shown.append("other field changes")
    return " and ".join(shown) or "something else"


def _promoted_view(wait: PlanAction, mine: PlanItem, revision: str) -> bool:
    """A reviewed ``skip`` that waited for the promotion of this run, now promoted.

    The pull request's plan of this environment could only show the run as waiting for its
    promotion (test had not run it yet); what it showed must be that wait, for this run digest
    and this revision, with the field changes this plan computes: nothing invented.
    """
    return (
        wait.reason.startswith(f"{PROMOTION_WAIT}: revision {short_revision(revision)} ")
        and "; promoted from " in mine.reason
        and tuple(wait.changes) == tuple(mine.changes)
    )
