"""A 204 from the record poll: the platform no longer holds the result (§12.1), so it is gone.

``GET /ExecutionRecord/async/{requestId}`` answers 204 once the async result was delivered or
has expired: the run is then followed by its executionId when that is known, else it is
``unknown`` for the next apply to resolve by query, as after a 404 or a 410; never retried as a
malformed body. A 204 to a QUERY (the survey, adoption) is no such answer: it is retried.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import (
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    read_state,
    set_faults,
    spec,
)

Run = Callable[..., CliResult]

GONE = {"endpoint": "executionRecordAsync", "kind": "script", "status": 204, "raw": ""}
EMPTY_PAGE = {"@type": "QueryResult", "numberOfResults": 0, "result": []}


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]


def test_a_204_from_the_record_poll_makes_the_run_unknown_at_once(
    workspace: Path, sim: Admin, run_cli: Run, caplog: pytest.LogCaptureFixture
) -> None:
    set_faults(sim, [GONE])
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    with caplog.at_level(logging.INFO, logger="reconciler.boomi.client"):
        result = run_cli("apply")
    assert result.code == 4, result.err
    assert "o: unknown: GET /ExecutionRecord/async/executionrecord-" in result.err
    assert "no longer knows this request (HTTP 204" in result.err
    assert "malformed body" not in result.err + result.out
    assert _retries(caplog) == []
    assert sim.stats()["requests"]["executionRecordAsync"] == {"204": 1}
    state = read_state(workspace, "o")
    assert state["phase"] == "unknown"
    # The next apply finds the run by query and adopts it: never submitted twice.
    set_faults(sim, [])
    again = run_cli("apply")
    assert again.code == 0, again.err
    assert read_state(workspace, "o")["status"] == "COMPLETE"
    assert len(sim.submissions()) == 1


def test_a_204_for_a_run_whose_execution_id_is_known_falls_back_to_it(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    assert run_cli("apply").code == 0
    # As if the last apply stopped while the run was running: its executionId is known.
    path = workspace / "state" / "default" / "o.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("status", "finished_at", "duration_ms"):
        data.pop(key, None)
    data["phase"] = "submitted"
    path.write_text(json.dumps(data), encoding="utf-8")
    # The poll round does not carry the run, so it is asked for by its requestId: 204.
    empty = {"endpoint": "executionRecordQuery", "kind": "script", "body": EMPTY_PAGE}
    set_faults(sim, [{**empty, "count": 1}, GONE])
    result = run_cli("apply")
    assert result.code == 0, result.err
    assert "unknown" not in result.err
    state = read_state(workspace, "o")
    assert (state["phase"], state["status"]) == ("final", "COMPLETE")
    stats = sim.stats()
    assert stats["requests"]["executionRecordAsync"] == {"200": 1, "204": 1}
    assert stats["faults"]["executionRecordQuery"] == {"script:200": 1}
    assert len(sim.submissions()) == 1


def test_a_204_to_the_adoption_query_is_retried_not_taken_as_gone(
    workspace: Path, sim: Admin, run_cli: Run, caplog: pytest.LogCaptureFixture
) -> None:
    query_204 = {"endpoint": "executionRecordQuery", "kind": "script", "status": 204, "raw": ""}
    set_faults(
        sim,
        [{"endpoint": "executionRequest", "kind": "drop", "count": 1}, {**query_204, "count": 2}],
    )
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    with caplog.at_level(logging.INFO, logger="reconciler.boomi.client"):
        result = run_cli("apply")
    assert result.code == 0, result.err
    assert "o: adopted execution-" in result.err
    assert [m.split(";")[0] for m in _retries(caplog)] == [
        "POST /ExecutionRecord/query: HTTP 204 with no body"
    ] * 2
    state = read_state(workspace, "o")
    assert (state["adopted"], state["status"]) == (True, "COMPLETE")
    assert len(sim.submissions()) == 1
