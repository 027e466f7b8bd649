"""Issues 3 and 5: faults, ambiguous submits, adoption, retries, dependencies, the lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from reconciler.store.state import StateStore
from tests.conftest import (
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

Run = Callable[..., CliResult]


def test_503_burst_on_submit_is_retried_and_submits_once(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    set_faults(sim, [{"endpoint": "executionRequest", "kind": "error", "status": 503, "count": 2}])
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert result.code == 0, result.err
    assert len(sim.submissions()) == 1
    assert read_state(workspace, "o")["status"] == "COMPLETE"


def test_dropped_response_after_processing_is_adopted_not_resubmitted(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    set_faults(sim, [{"endpoint": "executionRequest", "kind": "drop", "count": 1}])
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert result.code == 0, result.err
    assert "o: unknown: POST /ExecutionRequest: RemoteProtocolError" in result.err
    assert "o: adopted execution-" in result.err
    state = read_state(workspace, "o")
    assert (state["adopted"], state["status"]) == (True, "COMPLETE")
    assert len(sim.submissions()) == 1
    assert run_cli("apply").code == 0
    assert len(sim.submissions()) == 1


def test_ambiguous_submit_with_two_candidates_stays_unknown(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    # Another client starts the same process on the same runtime: two candidates, no guess.
    build_tree(workspace, {"specs/other.yaml": spec("other", ORDERS, PROD_ATOM, {"X": "1"})})
    assert run_cli("apply").code == 0
    (workspace / "state" / "default" / "other.json").unlink()  # unknown to this state now
    (workspace / "specs" / "other.yaml").unlink()
    set_faults(sim, [{"endpoint": "executionRequest", "kind": "drop", "count": 1}])
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert result.code == 4
    assert "2 runs could be this submit" in result.err
    assert read_state(workspace, "o")["phase"] == "unknown"
    again = run_cli("apply")
    assert again.code == 4
    assert len(sim.submissions()) == 2  # never resubmitted on its own
    chosen = str(sim.submissions()[1]["executionId"])
    adopted = run_cli("apply", "--adopt", f"o={chosen}")
    assert adopted.code == 0, adopted.err
    assert read_state(workspace, "o")["execution_id"] == chosen
    assert len(sim.submissions()) == 2


def test_two_unresolved_siblings_of_one_process_are_not_told_apart_by_guessing(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    """One submit is lost before processing, the other's answer after: one run exists, and
    nothing on the platform says whose it is. Neither adopts it; a human says which."""
    set_faults(
        sim,
        [
            {"endpoint": "executionRequest", "kind": "error", "status": 500, "count": 1},
            {"endpoint": "executionRequest", "kind": "drop", "count": 1},  # the next one
        ],
    )
    build_tree(
        workspace,
        {
            "specs/a.yaml": spec("a", ORDERS, PROD_ATOM, {"WHO": "a"}),
            "specs/b.yaml": spec("b", ORDERS, PROD_ATOM, {"WHO": "b"}),
        },
    )
    result = run_cli("apply")
    assert result.code == 4, result.err
    (ran,) = sim.submissions()
    owner = ran["properties"]["dynamic"]["WHO"]
    other = "b" if owner == "a" else "a"
    for name, sibling in ((owner, other), (other, owner)):
        assert read_state(workspace, name)["phase"] == "unknown"
        assert f"could be this submit's or that of {sibling}" in result.err
    # The one that ran nothing is resubmitted by hand; then the run left is provably the other's.
    resumed = run_cli("apply", "--resubmit", other)
    assert resumed.code == 0, resumed.err
    assert read_state(workspace, owner)["execution_id"] == ran["executionId"]
    assert read_state(workspace, owner)["adopted"] is True
    assert len(sim.submissions()) == 2  # one run each, none twice


def test_intent_without_request_id_is_resolved_by_query(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    """A crash between the intent and the requestId: the run is found, not resubmitted."""
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    assert run_cli("apply").code == 0
    path = workspace / "state" / "default" / "o.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in (
        "request_id",
        "execution_id",
        "status",
        "submitted_at",
        "execution_time",
        "finished_at",
        "duration_ms",
    ):
        data.pop(key, None)
    data["phase"] = "intent"
    path.write_text(json.dumps(data), encoding="utf-8")
    plan = run_cli("plan")
    assert "!  o          unknown  a submit began" in plan.out
    result = run_cli("apply")
    assert result.code == 0, result.err
    assert read_state(workspace, "o")["status"] == "COMPLETE"
    assert len(sim.submissions()) == 1


def test_resubmit_is_the_explicit_way_out(workspace: Path, sim: Admin, run_cli: Run) -> None:
    set_faults(
        sim, [{"endpoint": "executionRequest", "kind": "error", "status": 500, "count": 1}]
    )  # 500 before processing: nothing ran, but we cannot know
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert result.code == 4
    assert "no run of this process on this runtime since" in result.err
    assert sim.submissions() == []
    resubmitted = run_cli("apply", "--resubmit", "o")
    assert resubmitted.code == 0, resubmitted.err
    assert len(sim.submissions()) == 1


def test_retries_named_statuses_and_records_every_attempt(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    text = spec("inv", INVOICES, PROD_ATOM) + "  policy:\n    retries: {count: 2, on: [ERROR]}\n"
    build_tree(workspace, {"specs/inv.yaml": text})
    result = run_cli("apply")
    assert result.code == 3
    assert "inv: retry 1 of 2" in result.err
    assert "inv: retry 2 of 2" in result.err
    state = read_state(workspace, "inv")
    assert (state["attempts"], state["status"]) == (3, "ERROR")
    history = state["history"]
    assert isinstance(history, list)
    assert [h["status"] for h in history] == ["ERROR", "ERROR"]
    assert len(sim.submissions()) == 3
    assert run_cli("apply").code == 0  # retries exhausted: up to date, nothing submitted
    assert len(sim.submissions()) == 3


def test_dependency_chain_and_diamond(workspace: Path, sim: Admin, run_cli: Run) -> None:
    def dep(name: str, *deps: str, process: str = ORDERS) -> str:
        return spec(name, process, PROD_ATOM, {"N": name}) + f"  dependsOn: {list(deps)}\n"

    build_tree(
        workspace,
        {
            "specs/a.yaml": spec("a", ORDERS, PROD_ATOM, {"N": "a"}),
            "specs/b.yaml": dep("b", "a"),
            "specs/c.yaml": dep("c", "a"),
            "specs/d.yaml": dep("d", "b", "c"),
            "specs/bad.yaml": spec("bad", INVOICES, PROD_ATOM),
            "specs/after-bad.yaml": dep("after-bad", "bad"),
        },
    )
    plan = run_cli("plan")
    assert ".  d          wait    never run; runs after b, c succeed" in plan.out
    result = run_cli("apply")
    assert result.code == 3
    order = [s["properties"]["dynamic"].get("N") for s in sim.submissions()]
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")
    assert "after-bad: not run: dependency bad ended ERROR" in result.err
    assert "after-bad" not in order
    assert not (workspace / "state" / "default" / "after-bad.json").exists()


def test_concurrent_apply_is_refused_by_the_lock(workspace: Path, sim: Admin, run_cli: Run) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    store = StateStore(workspace / "state")
    with store.lock(command="reconciler apply (other)"):
        result = run_cli("apply")
    assert result.code == 1
    assert "error: state is locked by another apply: pid " in result.err
    assert "(reconciler apply (other))" in result.err
    assert sim.submissions() == []
    assert run_cli("state", "unlock").out.strip() == "The lock was free; nothing to do."


def _runtime(sim: Admin, status: str) -> None:
    import httpx

    httpx.post(f"{sim.url}/runtimes/{PROD_ATOM}", json={"status": status}).raise_for_status()


def test_both_timeouts_leave_the_run_resumable(workspace: Path, sim: Admin, run_cli: Run) -> None:
    _runtime(sim, "OFFLINE")  # accepted, queued: the record does not appear (202 throughout)
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    waited = run_cli("apply")  # recordTimeout: 2 in the test config
    assert waited.code == 5, waited.err
    assert "o: no record after 2s; the next apply keeps waiting" in waited.err
    assert read_state(workspace, "o")["phase"] == "submitted"
    timed = spec("o", ORDERS, PROD_ATOM) + "  policy:\n    timeout: 0.3\n"
    build_tree(workspace, {"specs/o.yaml": timed})
    stopped = run_cli("apply")  # the run's own timeout, shorter than recordTimeout
    assert stopped.code == 5, stopped.err
    assert "o: still waiting for its record after 0s; the next apply resumes it" in stopped.err
    _runtime(sim, "ONLINE")
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    done = run_cli("apply")
    assert done.code == 0, done.err
    assert read_state(workspace, "o")["status"] == "COMPLETE"
    assert len(sim.submissions()) == 1


def test_cancel_ends_a_running_execution_aborted(workspace: Path, sim: Admin, run_cli: Run) -> None:
    from ruamel.yaml import YAML

    world = YAML(typ="safe").load(
        (Path(__file__).resolve().parents[2] / "reconciler/sim/demo_world.yaml").read_text(
            encoding="utf-8"
        )
    )
    for process in world["processes"]:
        if process["id"] == ORDERS:
            process["duration"] = {"min": 100000, "max": 100000}  # runs for a long while
    world["accounts"][0]["rateLimit"] = 0
    sim.reset(world)
    timed = spec("o", ORDERS, PROD_ATOM) + "  policy:\n    timeout: 0.5\n"
    build_tree(workspace, {"specs/o.yaml": timed})
    first = run_cli("apply")
    assert first.code == 5, first.err
    assert read_state(workspace, "o")["status"] in ("STARTED", "INPROCESS")
    cancelled = run_cli("cancel", "o")
    assert cancelled.code == 0, cancelled.err
    execution_id = read_state(workspace, "o")["execution_id"]
    assert cancelled.out.strip() == (
        f"Cancel requested for o ({execution_id}); the next apply records how it ended."
    )
    after = run_cli("apply")
    assert after.code == 3, after.err
    assert read_state(workspace, "o")["status"] == "ABORTED"
    again = run_cli("cancel", "o")
    assert again.code == 1
    assert again.err.strip() == (
        "error: o is final; only a submitted, unfinished run can be cancelled"
    )


def test_shards_split_the_apply_without_overlap(workspace: Path, sim: Admin, run_cli: Run) -> None:
    specs = {f"specs/s{i}.yaml": spec(f"s{i}", ORDERS, PROD_ATOM, {"I": str(i)}) for i in range(6)}
    build_tree(workspace, specs)
    planned = [run_cli("plan", "--output", "json", "--shard", f"{k}/2").out for k in (1, 2)]
    names = [[a["name"] for a in json.loads(p)["actions"]] for p in planned]
    assert sorted(names[0] + names[1]) == [f"s{i}" for i in range(6)]
    assert not set(names[0]) & set(names[1])
    assert run_cli("apply", "--shard", "1/2").code == 0
    assert sorted(p.stem for p in (workspace / "state/default").glob("*.json")) == names[0]
    assert run_cli("apply", "--shard", "2/2").code == 0
    assert len(sim.submissions()) == 6
    bad = run_cli("plan", "--shard", "3/2")
    assert bad.code == 1
    assert "'3/2': expected K/N with 1 <= K <= N <= 9999" in bad.err
