"""Value types share their sets of field names: what an apply keeps per execution stays small.

Pydantic keeps one ``set`` of the explicitly given field names per model; for a state entry
that set was a kilobyte, the largest part of what an apply held per execution. Models with the
same names given share one set, whichever way they were made: validated, copied with changes,
decoded from a state file, or unpickled from a plan worker. What the set says is unchanged.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from reconciler.model import DesiredRun, Location, Phase, RunRequest, RunResult, StateEntry
from reconciler.store.state import StateStore

AT = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def _entry(name: str) -> StateEntry:
    return StateEntry(
        name=name,
        digest="v1:sha256:00",
        request=RunRequest(process_id="p", atom_id="a", dynamic_properties={"K": name}),
        phase=Phase.SUBMITTED,
        attempt_id=f"{name}-1",
        request_id=f"executionrecord-{name}",
        intent_at=AT,
    )


def test_entries_made_and_copied_alike_share_one_set_that_still_says_what_was_given() -> None:
    one, two = _entry("orders"), _entry("invoices")
    assert one.__pydantic_fields_set__ is two.__pydantic_fields_set__
    assert one.request.__pydantic_fields_set__ is two.request.__pydantic_fields_set__
    final = {"phase": Phase.FINAL, "status": "COMPLETE", "finished_at": AT}
    done_one, done_two = one.model_copy(update=final), two.model_copy(update=final)
    assert done_one.__pydantic_fields_set__ is done_two.__pydantic_fields_set__
    assert done_one.model_fields_set == one.model_fields_set | {"status", "finished_at"}
    assert one.model_fields_set == {
        "name", "digest", "request", "phase", "attempt_id", "request_id", "intent_at",
    }  # fmt: skip
    assert done_one.status == "COMPLETE"
    assert one.status is None


def test_entries_read_back_from_state_files_share_their_sets(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    for name in ("orders", "invoices"):
        store.save(_entry(name).model_copy(update={"phase": Phase.FINAL, "status": "COMPLETE"}))
    read = StateStore(tmp_path).snapshot()
    assert read["orders"].__pydantic_fields_set__ is read["invoices"].__pydantic_fields_set__
    assert read["orders"].status == "COMPLETE"
    assert read["invoices"].request_id == "executionrecord-invoices"


def test_desired_runs_from_plan_workers_share_their_sets_when_unpickled() -> None:
    runs = [
        DesiredRun(
            name=name,
            request=RunRequest(process_id="p", atom_id="a"),
            digest="v1:sha256:00",
            source=Location(file="specs/a.yaml", line=i + 1),
        )
        for i, name in enumerate(("orders", "invoices"))
    ]
    one, two = pickle.loads(pickle.dumps(runs))  # noqa: S301 - our own bytes
    assert one.__pydantic_fields_set__ is two.__pydantic_fields_set__
    assert one.source.__pydantic_fields_set__ is two.source.__pydantic_fields_set__
    assert one == runs[0]
    assert two.source.line == 2


def test_a_shared_set_cannot_be_changed_through_one_model() -> None:
    one, two = RunResult(name="a", outcome="success"), RunResult(name="b", outcome="success")
    assert one.__pydantic_fields_set__ is two.__pydantic_fields_set__
    with pytest.raises(ValidationError):
        one.status = "COMPLETE"  # type: ignore[misc]
    assert two.model_fields_set == {"name", "outcome"}
