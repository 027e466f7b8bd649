"""``policy.promote``: prod runs a revision only after it succeeded in test, through the real CLI.

Two environments of one repository against the simulator: ``test`` runs on the dev runtime
with its own variables, ``prod`` on the production runtime. Each test applies in one and plans
(or applies) in the other, and reads the reasons and the state files as a user would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    CONFIG,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    read_state,
)

Run = Callable[..., CliResult]

DEV_ATOM = "2345678a-bcde-f012-3456-789abcdef012"

ENVIRONMENTS = f"""\
aliases:
  runtimes: {{cloud: {PROD_ATOM}}}
environments:
  test:
    vars: {{tier: test}}
    aliases:
      runtimes: {{cloud: {DEV_ATOM}}}
  prod:
    vars: {{tier: {{prod_tier}}}}
"""


def config(prod_tier: str = "prod") -> str:
    return CONFIG + ENVIRONMENTS.replace("{prod_tier}", prod_tier)


def orders(batch: int = 100, promote: str = "{after: test}") -> str:
    return f"""\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: orders
spec:
  processId: {ORDERS}
  runtime: cloud
  dynamicProperties:
    DPP_TIER: "{{{{ vars.tier }}}}"
    DPP_BATCH: "{{{{ vars.batch }}}}"
  vars: {{batch: {batch}}}
  policy:
    promote: {promote}
