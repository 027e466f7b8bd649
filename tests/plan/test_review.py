"""``plan.review``: what differs from the reviewed plan, said inertly for each channel."""

from __future__ import annotations

import json
import re

from reconciler.model import Action, ActionKind, DesiredRun, Location, Plan, RunRequest
from reconciler.model.digest import compute_digest, plan_digest
from reconciler.plan.document import parse_plan_document
from reconciler.plan.review import Review, compare
from reconciler.report.renderers import plan_json


def _plan(reason: str = "request changed since the last run (A)", change: str = "A: 1 → 2") -> Plan:
    request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"A": "2"})
    run = DesiredRun(
        name="pay", request=request, digest=compute_digest(request), source=Location(file="s")
    )
    action = Action(
        name="pay", kind=ActionKind.RERUN, reason=reason, desired=run, changes=(change,)
    )
    return Plan(actions=(action,), environment="prod")


def test_the_same_work_shown_with_other_text_is_not_a_match() -> None:
    # A pull request's own artifact can say anything about the runs it lists; the merge plan
    # says what the specs do. Same run, other reason or changes: the review differs.
    plan = _plan()
    for reviewed, shown in (
        (_plan(reason="a harmless rerun"), "another reason"),
        (_plan(change="A: 1 → 1"), "other field changes"),
        (_plan(reason="x", change="y"), "another reason and other field changes"),
    ):
        document = parse_plan_document(plan_json(reviewed), "plan.json")
        review = compare(document, plan, plan_digest(plan))
        assert review.status == "differs"
        assert review.differences == (f"~ pay: rerun (the reviewed plan showed {shown})",)
    same = parse_plan_document(plan_json(plan), "plan.json")
    assert compare(same, plan, plan_digest(plan)).status == "match"


def test_differences_sit_in_a_fence_no_line_can_close() -> None:
    review = Review(
        status="differs",
        reviewed_digest="sha256:" + "a" * 64,
        digest="sha256:" + "b" * 64,
        differences=("+ x: submit", "```", "</details><img src=x>", "@someone", "::error::x"),
    )
    lines = review.markdown().split("\n")
    start = lines.index("````diff")
    closing = [
        i for i, line in enumerate(lines) if i > start and re.fullmatch(r" {0,3}`{4,}\s*", line)
    ]
    assert closing == [len(lines) - 1]
    assert "```" in lines[start:], "the line that closed the old three-backtick fence"
    assert not any(line.startswith("::") for line in lines)
    text = review.text().split("\n")
    assert not any(line.strip().startswith("::") for line in text)


def test_the_markdown_of_a_match_and_of_none() -> None:
    digest = "sha256:" + "c" * 64
    assert Review("match", digest, digest).markdown() == f"**Reviewed plan:** matches (`{digest}`)."
    assert Review("none", digest=digest).markdown() == "**Reviewed plan:** none given."
    assert json.dumps(Review("none").text()) == (
        '"Reviewed plan: none given; applying the plan as computed."'
    )
