"""Issue 2 acceptance: the real CLI against the real simulator over loopback."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tests.conftest import (
    CUSTOMERS,
    INVENTORY,
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


def _three_specs(root: Path) -> None:
    build_tree(
        root,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM, {"DPP_DATE": "{{ name }}-1"}),
            "specs/invoices.yaml": spec("invoices", INVOICES, PROD_ATOM),
            "specs/inventory.yaml": spec("inventory", INVENTORY, PROD_ATOM),
        },
    )


def test_apply_runs_to_final_status_and_records_state(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _three_specs(workspace)
    result = run_cli("apply")
    assert result.code == 3, result.err  # invoices ends ERROR in the demo world
    orders = read_state(workspace, "orders")
    assert orders["phase"] == "final"
    assert orders["status"] == "COMPLETE"
    assert str(orders["request_id"]).startswith("executionrecord-")
    assert str(orders["execution_id"]).startswith("execution-")
    assert orders["request"] == {
        "process_id": ORDERS,
        "atom_id": PROD_ATOM,
        "dynamic_properties": {"DPP_DATE": "orders-1"},
        "process_properties": {},
    }
    assert read_state(workspace, "invoices")["status"] == "ERROR"
    assert read_state(workspace, "inventory")["status"] == "COMPLETE_WARN"
    lines = result.out.splitlines()
    table = lines[lines.index("EXECUTION  STATUS         DURATION  MESSAGE") :]
    assert [line.split()[:2] for line in table[2:5]] == [
        ["inventory", "COMPLETE_WARN"],
        ["invoices", "ERROR"],
        ["orders", "COMPLETE"],
    ]
    assert "Apply (default): 2 succeeded, 1 failed." in result.out
    assert len(sim.submissions()) == 3


def test_second_apply_submits_nothing(workspace: Path, sim: Admin, run_cli: Run) -> None:
    _three_specs(workspace)
    run_cli("apply")
    before = len(sim.submissions())
    again = run_cli("apply")
    assert again.code == 0
    assert again.out.rstrip().endswith("Nothing to apply.")
    assert len(sim.submissions()) == before == 3


def test_changed_property_reruns_only_that_execution(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    _three_specs(workspace)
    run_cli("apply")
    first_request = read_state(workspace, "orders")["request_id"]
    build_tree(
        workspace,
        {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM, {"DPP_DATE": "{{ name }}-2"})},
    )
    plan = run_cli("plan", "--detailed-exitcode")
    assert plan.code == 2
    assert "~  orders     rerun   request changed since the last run" in plan.out
    assert 'dynamicProperties.DPP_DATE: "orders-1" → "orders-2"' in plan.out
    result = run_cli("apply")
    assert result.code == 0, result.err
    submissions = sim.submissions()
    assert len(submissions) == 4
    assert [s["processId"] for s in submissions].count(ORDERS) == 2
    assert read_state(workspace, "orders")["request_id"] != first_request
    orders = read_state(workspace, "orders")
    assert orders["attempts"] == 1  # attempts count per digest; the earlier one is history
    history = orders["history"]
    assert isinstance(history, list)
    assert [h["request_id"] for h in history] == [first_request]


def test_process_not_deployed_fails_alone(workspace: Path, sim: Admin, run_cli: Run) -> None:
    build_tree(
        workspace,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/customers.yaml": spec("customers", CUSTOMERS, PROD_ATOM),
        },
    )
    result = run_cli("apply")
    assert result.code == 3
    assert (
        f"customers: rejected: POST /ExecutionRequest: HTTP 400: Process {CUSTOMERS} is not "
        f"deployed to an environment attached to Atom {PROD_ATOM}." in result.err
    )
    customers = read_state(workspace, "customers")
    assert customers["phase"] == "rejected"
    assert "request_id" not in customers
    assert read_state(workspace, "orders")["status"] == "COMPLETE"
    assert len(sim.submissions()) == 1


def test_artifacts_record_every_run(workspace: Path, sim: Admin, run_cli: Run) -> None:
    _three_specs(workspace)
    run_cli("apply")
    folder = workspace / "artifacts" / "default"
    assert sorted(p.name for p in (folder / "runs").iterdir()) == [
        "inventory.json",
        "invoices.json",
        "orders.json",
    ]
    record = json.loads((folder / "runs" / "invoices.json").read_text(encoding="utf-8"))
    assert record["status"] == "ERROR"
    assert record["message"].startswith("Connector error: SFTP host")
    assert record["httpCalls"] >= 2
    suite = ET.parse(folder / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    failure = suite.find("testcase[@name='invoices']/failure")
    assert failure is not None
    assert failure.get("message", "").startswith("ERROR: Connector error: SFTP host")
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "| `orders` | COMPLETE |" in summary
    assert "Apply (default): 2 succeeded, 1 failed." in summary


def test_status_shows_recorded_state(workspace: Path, sim: Admin, run_cli: Run) -> None:
    build_tree(workspace, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM)})
    assert run_cli("status").out.strip() == "No state recorded for environment 'default'."
    run_cli("apply")
    lines = run_cli("status").out.splitlines()
    assert lines[0].split() == ["EXECUTION", "PHASE", "STATUS", "WHEN", "ID"]
    assert lines[2].split()[:3] == ["orders", "final", "COMPLETE"]


def test_missing_credentials_is_a_clear_error(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.delenv("BOOMI_API_TOKEN")
    build_tree(workspace, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert result.code == 1
    assert result.err.strip().endswith(
        "error: platform credentials missing: BOOMI_API_TOKEN not set; expected "
        "BOOMI_USERNAME=BOOMI_TOKEN.<user> and BOOMI_API_TOKEN=<token> in the environment "
        "(never in a file); `reconciler sim serve` prints demo values"
    )
    assert sim.submissions() == []
    assert not (workspace / "state" / "default").exists()


def test_wrong_credentials_stop_the_apply(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("BOOMI_API_TOKEN", "not-the-token")
    build_tree(workspace, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert result.code == 1
    assert "error: credentials rejected for account demo-AB12CD (HTTP 401)" in result.err
    assert "not-the-token" not in result.err + result.out
    assert read_state(workspace, "orders")["phase"] == "rejected"
    assert sim.submissions() == []