"""


def plan(run_cli: Run, env: str, *args: str) -> dict[str, tuple[str, str]]:
    """``plan --output json`` in ``env``: name → (action, reason)."""
    result = run_cli("--env", env, "plan", "--output", "json", *args)
    assert result.code == 0, result.err
    actions = json.loads(result.out)["actions"]
    return {a["name"]: (a["action"], a["reason"]) for a in actions}


def short(revision: str) -> str:
    assert re.fullmatch(r"v1:sha256:[0-9a-f]{64}", revision), revision
    return revision.rsplit(":", 1)[1][:12]


def revision_of(run_cli: Run, env: str, name: str) -> str:
    """The revision a plan in ``env`` names for ``name`` (from a waiting or promoted reason)."""
    _, reason = plan(run_cli, env)[name]
    found = re.search(r"revision ([0-9a-f]{12})", reason)
    assert found, reason
    return found.group(1)


@pytest.fixture
def two_envs(workspace: Path) -> Path:
    build_tree(workspace, {"reconciler.yaml": config(), "specs/orders.yaml": orders()})
    return workspace


def test_prod_waits_until_test_succeeded_then_submits(
    two_envs: Path, sim: Admin, run_cli: Run
) -> None:
    before = plan(run_cli, "prod")["orders"]
    assert before[0] == "skip"
    assert re.fullmatch(
        r"waits for promotion: revision [0-9a-f]{12} has not run in test yet", before[1]
    ), before
    held = run_cli("--env", "prod", "apply")
    assert held.code == 0, held.err
    assert sim.submissions() == []  # apply obeys the same plan: nothing was sent
    assert not (two_envs / "state" / "prod" / "orders.json").exists()

    assert plan(run_cli, "test")["orders"] == ("submit", "never run")  # test is not gated
    assert run_cli("--env", "test", "apply").code == 0
    tested = read_state(two_envs, "orders", "test")
    assert tested["status"] == "COMPLETE"
    revision = tested["revision"]
    assert before[1].endswith(f"revision {short(revision)} has not run in test yet")

    after = plan(run_cli, "prod")["orders"]
    assert after == (
        "submit",
        f"never run; promoted from test (revision {short(revision)} succeeded there)",
    )
    assert run_cli("--env", "prod", "apply").code == 0
    shipped = read_state(two_envs, "orders", "prod")
    assert shipped["status"] == "COMPLETE"
    # One revision, two requests: the runtime and the tier differ per environment.
    assert shipped["revision"] == revision
    assert shipped["digest"] != tested["digest"]
    assert shipped["request"]["atom_id"] == PROD_ATOM
    assert tested["request"]["atom_id"] == DEV_ATOM
    assert [s["atomId"] for s in sim.submissions()] == [DEV_ATOM, PROD_ATOM]
    assert plan(run_cli, "prod")["orders"][0] == "noop"


def test_a_spec_change_is_a_new_revision_that_waits_again(
    two_envs: Path, sim: Admin, run_cli: Run
) -> None:
    for env in ("test", "prod"):
        assert run_cli("--env", env, "apply").code == 0
    old = read_state(two_envs, "orders", "test")["revision"]
    build_tree(two_envs, {"specs/orders.yaml": orders(batch=200)})
    action, reason = plan(run_cli, "prod")["orders"]
    new = revision_of(run_cli, "prod", "orders")
    assert new != short(old)
    assert (action, reason) == (
        "skip",
        f"waits for promotion: revision {new} has not run in test yet (the last run there was "
        f"revision {short(old)}; ended COMPLETE)",
    )
    assert run_cli("--env", "test", "apply").code == 0
    assert short(read_state(two_envs, "orders", "test")["revision"]) == new
    assert plan(run_cli, "prod")["orders"] == (
        "rerun",
        "request changed since the last run (dynamicProperties.DPP_BATCH); promoted from test "
        f"(revision {new} succeeded there)",
    )


def test_an_environment_only_change_is_not_a_new_revision(
    two_envs: Path, sim: Admin, run_cli: Run
) -> None:
    for env in ("test", "prod"):
        assert run_cli("--env", env, "apply").code == 0
    revision = read_state(two_envs, "orders", "prod")["revision"]
    build_tree(two_envs, {"reconciler.yaml": config(prod_tier="production")})
    assert plan(run_cli, "test")["orders"][0] == "noop"
    assert plan(run_cli, "prod")["orders"] == (
        "rerun",
        "request changed since the last run (dynamicProperties.DPP_TIER); promoted from test "
        f"(revision {short(revision)} succeeded there)",
    )
    assert run_cli("--env", "prod", "apply").code == 0
    rerun = read_state(two_envs, "orders", "prod")
    assert rerun["request"]["dynamic_properties"]["DPP_TIER"] == "production"
    assert rerun["revision"] == revision
    assert len(sim.submissions()) == 3  # test once, prod twice


def test_a_failure_in_test_keeps_prod_waiting(workspace: Path, sim: Admin, run_cli: Run) -> None:
    failing = orders().replace(ORDERS, INVOICES).replace("runtime: cloud", f"atomId: {PROD_ATOM}")
    build_tree(workspace, {"reconciler.yaml": config(), "specs/orders.yaml": failing})
    assert run_cli("--env", "test", "apply").code == 3  # a run failed
    assert read_state(workspace, "orders", "test")["status"] == "ERROR"
    revision = short(read_state(workspace, "orders", "test")["revision"])
    assert plan(run_cli, "prod")["orders"] == (
        "skip",
        f"waits for promotion: revision {revision} has not succeeded in test (the last run "
        "there ended ERROR)",
    )
    assert run_cli("--env", "prod", "apply").code == 0
    assert len(sim.submissions()) == 1  # the one in test


def test_state_written_before_revisions_runs_once_more_in_test(
    two_envs: Path, sim: Admin, run_cli: Run
) -> None:
    assert run_cli("--env", "test", "apply").code == 0
    path = two_envs / "state" / "test" / "orders.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    revision = short(data.pop("revision"))
    data["schemaVersion"] = 1  # as an earlier reconciler wrote it
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    status = run_cli("--env", "test", "status")
    assert status.code == 0, status.err
    assert plan(run_cli, "prod")["orders"] == (
        "skip",
        f"waits for promotion: revision {revision} has not run in test yet (the last run there "
        "recorded no revision; ended COMPLETE)",
    )
    assert plan(run_cli, "test")["orders"] == (
        "rerun",
        f"revision {revision} has not run here (the last run here recorded no revision; ended "
        "COMPLETE); runs again, though the request is unchanged, so that it can be promoted",
    )
    assert run_cli("--env", "test", "apply").code == 0
    assert short(read_state(two_envs, "orders", "test")["revision"]) == revision
    assert plan(run_cli, "prod")["orders"][0] == "submit"


def test_an_unknown_environment_is_a_located_error(workspace: Path, run_cli: Run) -> None:
    build_tree(
        workspace,
        {
            "reconciler.yaml": config(),
            "specs/orders.yaml": orders(promote="{after: tset}"),
            "specs/other.yaml": orders(promote="{after: [test, stage, test]}").replace(
                "name: orders", "name: other"
            ),
        },
    )
    for command in (("validate",), ("plan",), ("apply",)):
        result = run_cli("--env", "prod", *command)
        assert result.code == 1, result.err
        assert (
            'specs/orders.yaml:13:22: spec.policy.promote.after: unknown environment "tset"; '
            'did you mean "test"?'
        ) in result.err + result.out
        assert (
            'specs/other.yaml:13:29: spec.policy.promote.after[1]: unknown environment "stage"; '
            "expected one of the environments of reconciler.yaml: prod, test"
        ) in result.err + result.out
        assert (
            'specs/other.yaml:13:36: spec.policy.promote.after[2]: "test" is named twice; '
            "expected each environment once"
        ) in result.err + result.out


def test_without_environments_only_default_exists(workspace: Path, run_cli: Run) -> None:
    written = orders().replace("runtime: cloud", "atomId: " + PROD_ATOM)
    build_tree(workspace, {"reconciler.yaml": CONFIG + "vars: {tier: one}\n"})
    build_tree(workspace, {"specs/orders.yaml": written})
    result = run_cli("validate")
    assert (result.code, result.err.splitlines()) == (
        1,
        [
            'specs/orders.yaml:13:22: spec.policy.promote.after: unknown environment "test"; '
            "expected one of the environments of reconciler.yaml: default",
            "error: 1 problem found",
        ],
    )
    build_tree(workspace, {"specs/orders.yaml": written.replace("after: test", "after: default")})
    assert run_cli("validate").code == 0


SET = f"""\
apiVersion: reconciler/v1
kind: ExecutionSet
metadata:
  name: regions
