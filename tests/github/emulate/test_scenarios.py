"""Issue 16's cases, through the emulated GitHub, in a specs-only repository.

Each test copies the shipped workflows into a repository with a protected ``main`` and runs
them as GitHub would: pull requests planned and commented, merges starting applies that wait
for approval in ``production``, pending runs cancelled by newer ones. The platform is the
simulator; every submission it accepted is counted per environment and execution.
"""

from __future__ import annotations

from collections import Counter

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.conftest import Admin
from tests.github.emulate.conftest import execution, seed
from tests.github.emulate.github import GitHubEmulator, Run
from tests.github.emulate.origin import PullRequest

pytestmark = pytest.mark.slow
STATE = "refs/heads/reconciler/state"


def submitted(sim: Admin) -> Counter[tuple[str, str]]:
    """How many runs the platform accepted, per (environment, execution)."""
    seen = (s["properties"]["dynamic"] for s in sim.submissions())
    return Counter((p["ENV"], p["NAME"]) for p in seen)


def explain(*runs: Run) -> str:
    """The log of every failed step of ``runs``: what a test failure should show."""
    out = []
    for run in runs:
        for job in run.jobs.values():
            for step in job.steps:
                if step.outcome == "failure" or step.name == "apply":
                    out.append(f"--- {run.name} / {job.key} / {step.name}\n{step.log[-3000:]}")
    return "\n".join(out) or "no failed step"


def reviewed_pull(em: GitHubEmulator, files: dict[str, str | None]) -> PullRequest:
    """A pull request opened, planned and commented on, as a team works."""
    pull = em.origin.open_pull(files)
    runs = em.pull_request(pull)
    assert [r.conclusion for r in runs] == ["success"], explain(*runs)
    comments = em.runs_of("reconcile-comment")
    assert comments
    assert comments[-1].conclusion == "success", comments[-1].jobs
    return pull


def apply_run(runs: list[Run]) -> Run:
    [run] = [r for r in runs if r.name == "reconcile-apply"]
    return run


def test_each_environment_gets_its_plan_and_comment_in_a_private_specs_only_repository(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    # Cases 5 and 7: the comment workflow, copied, installs from the action and can check out.
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/invoices.yaml": execution("invoices")})
    [plan] = github.runs_of("reconcile-plan")
    assert set(plan.artifacts) == {"reconciler-plan-test", "reconciler-plan-production"}
    bodies = [c["body"] for c in github.gh.comments_of(pull.number)]
    assert len(bodies) == 2
    assert {b.splitlines()[0].split()[1].split(":")[1] for b in bodies} == {"test", "production"}
    assert "pip install ." not in github.pip_log.read_text()
    assert sim.submissions() == []


def test_a_merge_into_a_protected_main_is_applied_test_first_and_state_lands_on_its_branch(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    # Cases 1, 4 and 7: protected main; plan shown before approval; test, then production.
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = reviewed_pull(github, {"specs/invoices.yaml": execution("invoices")})
    run = apply_run(github.merge(pull))
    main = github.origin.rev("refs/heads/main")
    assert run.waiting_for == "production"
    assert submitted(sim) == Counter({("test", "orders"): 1, ("test", "invoices"): 1})
    staged = run.job("plan-production")
    assert not staged.secrets_released
    assert "invoices" in staged.summary
    assert "orders" in staged.summary
    assert "**Reviewed plan:** matches" in staged.summary  # ...and its comparison, first
    assert run.order.index("apply-test") < run.order.index("plan-production")
    run.approve("production")
    assert run.conclusion == "success", explain(run)
    assert submitted(sim) == Counter(
        {(env, name): 1 for env in ("test", "production") for name in ("orders", "invoices")}
    )
    assert github.origin.rev("refs/heads/main") == main, "main untouched by the apply"
    tree = github.origin.log(STATE, "--name-only", "--format=")
    assert "state/production/invoices.json" in tree
    assert "state/test/orders.json" in tree
    assert run.junit, "the JUnit report is published"


def test_three_quick_merges_apply_every_change_exactly_once(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    # Cases 2 and 3: a pending run is cancelled by a newer one; the newest applies the tip.
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pulls = [reviewed_pull(github, {f"specs/{n}.yaml": execution(n)}) for n in ("a", "b", "c")]
    first = apply_run(github.merge(pulls[0]))
    assert first.waiting_for == "production"
    second = apply_run(github.merge(pulls[1]))
    third = apply_run(github.merge(pulls[2]))
    assert second.status == "completed"
    assert second.conclusion == "cancelled"
    assert third.status == "pending"
    first.approve("production")  # main moved since it planned: it applies nothing there
    assert first.jobs["apply-production"].result == "failure"
    assert "moved" in first.jobs["apply-production"].log
    assert third.waiting_for == "production"
    third.approve("production")
    assert third.conclusion == "success", explain(third)
    names = ("orders", "a", "b", "c")
    assert submitted(sim) == Counter({(e, n): 1 for e in ("test", "production") for n in names})
    assert github.origin.has(STATE)
    main_log = github.origin.log("refs/heads/main", "--format=%an")
    assert set(main_log.split()) == {"GitHub"}, "no job pushed to main"


def test_a_queued_apply_after_another_merge_applies_the_tip(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    one = reviewed_pull(github, {"specs/orders.yaml": execution("orders", "2")})
    two = reviewed_pull(github, {"specs/invoices.yaml": execution("invoices")})
    first = apply_run(github.merge(one))
    queued = apply_run(github.merge(two))
    assert queued.status == "pending"
    first.approve("production")
    queued.approve("production")
    assert queued.conclusion == "success", explain(queued)
    dynamic = [s["properties"]["dynamic"] for s in sim.submissions()]
    production = [p for p in dynamic if p["ENV"] == "production"]
    assert sorted((p["NAME"], p["VALUE"]) for p in production) == [
        ("invoices", "1"),
        ("orders", "2"),
    ]


def test_a_manual_apply_states_its_reason_and_needs_the_override_for_unreviewed_changes(
    github: GitHubEmulator, sim_server: RunningSimulator, sim: Admin
) -> None:
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    refused = github.dispatch("reconcile-apply.yml", {"reason": "first apply of the repository"})
    assert "first apply of the repository" in refused.job("plan-test").summary
    assert refused.job("apply-test").result == "failure"
    assert sim.submissions() == []
    allowed = github.dispatch(
        "reconcile-apply.yml", {"reason": "bootstrap", "allow-unreviewed": True}
    )
    allowed.approve("production")
    assert allowed.conclusion == "success", explain(allowed)
    assert submitted(sim) == Counter({("test", "orders"): 1, ("production", "orders"): 1})
