"""Issue 17, the preflight: ``reconciler check`` and ``plan --refresh`` against the simulator.

One world holds every mistake the platform can hold: a process deployed only where its runtime
is not, a runtime that is offline, a run started outside git (``POST /_sim/runs``), and users
missing a privilege. Each is reported on its own execution, at its spec's file and line, in
text, markdown and JSON. Requests are counted on the simulator (``/_sim/stats``), never timed.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.plan.document import parse_plan_document
from reconciler.report.check import parse_check_document
from reconciler.sim.world import demo_world
from tests.conftest import (
    CONFIG,
    CUSTOMERS,
    INVENTORY,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    set_faults,
    spec,
)

Run = Callable[..., CliResult]

OFFLINE_ATOM = "4567890a-bcde-f012-3456-789abcdef012"
READER = "reader@example.com"
READER_TOKEN = "5d1c0a2b-8e7f-4a6b-9c3d-1e2f3a4b5c6d"
CHECKS = ["account", "privileges", "runtime", "deployment", "drift"]


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def world(reader_privileges: list[str] | None = None, **switches: Any) -> dict[str, Any]:
    """The demo world, plus an offline runtime in Production and a second user."""
    data = demo_world().model_dump(by_alias=True, exclude_none=True, mode="json")
    data["accounts"][0]["rateLimit"] = 0
    reader: dict[str, Any] = {"name": READER, "token": READER_TOKEN}
    if reader_privileges is not None:
        reader["privileges"] = reader_privileges
    data["accounts"][0]["users"].append(reader)
    data["runtimes"].append(
        {
            "id": OFFLINE_ATOM,
            "name": "Night Atom",
            "status": "OFFLINE",
            "environment": "Production",
        }
    )
    data["switches"] = {**data.get("switches", {}), **switches}
    return data


def specs(root: Path) -> None:
    build_tree(
        root,
        {
            # The client paces itself at apply.rateLimit; the simulated account has no limit.
            "reconciler.yaml": CONFIG.replace("rateLimit: 10", "rateLimit: 1000"),
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM),
            # Customers - Merge is deployed to Development only: not on the Prod atom.
            "specs/customers.yaml": spec("customers", CUSTOMERS, PROD_ATOM),
            "specs/night.yaml": spec("orders-night", ORDERS, OFFLINE_ATOM),
            "specs/inventory.yaml": spec("inventory", INVENTORY, PROD_ATOM),
        },
    )


def start_outside(admin: Admin, process: str = ORDERS, atom: str = PROD_ATOM) -> str:
    """A run started as the platform's UI or a schedule would; its id once QUERY can see it."""
    started = httpx.post(
        f"{admin.url}/runs",
        json={"processId": process, "atomId": atom, "executionType": "exec_sched"},
    )
    started.raise_for_status()
    execution_id = str(started.json()["executionId"])
    for _ in range(500):  # the record appears after a simulated second (20 ms here)
        runs = httpx.get(f"{admin.url}/runs").json()["runs"]
        if any(r["executionId"] == execution_id and r["recorded"] for r in runs):
            return execution_id
        time.sleep(0.01)
    raise AssertionError("the outside run never recorded")


def applied(workspace: Path, run_cli: Run, sim: Admin, data: dict[str, Any]) -> None:
    """The world posted, the specs written, and ``orders`` and ``inventory`` applied."""
    sim.reset(data)
    specs(workspace)
    result = run_cli("apply", "--select", "orders", "--select", "inventory")
    assert result.code == 0, result.err


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in document["executions"]}


def requests(sim: Admin) -> dict[str, int]:
    """Requests answered, by endpoint, summed over statuses."""
    return {k: sum(v.values()) for k, v in sim.stats()["requests"].items()}


