"""A whole day of applies through the CLI, every body the simulator received checked against
the official schema subset, as it is (issue 17: "every body the client sends validates").

The simulator keeps every request a platform path receives, as it arrived and before auth,
limits or faults (``GET /_sim/requests``), so retried submits and refused polls are checked too.
The applies are chosen so that the client sends every kind of body it has: submits without
properties, with dynamic properties only and with both kinds; submits and reads retried after
503/500; a policy retry; the durations survey; an ambiguous submit resolved by the adoption
query, paged through ``queryMore``; the follow-up by executionId of the adopted run; the poll
rounds (an ``or`` of executionIds); and a cancel. The test then asserts each of those was
seen, so a change in the client that stops sending one makes the test say so rather than pass
on fewer bodies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from reconciler.sim.world import demo_world
from tests.conftest import (
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    read_state,
    set_faults,
    spec,
)
from tests.contract import oas

Run = Callable[..., CliResult]

LONG = "5a5a5a5a-0000-4000-8000-00000000abcd"
COMPONENT = "456789ab-cdef-0123-4567-89abcdef0123"


def _world() -> dict[str, Any]:
    """The demo world, unlimited, paging QUERY one record at a time, plus a process that runs
    for a simulated day (so a run is still going when ``cancel`` is asked)."""
    world = demo_world().model_dump(by_alias=True, exclude_none=True, mode="json")
    world["accounts"][0]["rateLimit"] = 0
    world["switches"] = {**world.get("switches", {}), "pageSize": 1}
    world["processes"].append(
        {"id": LONG, "name": "Long - Archive", "deployments": ["Production"], "duration": 86400}
    )
    return world


BOTH_KINDS = (
    spec("both", ORDERS, PROD_ATOM, {"DPP_RUN_DATE": "2026-01-15"})
    + f'  processProperties:\n    {COMPONENT}:\n      batchSize: "500"\n      mode: ""\n'
)
RETRIED = spec("retried", INVOICES, PROD_ATOM) + "  policy:\n    retries: {count: 1, on: [ERROR]}\n"


def _received(sim: Admin) -> dict[str, Any]:
    data = httpx.get(f"{sim.url}/requests").json()
    assert isinstance(data, dict)
    return data


def test_every_body_of_a_full_apply_matches_the_official_schema(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    sim.reset(_world())
    # 1. First apply: no properties, dynamic only, both kinds, a policy retry; transient
    #    refusals of a submit, a poll and a query on the way.
    build_tree(
        workspace,
        {
            "specs/plain.yaml": spec("plain", ORDERS, PROD_ATOM),
            "specs/dyn.yaml": spec("dyn", INVENTORY, PROD_ATOM, {"DPP_MODE": "full"}),
            "specs/both.yaml": BOTH_KINDS,
            "specs/retried.yaml": RETRIED,
        },
    )
    set_faults(
        sim,
        [
            {"endpoint": "executionRequest", "kind": "error", "status": 503, "count": 1},
            {"endpoint": "executionRecordAsync", "kind": "error", "status": 500, "count": 1},
            {"endpoint": "executionRecordQuery", "kind": "error", "status": 503, "count": 1},
        ],
    )
    first = run_cli("apply")
    assert first.code == 3, first.err  # retried ends ERROR twice: a failed run
    assert read_state(workspace, "retried")["attempts"] == 2
    assert read_state(workspace, "both")["status"] == "COMPLETE"

    # 2. An ambiguous submit: the answer is lost after the run started. The adoption query
    #    pages (one record a page) past the two runs of the same process already known.
    build_tree(workspace, {"specs/lost.yaml": spec("lost", ORDERS, PROD_ATOM, {"WHO": "lost"})})
    set_faults(sim, [{"endpoint": "executionRequest", "kind": "drop", "count": 1}])
    second = run_cli("apply")
    assert second.code == 0, second.err
    assert "lost: adopted execution-" in second.err
    assert read_state(workspace, "lost")["status"] == "COMPLETE"

    # 3. A run still going when its apply gives up, then cancelled.
    long = spec("long", LONG, PROD_ATOM) + "  policy:\n    timeout: 0.5\n"
    build_tree(workspace, {"specs/long.yaml": long})
    assert run_cli("apply").code == 5
    assert run_cli("cancel", "long").code == 0
    assert run_cli("apply").code == 3
    assert read_state(workspace, "long")["status"] == "ABORTED"

    received = _received(sim)
    requests = received["requests"]
    assert received["dropped"] == 0, "the log forgot requests: raise its limit for this test"
    assert not [r for r in requests if r["truncated"]]

    problems = [
        problem
        for r in requests
        for problem in oas.request_problems(r["method"], r["path"], r["contentType"], r["body"])
    ]
    assert problems == []

    # Every kind of body the client has was among them (else this test proves less than it
    # says); a new kind is welcome, and checked above like the rest.
    seen = {r["endpoint"] for r in requests}
    assert seen >= {
        "executionRequest",
        "executionRecordAsync",
        "executionRecordQuery",
        "executionRecordQueryMore",
        "cancelExecution",
    }
    submits = [json.loads(r["body"]) for r in requests if r["endpoint"] == "executionRequest"]
    shapes = {
        (
            len(s["DynamicProcessProperties"]["DynamicProcessProperty"]),
            sum(len(p["ProcessPropertyValue"]) for p in s["ProcessProperties"]["ProcessProperty"]),
        )
        for s in submits
    }
    assert shapes >= {(0, 0), (1, 0), (1, 2)}
    accepted = httpx.get(f"{sim.url}/submissions").json()["submissions"]
    assert len(submits) == len(accepted) + 1  # the one refused with 503, then sent again
    queries = [json.loads(r["body"]) for r in requests if r["endpoint"] == "executionRecordQuery"]
    assert {_shape(q) for q in queries} >= {
        ("executionId EQUALS",),  # follow an adopted run
        ("processId EQUALS", "atomId EQUALS", "executionTime BETWEEN"),  # adoption
        ("processId EQUALS", "executionTime GREATER_THAN_OR_EQUAL"),  # durations survey
    }
    rounds = [q for q in queries if q["QueryFilter"]["expression"].get("operator") == "or"]
    assert rounds  # poll rounds: the runs being followed, by executionId, in one query
    assert {_shape(q) for q in rounds} <= {("executionId EQUALS",) * n for n in range(1, 101)}
    more = [r for r in requests if r["endpoint"] == "executionRecordQueryMore"]
    assert more
    assert all(r["contentType"] == "text/plain" for r in more)


def _shape(query: dict[str, Any]) -> tuple[str, ...]:
    expression = query["QueryFilter"]["expression"]
    terms = expression.get("nestedExpression", [expression])
    return tuple(f"{t['property']} {t['operator']}" for t in terms)
