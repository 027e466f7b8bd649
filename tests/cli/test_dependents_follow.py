"""Issue 17, case 5: dependents follow their upstream.

The real CLI against the real simulator. ``orders-extract-eu`` runs the demo world's
``Orders - Nightly Sync``; ``orders-load-eu`` (which ``dependsOn`` it) runs ``Invoices - Export
to ERP``, made to succeed here, and so does ``orders-report-eu``, which depends on the load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import (
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    read_state,
    spec,
)

Run = Callable[..., CliResult]
EXTRACT, LOAD, REPORT = "orders-extract-eu", "orders-load-eu", "orders-report-eu"


def _world(orders: list[str]) -> dict[str, Any]:
    """The demo world with Orders ending as scripted (per submission, cycling); Invoices OK."""
    path = Path(__file__).resolve().parents[2] / "reconciler/sim/demo_world.yaml"
    world: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    for process in world["processes"]:
        if process["id"] == ORDERS:
            process["outcome"] = orders
        if process["id"] == INVOICES:
            process["outcome"] = "COMPLETE"
            process.pop("message", None)
    return world


def _specs(root: Path, version: str = "1", load_policy: str = "") -> None:
    def after(name: str, process: str, upstream: str) -> str:
        text = spec(name, process, PROD_ATOM, {"STEP": name}) + f"  dependsOn: [{upstream}]\n"
        return text + (f"  policy:\n    {load_policy}\n" if load_policy and name == LOAD else "")

    build_tree(
        root,
        {
            "specs/extract.yaml": spec(EXTRACT, ORDERS, PROD_ATOM, {"STEP": EXTRACT, "V": version}),
            "specs/load.yaml": after(LOAD, INVOICES, EXTRACT),
            "specs/report.yaml": after(REPORT, INVOICES, LOAD),
        },
    )


def _steps(sim: Admin) -> list[str]:
    """The executions submitted, in the order the platform received them."""
    return [s["properties"]["dynamic"]["STEP"] for s in sim.submissions()]


def _rows(plan: CliResult) -> dict[str, tuple[str, str]]:
    """Execution → (action, reason) from the text plan's table."""
    rows: dict[str, tuple[str, str]] = {}
    for line in plan.out.splitlines()[2:]:  # below the header and its rule
        if not line.strip():
            break
        _, name, action, reason = line.split(maxsplit=3)
        rows[name] = (action, reason)
    return rows


def _json_actions(run_cli: Run, *args: str) -> dict[str, dict[str, Any]]:
    shown = run_cli("plan", "--output", "json", *args)
    assert shown.code == 0, shown.err
    return {a["name"]: a for a in json.loads(shown.out)["actions"]}