spec:
  defaults:
    processId: {ORDERS}
    runtime: cloud
    dynamicProperties:
      DPP_REGION: "{{{{ matrix.region }}}}"
      DPP_TIER: "{{{{ vars.tier }}}}"
    policy: {{promote: {{after: [test]}}}}
  matrix:
    region: [eu, us]
  executions:
    - name: "orders-{{{{ matrix.region }}}}"
    - name: "plain-{{{{ matrix.region }}}}"
      policy: {{timeout: 10m}}
"""


def test_each_matrix_execution_is_promoted_on_its_own(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, {"reconciler.yaml": config(), "specs/set.yaml": SET})
    assert (
        run_cli("--env", "test", "apply", "--select", "orders-eu", "--select", "plain-us").code == 0
    )
    actions = plan(run_cli, "prod")
    assert {name: kind for name, (kind, _) in actions.items()} == {
        "orders-eu": "submit",
        "orders-us": "skip",
        "plain-eu": "skip",  # the policy merged per field: promote comes from the defaults
        "plain-us": "submit",
    }
    revisions = {
        name: read_state(workspace, name, "test")["revision"] for name in ("orders-eu", "plain-us")
    }
    assert len(set(revisions.values())) == 2  # every combination has its own revision
    assert actions["orders-us"][1].startswith("waits for promotion: revision ")
    assert actions["orders-us"][1].endswith(" has not run in test yet")
    assert actions["orders-eu"][1].endswith(
        f"promoted from test (revision {short(revisions['orders-eu'])} succeeded there)"
    )
    assert run_cli("--env", "prod", "apply").code == 0
    assert sorted(p.stem for p in (workspace / "state" / "prod").glob("*.json")) == [
        "orders-eu",
        "plain-us",
    ]


def test_a_reviewed_promotion_wait_covers_the_promoted_run_and_nothing_invented(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    # On the pull request, prod's plan could only show orders waiting for test.
    build_tree(workspace, {"reconciler.yaml": config(), "specs/o.yaml": orders()})
    shown = run_cli("--env", "prod", "plan", "--output", "json")
    reviewed = workspace.parent / "pr-7.json"
    reviewed.write_text(shown.out, encoding="utf-8")
    (workspace.parent / "pr-7.meta.json").write_text(
        json.dumps({"number": 7, "mergedBy": "alice"}), encoding="utf-8"
    )
    [action] = json.loads(shown.out)["actions"]
    assert action["action"] == "skip"
    assert run_cli("--env", "test", "apply", "--reviewed-plan", str(reviewed)).code == 0

    # An artifact that shows the same wait with invented field changes covers nothing.
    tampered = json.loads(shown.out)
    tampered["actions"][0]["changes"] = ['dynamicProperties.DPP_BATCH: "100" → "1"']
    forged = workspace.parent / "forged" / "pr-8.json"
    forged.parent.mkdir()
    forged.write_text(json.dumps(tampered), encoding="utf-8")
    refused = run_cli("--env", "prod", "apply", "--reviewed-plan", str(forged.parent),
                      "--require-reviewed")  # fmt: skip
    assert refused.code == 1
    assert "not every change was reviewed; nothing was applied: orders: submit run" in refused.err

    # The real one: the promoted submit is what #7's reviewer saw waiting.
    applied = run_cli("--env", "prod", "apply", "--reviewed-plan", str(reviewed),
                      "--require-reviewed")  # fmt: skip
    assert applied.code == 0, applied.err
    assert "orders: reviewed in #7 (merged by alice)" in applied.out
    assert len(sim.submissions()) == 2
