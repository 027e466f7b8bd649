"""Run statuses and progress events: closed sets whose meaning is in the type, not the text."""

from __future__ import annotations

import typing

import pytest

import reconciler.model
from reconciler.model import (
    Event,
    Final,
    RetryPolicy,
    RunPolicy,
    RunStatus,
    StatusChanged,
    is_final_status,
)
from reconciler.model import events as events_module


def test_every_event_type_is_exported_and_says_whether_it_ends_its_run() -> None:
    kinds = typing.get_args(Event)
    names = {kind.__name__ for kind in kinds}
    assert names <= set(reconciler.model.__all__)
    assert {kind.__name__ for kind in kinds if kind.final} == {
        "Final",
        "NotSubmitted",
        "Rejected",
        "Unknown",
        "Skipped",
        "NoRecord",
        "TimedOut",
        "PollingStopped",
    }
    # Nothing else in the module is an event: the set is closed.
    defined = {
        name
        for name, value in vars(events_module).items()
        if isinstance(value, type) and value.__module__ == events_module.__name__
    }
    assert defined == names


def test_events_are_frozen() -> None:
    event = Final("a", "COMPLETE", "e-1")
    with pytest.raises(AttributeError):
        event.status = "ERROR"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "member"),
    [("COMPLETE_WARN", RunStatus.COMPLETE_WARN), ("FAILED", None), (None, None)],
)
def test_a_status_string_names_a_member_or_none(text: str | None, member: RunStatus | None) -> None:
    assert RunStatus.of(text) is member


def test_final_statuses() -> None:
    final = {status for status in RunStatus if status.is_final}
    assert final == {"COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"}
    assert not is_final_status("ABORTED_RECOVERING")
    assert not is_final_status("SOMETHING_NEW")
    assert is_final_status("ERROR")
    assert not StatusChanged("a", "ABORTED_RECOVERING", "e-1").final


def test_policy_success_and_retries_speak_run_statuses() -> None:
    assert RunPolicy().succeeded("COMPLETE")
    assert RunPolicy().succeeded("COMPLETE_WARN")
    assert not RunPolicy(warn_is_success=False).succeeded("COMPLETE_WARN")
    assert not RunPolicy().succeeded("ERROR")
    assert not RunPolicy().succeeded(None)
    assert RetryPolicy().on == ("ERROR", "ABORTED", "DISCARDED")
    assert RetryPolicy().model_dump(mode="json") == {
        "count": 0,
        "on": ["ERROR", "ABORTED", "DISCARDED"],
    }