def test_check_reports_each_platform_mistake_on_its_execution(
    workspace: Path, run_cli: Run, sim: Admin
) -> None:
    applied(workspace, run_cli, sim, world())
    outside = start_outside(sim)
    before = requests(sim)

    result = run_cli("check", "--output", "json")
    assert result.code == 1, result.err  # an undeployed process and an offline runtime
    document = json.loads(result.out)
    found = by_name(document)
    assert list(found) == ["customers", "inventory", "orders", "orders-night"]

    customers = found["customers"]
    assert customers["source"] == {"file": "specs/customers.yaml", "line": 4}
    assert [(f["check"], f["severity"]) for f in customers["findings"]] == [("deployment", "error")]
    assert (
        f"process {CUSTOMERS} is not deployed to an environment attached to runtime "
        f"Prod Cloud Atom ({PROD_ATOM})" in customers["findings"][0]["message"]
    )

    night = found["orders-night"]
    assert night["source"] == {"file": "specs/night.yaml", "line": 4}
    assert [(f["check"], f["severity"]) for f in night["findings"]] == [("runtime", "error")]
    assert f"runtime Night Atom ({OFFLINE_ATOM}) is OFFLINE" in night["findings"][0]["message"]
    assert "deployment" in night["passed"]  # attached to Production, where Orders is deployed

    orders = found["orders"]
    assert [(f["check"], f["severity"]) for f in orders["findings"]] == [("drift", "warning")]
    assert orders["findings"][0]["executionIds"] == [outside]
    assert "1 run of process" in orders["findings"][0]["message"]
    assert "started outside git since the last apply" in orders["findings"][0]["message"]

    assert found["inventory"]["findings"] == []
    assert found["inventory"]["passed"] == CHECKS
    assert document["summary"] == {"error": 2, "warning": 1, "unchecked": 0, "clean": 1}

    # One question per runtime, per environment and process, per process and runtime.
    # Read-only: nothing else was asked (no submit, no cancel).
    asked = {k: v - before.get(k, 0) for k, v in requests(sim).items() if v > before.get(k, 0)}
    assert asked == {
        "atom": 2,
        "environmentAtomAttachmentQuery": 2,
        "deployedPackageQuery": 3,  # (Production, each of 3 processes)
        "executionRecordQuery": 4,  # (process, runtime) pairs
    }
    assert document["requests"] == sum(asked.values())


def test_check_text_and_markdown_name_the_execution_and_its_spec(
    workspace: Path, run_cli: Run, sim: Admin
) -> None:
    applied(workspace, run_cli, sim, world())
    outside = start_outside(sim)

    text = run_cli("check")
    assert text.code == 1, text.err
    lines = text.out.splitlines()
    at = lines.index("customers  specs/customers.yaml:4")
    assert lines[at + 1].startswith("  error  deployment: process ")
    assert lines[at + 2].startswith("         hint: deploy the process's packaged component")
    assert lines[lines.index("orders-night  specs/night.yaml:4") + 1].startswith(
        f"  error  runtime: runtime Night Atom ({OFFLINE_ATOM}) is OFFLINE"
    )
    drift = lines[lines.index("orders  specs/orders.yaml:4") + 1]
    assert drift.startswith("  warning  drift: 1 run of process")
    assert drift.endswith(outside)
    assert "inventory  specs/inventory.yaml:4  ok: " + ", ".join(CHECKS) in lines
    assert lines[-1] == (
        "Check (default): 4 executions: 2 errors, 1 warning; 1 passed every check; "
        f"{json.loads(run_cli('check', '--output', 'json').out)['requests']} read-only requests."
    )

    markdown = run_cli("check", "--output", "markdown")
    assert markdown.code == 1
    rows = [line for line in markdown.out.splitlines() if line.startswith("| `")]
    assert len(rows) == 3
    assert rows[0].startswith("| `customers` | `specs/customers.yaml:4` | deployment | error |")
    assert rows[1].startswith("| `orders` | `specs/orders.yaml:4` | drift | warning |")
    assert rows[2].startswith("| `orders-night` | `specs/night.yaml:4` | runtime | error |")
    assert "<summary>1 passed every check</summary>" in markdown.out