def test_a_changed_upstream_reruns_its_dependents_in_dependency_order(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    sim.reset(_world(["COMPLETE"]))
    _specs(workspace)
    assert run_cli("apply").code == 0
    assert _steps(sim) == [EXTRACT, LOAD, REPORT]
    assert {action for action, _ in _rows(run_cli("plan")).values()} == {"noop"}

    _specs(workspace, version="2")
    assert _rows(run_cli("plan")) == {
        EXTRACT: ("rerun", "request changed since the last run (dynamicProperties.V)"),
        LOAD: ("wait", "upstream orders-extract-eu re-runs"),
        REPORT: ("wait", "upstream orders-load-eu re-runs"),
    }
    actions = _json_actions(run_cli)
    assert actions[LOAD]["action"] == "wait"
    assert actions[LOAD]["reason"] == "upstream orders-extract-eu re-runs"
    assert actions[LOAD]["follows"] == [EXTRACT]
    assert actions[REPORT]["follows"] == [LOAD]
    assert "follows" not in actions[EXTRACT]

    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert _steps(sim)[3:] == [EXTRACT, LOAD, REPORT]  # each after its upstream's new run
    extract, load = read_state(workspace, EXTRACT), read_state(workspace, LOAD)
    assert load["upstream"] == {EXTRACT: extract["attempt_id"]}  # the run it followed
    assert read_state(workspace, REPORT)["upstream"] == {LOAD: load["attempt_id"]}
    assert "upstream" not in extract
    assert {action for action, _ in _rows(run_cli("plan")).values()} == {"noop"}
    assert len(sim.submissions()) == 6


def test_a_failed_upstream_holds_its_dependents_until_a_rerun_succeeds(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    sim.reset(_world(["COMPLETE", "ERROR", "COMPLETE"]))  # the extract's 2nd run fails
    _specs(workspace)
    assert run_cli("apply").code == 0

    _specs(workspace, version="2")
    failed = run_cli("apply")
    assert failed.code == 3, failed.err
    assert f"{LOAD}: not run: dependency {EXTRACT} ended ERROR" in failed.err
    assert _steps(sim) == [EXTRACT, LOAD, REPORT, EXTRACT]

    # Still due, read from the state: the plan shows it held back by its upstream.
    pending = {
        EXTRACT: ("noop", _rows(run_cli("plan"))[EXTRACT][1]),
        LOAD: (
            "skip",
            "waits for dependencies that have not succeeded: orders-extract-eu last ended ERROR",
        ),
        REPORT: (
            "skip",
            "upstream orders-load-eu re-runs, but orders-load-eu does not run in this apply: "
            "follows once it has run",
        ),
    }
    assert _rows(run_cli("plan")) == pending
    assert ", ended ERROR (execution-" in pending[EXTRACT][1]
    assert _json_actions(run_cli)[LOAD]["follows"] == [EXTRACT]
    assert run_cli("apply").code == 0  # nothing to do: applying again runs nothing
    assert len(sim.submissions()) == 4

    assert _rows(run_cli("plan", "--rerun", EXTRACT))[LOAD] == (
        "wait",
        "upstream orders-extract-eu re-runs",
    )
    rerun = run_cli("apply", "--rerun", EXTRACT)
    assert rerun.code == 0, rerun.err
    assert _steps(sim)[4:] == [EXTRACT, LOAD, REPORT]
    assert {action for action, _ in _rows(run_cli("plan")).values()} == {"noop"}


def test_an_apply_that_stops_after_the_upstream_still_leaves_the_follow_due(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    sim.reset(_world(["COMPLETE"]))
    _specs(workspace)
    assert run_cli("apply").code == 0
    _specs(workspace, version="2")
    assert _rows(run_cli("plan", "--select", LOAD)) == {
        LOAD: (
            "skip",
            "upstream orders-extract-eu re-runs, but orders-extract-eu is not selected: follows "
            "once it has run",
        )
    }
    only = run_cli("apply", "--select", EXTRACT)  # the apply ends after the upstream's run
    assert only.code == 0, only.err
    assert _steps(sim)[3:] == [EXTRACT]

    assert _rows(run_cli("plan")) == {
        EXTRACT: _rows(run_cli("plan"))[EXTRACT],
        LOAD: ("rerun", "upstream orders-extract-eu re-ran since this last ran"),
        REPORT: ("wait", "upstream orders-load-eu re-runs"),
    }
    assert _rows(run_cli("plan"))[EXTRACT][0] == "noop"
    done = run_cli("apply")
    assert done.code == 0, done.err
    assert _steps(sim)[4:] == [LOAD, REPORT]
    assert {action for action, _ in _rows(run_cli("plan")).values()} == {"noop"}


def test_follow_upstream_false_and_manual_do_not_follow(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    sim.reset(_world(["COMPLETE"]))
    _specs(workspace, load_policy="followUpstream: false")
    assert run_cli("apply").code == 0
    _specs(workspace, version="2", load_policy="followUpstream: false")
    rows = _rows(run_cli("plan"))
    assert rows[LOAD][0] == "noop"
    assert rows[LOAD][1].startswith("up to date: ran ")
    assert rows[REPORT][0] == "noop"  # nothing upstream of it re-runs

    _specs(workspace, version="3", load_policy="run: manual")
    manual = run_cli("plan")
    assert _rows(manual)[LOAD] == ("skip", "manual policy: runs only when selected by name")
    assert manual.err.strip() == (
        f"notice: {LOAD} does not follow upstream {EXTRACT}, which has a new run: its policy "
        f"is manual; select it by name to run it (--select {LOAD})"
    )


def test_follow_upstream_must_be_a_boolean(workspace: Path, sim: Admin, run_cli: Run) -> None:
    _specs(workspace, load_policy="followUpstream: sometimes")
    result = run_cli("validate")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "specs/load.yaml:12:21: spec.policy.followUpstream: expected true or false, got the text "
        '"sometimes"'
    )


def test_a_follow_up_has_its_own_retry_budget(workspace: Path, sim: Admin, run_cli: Run) -> None:
    """Retries count the tries since the last success: a follow-up that fails is retried."""
    world = _world(["COMPLETE"])
    for process in world["processes"]:
        if process["id"] == INVOICES:  # the load's and the report's process, per submission
            process["outcome"] = ["COMPLETE", "COMPLETE", "ERROR", "COMPLETE"]
    sim.reset(world)
    _specs(workspace, load_policy="retries: {count: 1, on: [ERROR]}")
    assert run_cli("apply").code == 0
    _specs(workspace, version="2", load_policy="retries: {count: 1, on: [ERROR]}")
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    assert "orders-load-eu: retry 1 of 1" in applied.err  # the follow-up ended ERROR
    assert _steps(sim) == [EXTRACT, LOAD, REPORT, EXTRACT, LOAD, LOAD, REPORT]
    assert read_state(workspace, LOAD)["status"] == "COMPLETE"
    assert read_state(workspace, LOAD)["attempts"] == 2
