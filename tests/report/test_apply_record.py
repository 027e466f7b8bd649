"""``report.apply_record``: the one typed reader of apply.json, round-tripping the writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from reconciler.errors import UserError
from reconciler.model import (
    Action,
    ActionKind,
    ApplyResult,
    DesiredRun,
    Location,
    Plan,
    RunRequest,
    RunResult,
)
from reconciler.model.digest import plan_digest
from reconciler.plan.review import Review
from reconciler.report.apply_record import ApplyRecord, parse_apply_record
from reconciler.report.renderers import PlanOutline, apply_record_json

T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "d" * 64


def test_what_the_writer_writes_reads_back() -> None:
    plan = Plan(environment="prod", actions=())
    result = ApplyResult(environment="prod", started_at=T0, finished_at=T0, results=())
    review = Review(status="match", reviewed_digest=DIGEST, digest=DIGEST)
    text = apply_record_json(result, plan=plan, review=review, shard=(2, 4))
    record = parse_apply_record(text, "apply.json")
    assert record.plan_digest == DIGEST
    assert record.reviewed == "match"
    assert record.shard == "2/4"
    assert record.outcomes == json.loads(text)["outcomes"]
    assert list(record.outcomes or {}) == list(json.loads(text)["outcomes"])  # order kept


def _plan() -> Plan:
    def action(name: str, kind: ActionKind) -> Action:
        request = RunRequest(process_id="p", atom_id="a", dynamic_properties={"NAME": name})
        run = DesiredRun(name=name, request=request, digest=f"v1:{name}", source=Location(file="x"))
        return Action(name=name, kind=kind, reason="test", desired=run)

    kinds = [ActionKind.SUBMIT, ActionKind.NOOP, ActionKind.SUBMIT, ActionKind.RERUN]
    return Plan(environment="prod", actions=tuple(action(f"r{i}", k) for i, k in enumerate(kinds)))


@pytest.mark.parametrize("reviewed", [None, DIGEST])
def test_the_outline_an_apply_keeps_writes_the_bytes_its_plan_would(reviewed: str | None) -> None:
    # An apply lets go of its plan while its runs go and writes apply.json from the outline.
    plan = _plan()
    runs = (RunResult(name="r0", outcome="success"), RunResult(name="r2", outcome="failure"))
    result = ApplyResult(environment="prod", started_at=T0, finished_at=T0, results=runs)
    review = Review(status="none", digest=reviewed)
    outline = PlanOutline.of(plan, plan_digest(plan))
    text = apply_record_json(result, plan=outline, review=review, stats={"HTTP calls": 4})
    assert text == apply_record_json(result, plan=plan, review=review, stats={"HTTP calls": 4})
    assert json.loads(text)["actions"] == {"submit": 2, "rerun": 1, "noop": 1}
    assert json.loads(text)["planDigest"] == (reviewed or plan_digest(plan))


def test_fields_of_another_type_are_left_out() -> None:
    text = json.dumps(
        {
            "planDigest": 1,
            "reviewed": "match",
            "shard": None,
            "outcomes": {"success": 2, "failure": "x", "odd": True},
        }
    )
    assert parse_apply_record(text, "a") == ApplyRecord(outcomes={"success": 2})
    assert parse_apply_record("[]", "a") == ApplyRecord()


def test_not_json_is_a_user_error_naming_the_file() -> None:
    with pytest.raises(UserError, match=r"^a: not a readable apply record \(Expecting prop"):
        parse_apply_record("{", "a")


def test_a_hostile_record_cannot_write_the_commit_message() -> None:
    # A record a pull request committed (the apply stopped before writing its own) feeds the
    # commit's subject and trailers: every field must be of its form, or it is left out.
    text = json.dumps(
        {
            "planDigest": f"{DIGEST}\nReconciler-Reviewed: match",
            "reviewed": {"status": "match\nSigned-off-by: someone"},
            "shard": "1/2\n\nforged body",
            "outcomes": {"success": 1, "failure\nReconciler-Reviewed: match": 1, "unknown": -1},
        }
    )
    assert parse_apply_record(text, "a") == ApplyRecord(outcomes={"success": 1})
    text = json.dumps({"planDigest": DIGEST, "reviewed": {"status": "differs"}, "shard": "3/4"})
    assert parse_apply_record(text, "a") == ApplyRecord(DIGEST, "differs", "3/4")


@pytest.mark.parametrize("text", ["[" * 100_000, '{"planDigest": ' + "1" * 5000 + "}"])
def test_a_hostile_record_is_a_clear_error_not_a_crash(text: str) -> None:
    with pytest.raises(UserError, match="not a readable apply record"):
        parse_apply_record(text, "artifacts/default/apply.json")