def test_a_missing_privilege_is_reported_on_each_execution_that_needs_it(
    workspace: Path, run_cli: Run, sim: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader may see runtimes, but neither deployments (DEPLOY) nor run records
    # (VIEW_RESULT, which the apply needs too).
    applied(workspace, run_cli, sim, world(["API", "ATOM_MANAGEMENT_READ_ONLY"]))
    monkeypatch.setenv("BOOMI_USERNAME", f"BOOMI_TOKEN.{READER}")
    monkeypatch.setenv("BOOMI_API_TOKEN", READER_TOKEN)

    result = run_cli("check", "--output", "json")
    assert result.code == 1, result.err
    found = by_name(json.loads(result.out))
    orders = found["orders"]
    assert [(f["check"], f["severity"]) for f in orders["findings"]] == [
        ("privileges", "unchecked"),  # deployment: the apply does not read DeployedPackage
        ("privileges", "error"),  # drift: the apply reads ExecutionRecord
    ]
    unchecked, error = orders["findings"]
    assert unchecked["message"].startswith(
        "deployment not checked: access denied to POST /DeployedPackage/query (HTTP 403)"
    )
    assert "the user needs API and DEPLOY (Packaged Component Deployment)" in unchecked["hint"]
    assert error["message"].startswith("access denied to POST /ExecutionRecord/query (HTTP 403)")
    assert "VIEW_RESULT" in error["hint"]
    assert orders["passed"] == ["account", "runtime"]
    # Never applied: its runs are asked about since the environment's last apply.
    assert [f["severity"] for f in found["customers"]["findings"]] == ["unchecked", "error"]
    # The offline runtime is still seen: its Atom is readable.
    assert ("runtime", "error") in [
        (f["check"], f["severity"]) for f in found["orders-night"]["findings"]
    ]


def test_without_credentials_it_says_what_it_could_not_check(
    workspace: Path, run_cli: Run, sim: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs(workspace)
    monkeypatch.delenv("BOOMI_USERNAME")
    monkeypatch.delenv("BOOMI_API_TOKEN")

    result = run_cli("check")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "notice: no platform credentials (BOOMI_USERNAME and BOOMI_API_TOKEN not set): nothing "
        "was asked; not checked: account, privileges, runtime status, deployment, drift",
        "",
        "Check (default): 4 executions, none checked (no credentials).",
    ]
    strict = run_cli("check", "--strict", "--output", "json")
    assert strict.code == 1
    document = json.loads(strict.out)
    assert document["credentials"] is False
    assert all(e["findings"] == [] and e["passed"] == [] for e in document["executions"])
    assert sim.stats()["total"] == 0  # nothing was asked


def test_wrong_credentials_are_one_refused_request_and_a_finding(
    workspace: Path, run_cli: Run, sim: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs(workspace)
    monkeypatch.setenv("BOOMI_API_TOKEN", "not-the-token")
    result = run_cli("check", "--output", "json")
    assert result.code == 1, result.err
    found = by_name(json.loads(result.out))
    for item in found.values():
        assert [(f["check"], f["severity"]) for f in item["findings"]] == [("account", "error")]
        assert "credentials rejected" in item["findings"][0]["message"]
        assert "nothing more was asked" in item["findings"][0]["message"]
    assert sim.stats()["requests"] == {"atom": {"401": 1}}  # never retried, never repeated
    assert "not-the-token" not in result.out


def test_an_unreachable_platform_is_a_finding_with_its_cause(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs(workspace)
    url = f"http://127.0.0.1:{closed_port()}/api/rest/v1"
    monkeypatch.setenv("BOOMI_API_URL", url)
    result = run_cli("check")
    assert result.code == 1, result.err
    assert f"account: cannot reach the platform at {url}: connection refused" in result.out


def test_drift_pages_with_query_more_and_subtracts_gits_own_runs(
    workspace: Path, run_cli: Run, sim: Admin
) -> None:
    applied(workspace, run_cli, sim, world(pageSize=2))
    outside = [start_outside(sim) for _ in range(5)]
    result = run_cli("check", "--select", "orders", "--output", "json")
    assert result.code == 0, result.err  # drift alone is a warning
    (finding,) = by_name(json.loads(result.out))["orders"]["findings"]
    assert finding["message"].startswith("5 runs of process")
    # Every one of them (newest first: in whole seconds they may tie), git's own run left out.
    assert sorted(finding["executionIds"]) == sorted(outside)
    assert requests(sim).get("executionRecordQueryMore") == 2  # 5 runs, pages of 2
    strict = run_cli("check", "--select", "orders", "--strict")
    assert strict.code == 1


def test_plan_refresh_adds_the_check_to_the_plan(workspace: Path, run_cli: Run, sim: Admin) -> None:
    applied(workspace, run_cli, sim, world())
    start_outside(sim)

    result = run_cli("plan", "--refresh", "--output", "json")
    assert result.code == 1, result.err  # errors among the findings
    parse_plan_document(result.out, "plan.json")  # still a plan document
    document = json.loads(result.out)
    assert [a["name"] for a in document["actions"]] == [
        "customers",
        "inventory",
        "orders",
        "orders-night",
    ]
    check = parse_check_document(json.dumps(document["check"]), "plan.json#check")
    severities = {e.name: [f.severity.value for f in e.findings] for e in check.executions}
    assert severities == {
        "customers": ["error"],
        "inventory": [],
        "orders": ["warning"],
        "orders-night": ["error"],
    }

    text = run_cli("plan", "--refresh")
    assert text.code == 1
    plan_part, check_part = text.out.split("\n\ncustomers  specs/customers.yaml:4\n")
    assert "Plan (default):" in plan_part
    assert check_part.rstrip().splitlines()[-1].startswith("Check (default): 4 executions")
    # Without --refresh the plan asks nothing.
    before = sim.stats()["total"]
    assert run_cli("plan").code == 0
    assert sim.stats()["total"] == before


def test_a_time_limit_leaves_the_rest_not_checked(
    workspace: Path, run_cli: Run, sim: Admin
) -> None:
    specs(workspace)
    result = run_cli("check", "--timeout", "0", "--output", "json")
    assert result.code == 0, result.err
    for item in by_name(json.loads(result.out)).values():
        assert [f["severity"] for f in item["findings"]] == ["unchecked"]
        assert "time limit (0 s) ran out" in item["findings"][0]["message"]


def test_check_of_a_plan_document_reads_no_spec(
    workspace: Path, run_cli: Run, sim: Admin, tmp_path: Path
) -> None:
    applied(workspace, run_cli, sim, world())
    outside = start_outside(sim)
    planned = run_cli("plan", "--output", "json")
    assert planned.code == 0, planned.err
    plan = tmp_path / "plan.json"
    plan.write_text(planned.out, encoding="utf-8")
    for spec_file in (workspace / "specs").glob("*.yaml"):
        spec_file.unlink()  # what is checked comes from the document alone

    result = run_cli("check", "--plan", str(plan), "--output", "json")
    assert result.code == 1, result.err
    found = by_name(json.loads(result.out))
    assert {name: [f["check"] for f in e["findings"]] for name, e in found.items()} == {
        "customers": ["deployment"],
        "inventory": [],
        "orders": ["drift"],
        "orders-night": ["runtime"],
    }
    assert found["orders"]["findings"][0]["executionIds"] == [outside]
    assert found["customers"]["source"] == {"file": "specs/customers.yaml", "line": 4}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("atomId", "../../Atom", "actions[0].request.atomId: expected an id"),
        ("processId", 7, "actions[0].request.processId: expected an id"),
        ("source", "no line", "actions[0].source: expected file:line:col"),
    ],
)
def test_a_plan_document_with_hostile_ids_is_refused_before_any_request(
    workspace: Path,
    run_cli: Run,
    sim: Admin,
    tmp_path: Path,
    field: str,
    value: object,
    message: str,
) -> None:
    specs(workspace)
    document = json.loads(run_cli("plan", "--output", "json").out)
    action = document["actions"][0]
    if field == "source":
        action["source"] = value
    else:
        action["request"][field] = value
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("check", "--plan", str(plan))
    assert result.code == 1
    assert result.err == f"error: {plan}: {message}\n"
    assert sim.stats()["total"] == 0


def test_a_plan_document_of_another_environment_is_refused(
    workspace: Path, run_cli: Run, sim: Admin, tmp_path: Path
) -> None:
    specs(workspace)
    document = json.loads(run_cli("plan", "--output", "json").out)
    document["environment"] = "production"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("check", "--plan", str(plan))
    assert result.code == 1
    assert result.err == f"error: {plan}: the plan is for production, not default\n"


def test_an_unreadable_answer_leaves_its_check_undone_not_the_command(
    workspace: Path, run_cli: Run, sim: Admin
) -> None:
    specs(workspace)
    set_faults(sim, [{"endpoint": "atom", "kind": "script", "body": {"id": "x", "status": 7}}])
    result = run_cli("check", "--select", "inventory", "--output", "json")
    assert result.code == 0, result.err  # nothing found wrong; the runtime just not known
    (item,) = json.loads(result.out)["executions"]
    assert [(f["check"], f["severity"]) for f in item["findings"]] == [("runtime", "unchecked")]
    assert item["findings"][0]["message"].startswith("runtime status not checked: ")
    assert "Atom.status: expected a status word" in item["findings"][0]["message"]
    # Nothing was answered: not even the credentials are known to work (and no deployment is
    # asked without a runtime, no drift without an apply).
    assert item["passed"] == []
    assert run_cli("check", "--select", "inventory", "--strict").code == 1
