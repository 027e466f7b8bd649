"""The emulation itself: what it does as GitHub does, shown on small workflows."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.github.emulate.conftest import execution, seed
from tests.github.emulate.expr import ExpressionError, Status, evaluate, lookup_in
from tests.github.emulate.github import GitHubEmulator
from tests.github.emulate.origin import GH006, Origin, git


def test_the_protected_main_answers_gh006(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    origin.seed({"a.txt": "a\n"})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin.bare), str(clone))
    (clone / "a.txt").write_text("b\n")
    git(clone, "commit", "-qam", "direct")
    import subprocess

    pushed = subprocess.run(
        ["git", "push", "origin", "HEAD:main"], cwd=clone, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=False,
    )  # fmt: skip
    assert pushed.returncode != 0
    assert GH006 in pushed.stderr
    other = subprocess.run(
        ["git", "push", "origin", "HEAD:refs/heads/reconciler/state"], cwd=clone,
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr


def test_unknown_expressions_fail_never_empty() -> None:
    lookup = lookup_in({"github": {"sha": "abc"}, "steps": {}}, "here")
    assert evaluate("github.sha", lookup) == "abc"
    with pytest.raises(ExpressionError, match=r"github\.shaa"):
        evaluate("github.shaa", lookup)
    with pytest.raises(ExpressionError, match=r"hashFiles"):
        evaluate("hashFiles('x')", lookup)
    assert evaluate("null == ''", lookup) is True  # GitHub's loose equality
    assert evaluate("format('{0}-{1}', 'a', 1)", lookup) == "a-1"
    assert evaluate("failure() || 'x' != 'X'", lookup, Status()) is False


def test_a_pull_request_that_changes_no_spec_passes_the_plan_check(
    github: GitHubEmulator, sim_server: RunningSimulator
) -> None:
    # Issue 16, case 6: a required check with a paths: filter never reports on such a PR.
    seed(github, sim_server, {"specs/orders.yaml": execution("orders")})
    pull = github.origin.open_pull({"README.md": "# docs only\n"})
    [plan] = github.pull_request(pull)
    assert plan.name == "reconcile-plan"
    assert plan.conclusion == "success", plan.jobs
    assert sorted(plan.jobs) == ["plan (production)", "plan (test)"]
    for job in plan.jobs.values():
        assert "nothing to plan" in job.summary
        assert not job.secrets_released
    assert plan.artifacts == {}
