"""More of issue 16, through the emulated GitHub: required checks, results on the pull request,
promotion, a lost push, drift and shards.

As in ``test_scenarios``: the shipped workflows copied into a specs-only repository with a
protected ``main``, the simulator as the platform, and every assertion on what GitHub, the
origin or the platform ended up with.
"""

from __future__ import annotations

from collections import Counter

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.conftest import INVOICES, ORDERS, Admin
from tests.github.emulate.conftest import execution, seed
from tests.github.emulate.github import GitHubEmulator, Run
from tests.github.emulate.test_scenarios import (
    STATE,
    apply_run,
    explain,
    reviewed_pull,
    submitted,
)

pytestmark = pytest.mark.slow

#: The demo world's invoices process always ends ERROR with this message.
INVOICES_ERROR = "Connector error: SFTP host sftp.erp.example.com unreachable"


def promoted(name: str, process: str = INVOICES) -> str:
    """A spec that production runs only after the same revision succeeded in test."""
    text = execution(name).replace(f"processId: {ORDERS}", f"processId: {process}")
    return text + "  policy:\n    promote: {after: test}\n"


def step(run: Run, job: str, name: str) -> str:
    """The outcome of one step of one job of ``run``."""
    [found] = [s for s in run.job(job).steps if s.name == name]
    return found.outcome


def apply_comments(em: GitHubEmulator, pr: int, environment: str) -> list[dict[str, object]]:
    marker = f"<!-- reconciler-apply:{environment} -->"
    return [c for c in em.gh.comments_of(pr) if str(c["body"]).startswith(marker)]


# --- case 6: the required check always reports, and runs in a merge queue ---------------------


