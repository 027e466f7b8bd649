"""Issue 17, case 4 and case 9's ``cancel nope``: names that do not exist, and re-runs on demand.

The real CLI against the real simulator: the demo world's ``Invoices - Export to ERP`` always
ends ERROR, ``Orders - Nightly Sync`` COMPLETE.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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


def _specs(root: Path) -> None:
    build_tree(
        root,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/invoices.yaml": spec("invoices", INVOICES, PROD_ATOM),
        },
    )


def _applied(root: Path, run_cli: Run) -> None:
    _specs(root)
    assert run_cli("apply").code == 3  # invoices ends ERROR; no retries in its policy


def _invoice_submits(sim: Admin) -> int:
    return sum(1 for s in sim.submissions() if INVOICES in json.dumps(s))


def test_a_failed_run_is_rerun_on_demand_and_recorded_as_such(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _applied(workspace, run_cli)
    plan = run_cli("plan")
    assert "up to date: ran" in plan.out
    assert "ended ERROR" in plan.out
    shown = run_cli("plan", "--rerun", "invoices")
    assert shown.code == 0, shown.err
    row = next(line for line in shown.out.splitlines() if " invoices " in f" {line} ")
    assert row.split()[2] == "rerun"
    assert row.endswith("re-run on demand (--rerun): last run ended ERROR")
    assert _invoice_submits(sim) == 1  # plan applies nothing
    again = run_cli("apply", "--rerun", "invoices")
    assert again.code == 3, again.err  # it fails again, as the demo world's process does
    assert "re-run on demand (--rerun): last run ended ERROR" in again.out
    assert _invoice_submits(sim) == 2
    state = read_state(workspace, "invoices")
    assert state["on_demand"] == "re-run on demand (--rerun): last run ended ERROR"
    assert state["attempts"] == 2
    assert "on_demand" not in state["history"][0]  # the first run was an ordinary one
    assert "on_demand" not in read_state(workspace, "orders")
    assert run_cli("plan").out.count("rerun") == 0  # once asked, once run


def test_a_selector_reruns_only_the_failed_runs(workspace: Path, sim: Admin, run_cli: Run) -> None:
    _applied(workspace, run_cli)
    shown = run_cli("plan", "--rerun", "state:failed")
    assert shown.code == 0, shown.err
    actions = {line.split()[1]: line.split()[2] for line in shown.out.splitlines()[2:4]}
    assert actions == {"invoices": "rerun", "orders": "noop"}


def test_a_succeeded_run_is_refused_and_nothing_is_applied(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _applied(workspace, run_cli)
    before = len(sim.submissions())
    refused = run_cli("apply", "--rerun", "orders", "--rerun", "invoices")
    assert refused.code == 1
    assert refused.err.strip() == (
        "error: --rerun orders: its last run ended COMPLETE, which succeeded; --rerun re-runs "
        "only a run that failed, was aborted or discarded, or was rejected (change the spec, "
        "or use policy run: always, to run it again)"
    )
    assert len(sim.submissions()) == before
    assert run_cli("plan", "--rerun", "orders").code == 1
    assert run_cli("apply", "--rerun", "orders*").err.strip() == (
        "error: --rerun orders*: none of the 1 execution(s) it selects has a last run that "
        "failed, was aborted or discarded, or was rejected (orders: its last run ended COMPLETE)"
    )


def test_names_that_do_not_exist_are_refused_with_did_you_mean(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _applied(workspace, run_cli)
    before = len(sim.submissions())
    cases = {
        ("apply", "--rerun", "invoice"): (
            "error: --rerun no such execution: invoice; did you mean invoices?"
        ),
        ("apply", "--adopt", "ordres=execution-1"): (
            "error: --adopt no such execution: ordres; did you mean orders?"
        ),
        ("apply", "--resubmit", "nope"): "error: --resubmit no such execution: nope",
        ("apply", "--select", "invoise"): (
            "error: --select no such execution: invoise; did you mean invoices?"
        ),
        ("plan", "--select", "label:team=x"): "error: --select label:team=x matches no execution",
        ("plan", "--select", "ord*s-eu"): "error: --select ord*s-eu matches no execution",
        ("plan", "--select", "state:faild"): (
            "error: --select no such selector: state:faild; did you mean state:failed or "
            "state:changed?"
        ),
        ("cancel", "nope"): (
            "error: no such execution: nope; reconciler status lists the executions recorded "
            "in default"
        ),
        ("cancel", "order"): ("error: no such execution: order; did you mean orders?"),
    }
    for args, message in cases.items():
        result = run_cli(*args)
        assert (result.code, result.err.strip()) == (1, message), args
    assert len(sim.submissions()) == before
    both = run_cli("plan", "--select", "nope", "--rerun", "orders")
    assert both.err.strip().splitlines() == [
        "error: 2 problems with the names given",
        "  --select no such execution: nope",
        "  " + run_cli("plan", "--rerun", "orders").err.strip().removeprefix("error: "),
    ]


def test_adopt_or_resubmit_of_a_settled_execution_says_so(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _applied(workspace, run_cli)
    before = len(sim.submissions())
    resubmit = run_cli("apply", "--select", "invoices", "--resubmit", "invoices")
    assert (resubmit.code, resubmit.err.strip()) == (
        1,
        "error: --resubmit invoices: nothing is unresolved (its last run ended ERROR); "
        "--resubmit applies only to a submit whose outcome is unknown (plan shows it as "
        "unknown)",
    )
    adopt = run_cli("apply", "--adopt", "orders=execution-1")
    assert (adopt.code, adopt.err.strip()) == (
        1,
        "error: --adopt orders: nothing is unresolved (its last run ended COMPLETE); "
        "--adopt applies only to a submit whose outcome is unknown (plan shows it as unknown)",
    )
    assert len(sim.submissions()) == before


def test_an_empty_selection_may_be_allowed(workspace: Path, sim: Admin, run_cli: Run) -> None:
    _specs(workspace)
    allowed = run_cli("plan", "--select", "nope", "--allow-empty-select")
    assert allowed.code == 0
    assert allowed.err.strip() == (
        "notice: --select no such execution: nope (allowed by --allow-empty-select)"
    )
    applied = run_cli("apply", "--select", "nope*", "--allow-empty-select")
    assert applied.code == 0
    assert "notice: --select nope* matches no execution (allowed by --allow-empty-select)" in (
        applied.err
    )
    assert applied.out.rstrip().endswith("Nothing to apply.")
    assert sim.submissions() == []
    nothing_failed = run_cli("plan", "--select", "state:failed")  # an answer, not a typo
    assert nothing_failed.code == 0
    assert nothing_failed.err.strip() == "notice: --select state:failed: no execution is failed"


def test_a_state_file_without_the_new_field_reads_and_reruns(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _applied(workspace, run_cli)
    path = workspace / "state" / "default" / "invoices.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "on_demand" not in data
    data["schemaVersion"] = 2  # as the reconciler before re-runs on demand wrote it
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert "invoices" in run_cli("status").out
    again = run_cli("apply", "--rerun", "invoices")
    assert again.code == 3, again.err
    state = read_state(workspace, "invoices")
    assert state["schemaVersion"] == 4  # written by this reconciler (4: dependents follow)
    assert state["on_demand"] == "re-run on demand (--rerun): last run ended ERROR"
