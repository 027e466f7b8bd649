"""``report.apply_record``: the one typed reader of apply.json, round-tripping the writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from reconciler.errors import UserError
from reconciler.model import ApplyResult, Plan
from reconciler.plan.review import Review
from reconciler.report.apply_record import ApplyRecord, parse_apply_record
from reconciler.report.renderers import apply_record_json

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