def test_a_pull_request_without_spec_changes_passes_the_plan_check_without_planning(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = github.origin.open_pull({"README.md": "# our Boomi schedules, documented\n"})
    [run] = github.pull_request(pull)
    assert run.name == "reconcile-plan"
    assert run.conclusion == "success", explain(run)
    for environment in ("test", "production"):
        job = f"plan ({environment})"
        assert step(run, job, "did specs or reconciler.yaml change?") == "success"
        assert step(run, job, "validate") == "skipped"
        assert step(run, job, "plan") == "skipped"
        assert "nothing to plan" in run.job(job).summary
    assert run.artifacts == {}, "no plan to comment on"
    [comment] = github.runs_of("reconcile-comment")
    assert comment.conclusion == "success", explain(comment)
    assert github.gh.comments_of(pull.number) == []
    assert sim.submissions() == []


def test_the_merge_queue_runs_the_plan_check_on_its_merge_group(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/invoices.yaml": execution("invoices")})
    [queued] = github.merge_group(pull)
    assert queued.name == "reconcile-plan"
    assert queued.event_name == "merge_group"
    assert queued.conclusion == "success", explain(queued)
    for environment in ("test", "production"):
        job = f"plan ({environment})"
        assert step(queued, job, "plan") == "success"
        assert "invoices" in queued.job(job).summary
    assert queued.artifacts == {}, "a merge group has no pull request to comment on"
    docs = github.origin.open_pull({"README.md": "# docs only\n"})
    [quick] = github.merge_group(docs)
    assert quick.conclusion == "success", explain(quick)
    assert step(quick, "plan (test)", "plan") == "skipped"
    assert sim.submissions() == []


# --- case 8: the apply's outcome on the merged pull request -----------------------------------


def test_the_apply_posts_its_outcome_with_the_failed_run_to_the_merged_pull_request(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    failing = execution("invoices").replace(f"processId: {ORDERS}", f"processId: {INVOICES}")
    pull = reviewed_pull(github, {"specs/invoices.yaml": failing})
    run = apply_run(github.merge(pull))
    assert run.job("apply-test").result == "failure"
    assert run.job("plan-production").result == "skipped", "production waits for a good test"
    assert submitted(sim) == Counter({("test", "orders"): 1, ("test", "invoices"): 1})
    [comment] = apply_comments(github, pull.number, "test")
    body = str(comment["body"]).replace("\\", "")  # as rendered: markdown escapes dropped
    assert "1 succeeded, 1 failed" in body  # the counts
    assert "invoices" in body
    assert INVOICES_ERROR in body
    assert "ERROR" in body
    assert apply_comments(github, pull.number, "production") == []
    [report] = run.junit
    assert 'file="specs/invoices.yaml"' in report
    assert 'file="specs/orders.yaml"' in report
    assert 'line="' in report


def test_an_apply_refused_because_main_moved_tells_no_pull_request_another_applys_outcome(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    one = reviewed_pull(github, {"specs/a.yaml": execution("a")})
    first = apply_run(github.merge(one))
    first.approve("production")
    assert first.conclusion == "success", explain(first)
    [told] = apply_comments(github, one.number, "production")
    two = reviewed_pull(github, {"specs/b.yaml": execution("b")})
    three = reviewed_pull(github, {"specs/c.yaml": execution("c")})
    second = apply_run(github.merge(two))
    assert second.waiting_for == "production"
    third = apply_run(github.merge(three))
    second.approve("production")  # main moved: refused, nothing applied
    assert second.job("apply-production").result == "failure"
    assert "moved" in second.job("apply-production").log
    # the record in the checkout is the first apply's: not this pull request's outcome
    assert apply_comments(github, two.number, "production") == []
    [in_test] = apply_comments(github, two.number, "test")
    assert "`b`" in str(in_test["body"])
    third.approve("production")
    assert third.conclusion == "success", explain(third)
    for pull in (two, three):
        [comment] = apply_comments(github, pull.number, "production")
        body = str(comment["body"])
        assert "`b`" in body, body
        assert "`c`" in body, body
    assert apply_comments(github, one.number, "production") == [told], "one's left alone"
    assert submitted(sim) == Counter(
        {(e, n): 1 for e in ("test", "production") for n in ("orders", "a", "b", "c")}
    )


# --- promotion: test first, production only what succeeded there -----------------------------


def test_a_promoted_spec_that_failed_in_test_waits_and_runs_in_production_once_fixed(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    broken = reviewed_pull(github, {"specs/invoices.yaml": promoted("invoices")})
    [shown] = [
        c["body"]
        for c in github.gh.comments_of(broken.number)
        if str(c["body"]).startswith("<!-- reconciler-plan:production")
    ]
    assert "waits for promotion" in str(shown)
    first = apply_run(github.merge(broken))
    assert first.job("apply-test").result == "failure", explain(first)
    # an unrelated change: test succeeds, so production is planned; invoices still waits
    other = reviewed_pull(github, {"specs/extra.yaml": execution("extra")})
    second = apply_run(github.merge(other))
    assert second.waiting_for == "production", explain(second)
    staged = second.job("plan-production")
    assert "waits for promotion" in staged.summary
    second.approve("production")
    assert second.conclusion == "success", explain(second)
    assert submitted(sim)[("production", "invoices")] == 0
    assert submitted(sim)[("production", "extra")] == 1
    # the fix: a new revision that succeeds in test, then is promoted to production
    fixed = reviewed_pull(github, {"specs/invoices.yaml": promoted("invoices", ORDERS)})
    third = apply_run(github.merge(fixed))
    assert third.job("apply-test").result == "success", explain(third)
    assert "promoted from test" in third.job("plan-production").summary
    third.approve("production")
    assert third.conclusion == "success", explain(third)
    assert submitted(sim) == Counter(
        {
            ("test", "orders"): 1,
            ("test", "invoices"): 2,
            ("test", "extra"): 1,
            ("production", "orders"): 1,
            ("production", "extra"): 1,
            ("production", "invoices"): 1,
        }
    )
    production = [s for s in sim.submissions() if s["properties"]["dynamic"]["ENV"] == "production"]
    assert {s["processId"] for s in production} == {ORDERS}, "the fixed revision, not the broken"


# --- case 1's last resort: the state push fails, the artifact keeps it ------------------------


def test_a_state_push_that_fails_is_saved_as_an_artifact_and_imported_by_the_next_apply(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/invoices.yaml": execution("invoices")})
    github.origin.reject_state_commits(True)
    run = apply_run(github.merge(pull))
    github.origin.reject_state_commits(False)
    job = run.job("apply-test")
    assert job.result == "failure"
    assert submitted(sim) == Counter({("test", "orders"): 1, ("test", "invoices"): 1})
    assert "reconciler-state-test" in run.artifacts
    saved = run.artifacts["reconciler-state-test"]
    assert any(name.endswith("invoices.json") for name in saved), sorted(saved)
    errors = [message for kind, _params, message in job.annotations if kind == "error"]
    assert any(f"run reconcile-apply with import-run-id {run.id}" in m for m in errors), errors
    before = github.origin.log(STATE, "--format=%B")
    assert "Reconciler-Counts" not in before, "the commit was rejected"
    [first_comment] = apply_comments(github, pull.number, "test")
    reason = f"import the state run {run.id} could not push"
    imported = github.dispatch(
        "reconcile-apply.yml", {"reason": reason, "import-run-id": str(run.id)}
    )
    assert imported.waiting_for == "production", explain(imported)
    assert imported.job("apply-test").result in ("success", "skipped"), explain(imported)
    imported.approve("production")
    assert imported.conclusion == "success", explain(imported)
    assert submitted(sim) == Counter(
        {(env, name): 1 for env in ("test", "production") for name in ("orders", "invoices")}
    ), "nothing submitted twice"
    assert imported.job("apply-test").result == "success", "it commits the imported state"
    assert "COMPLETE" in github.origin.show(STATE, "state/test/invoices.json")
    assert "COMPLETE" in github.origin.show(STATE, "state/production/invoices.json")
    [again] = apply_comments(github, pull.number, "test")
    assert again["id"] == first_comment["id"], "updated in place"


# --- case 5: drift and sharded, as copied -----------------------------------------------------


def test_the_drift_check_warns_about_what_no_apply_did(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/invoices.yaml": execution("invoices")})
    run = apply_run(github.merge(pull))
    run.approve("production")
    assert run.conclusion == "success", explain(run)
    quiet = github.dispatch("reconcile-drift.yml")
    assert quiet.conclusion == "success", explain(quiet)
    for environment in ("test", "production"):
        job = quiet.job(f"drift ({environment})")
        assert not [m for kind, _p, m in job.annotations if kind == "warning"], job.log
        assert "### Drift" not in job.summary
    # an administrator pushes a spec past the pull requests (no workflow ran for it)
    github.origin.push_direct({"specs/late.yaml": execution("late")}, "a direct push")
    drift = github.dispatch("reconcile-drift.yml")
    assert drift.conclusion == "success", explain(drift)
    for environment in ("test", "production"):
        job = drift.job(f"drift ({environment})")
        warnings = [m for kind, _p, m in job.annotations if kind == "warning"]
        assert any(f"{environment} has pending changes" in m for m in warnings), job.log
        assert "### Drift" in job.summary
    assert submitted(sim) == Counter(
        {(env, name): 1 for env in ("test", "production") for name in ("orders", "invoices")}
    ), "the drift check submits nothing"


def test_a_sharded_apply_applies_every_spec_once_from_the_tip(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    names = [f"s{i}" for i in range(6)]
    seed(github, sim_server, {f"specs/{n}.yaml": execution(n) for n in names})
    run = github.dispatch(
        "reconcile-sharded.yml", {"environment": "production", "reason": "first apply"}
    )
    assert run.waiting_for == "production"
    assert sim.submissions() == [], "nothing before approval"
    run.approve("production")
    assert run.conclusion == "success", explain(run)
    assert submitted(sim) == Counter({("production", n): 1 for n in names})
    shards = [k for k in run.jobs if k.startswith("apply (")]
    assert len(shards) == 4
    tree = github.origin.log(STATE, "--name-only", "--format=")
    assert all(f"state/production/{n}.json" in tree for n in names)
    again = github.dispatch(
        "reconcile-sharded.yml", {"environment": "production", "reason": "again"}
    )
    again.approve("production")
    assert again.conclusion == "success", explain(again)
    assert submitted(sim) == Counter({("production", n): 1 for n in names}), "nothing twice"
