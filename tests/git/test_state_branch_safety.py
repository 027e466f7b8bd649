"""The state branch under races and tampering: never twice, never backwards, never outside.

Two runners interleave at the exact point that matters (a real second CLI process started from
inside the first one's real code path, never a timing); the origin is protected as in
``test_state_branch``. Each test failed on the first version of the state branch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import reconciler.usecases.apply as apply_usecase
import reconciler.usecases.commit as commit_usecase
from tests.conftest import (
    CONFIG,
    INVENTORY,
    ORDERS,
    PROD_ATOM,
    Admin,
    build_tree,
    cli_in,
    git,
    spec,
)
from tests.git.test_state_branch import (  # noqa: F401 - protected_origin: the origin fixture
    BRANCH,
    IDENTITY,
    fresh_clone,
    merge,
    protected_origin,
)

RECONCILER = str(Path(sys.executable).parent / "reconciler")


def other_runner(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Another runner's reconciler: a separate process, outside GitHub Actions."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "RECONCILER_ENV")}
    return subprocess.run(
        [RECONCILER, *args], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )


def racing(
    module: Any, name: str, monkeypatch: pytest.MonkeyPatch, work: Any, *, after: bool = False
) -> None:
    """Run ``work`` once, just before (or after) the real ``module.name``: the race's point."""
    real = getattr(module, name)
    done: list[bool] = []

    def with_the_other_runner(*args: Any, **kwargs: Any) -> Any:
        if done:
            return real(*args, **kwargs)
        done.append(True)
        if not after:
            work()
        result = real(*args, **kwargs)
        if after:
            work()
        return result

    monkeypatch.setattr(module, name, with_the_other_runner)


@pytest.mark.parametrize("state_branch", [True, False], ids=["state-branch", "checked-out"])
def test_two_applies_that_read_the_same_state_submit_each_run_once(
    state_branch: bool,
    workspace: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = CONFIG + ("git:\n  stateBranch: reconciler/state\n" if state_branch else "")
    build_tree(
        workspace,
        {
            "reconciler.yaml": config,
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("i", INVENTORY, PROD_ATOM),
        },
    )
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", "specs")
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(workspace, "remote", "add", "origin", str(bare))
    git(workspace, "push", "-q", "origin", "main")
    a, b = fresh_clone(tmp_path, bare, "a"), fresh_clone(tmp_path, bare, "b")

    def a_applies_everything() -> None:  # after b read the state, before b plans
        done = other_runner(a, "apply", "--durable-intents")
        assert done.returncode == 0, done.stderr

    racing(apply_usecase, "load_plan", monkeypatch, a_applies_everything)
    code, err = cli_in(monkeypatch, capsys, b, "apply", "--durable-intents")

    assert len(sim.submissions()) == 2  # a's two runs; b sent nothing
    assert code == 1, err
    assert "Apply (default): 2 not submitted." in capsys.readouterr().out


def test_a_leftover_earlier_step_never_replaces_the_branch_s_later_one(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = fresh_clone(tmp_path, origin, "a")
    assert cli_in(monkeypatch, capsys, a, "apply", "--durable-intents")[0] == 0
    assert cli_in(monkeypatch, capsys, a, "commit")[0] == 0
    intents = git(origin, "log", "--format=%H", "--grep=^reconciler: intents of", BRANCH)
    older = git(a, "show", f"{intents.split()[-1]}:state/default/o.json")
    assert json.loads(older)["phase"] == "intent"
    (a / "state/default/o.json").write_text(older, encoding="utf-8")  # a stale copy

    code, _ = cli_in(monkeypatch, capsys, a, "plan", "--detailed-exitcode")
    assert code == 0  # the branch's COMPLETE was taken: nothing unknown, nothing to do
    assert cli_in(monkeypatch, capsys, a, "commit")[0] == 0
    now = json.loads(git(origin, "show", f"{BRANCH}:state/default/o.json"))
    assert now["phase"] == "final"


def test_a_tampered_state_branch_with_dotdot_paths_is_refused(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    evil = tmp_path / "evil"
    evil.mkdir()
    git(evil, "init", "-q")

    def plumb(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            ["git", *args], cwd=evil, input=stdin, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    blob = plumb("hash-object", "-w", "--stdin", stdin="owned\n")
    tree = plumb("mktree", stdin=f"100644 blob {blob}\tPWNED\n")
    for name in ("..", "..", "state"):
        tree = plumb("mktree", stdin=f"040000 tree {tree}\t{name}\n")
    commit = plumb("-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", tree, "-m", "x")
    git(evil, "push", "-q", str(origin), f"{commit}:refs/heads/{BRANCH}")
    runner = fresh_clone(tmp_path, origin, "runner")

    code, err = cli_in(monkeypatch, capsys, runner, "plan")

    assert code == 1
    assert not (runner.parent / "PWNED").exists()
    assert "the state branch holds 'state/../../PWNED': not a plain path" in err[0]


def test_commit_without_push_from_a_fresh_clone_keeps_every_file_of_the_branch(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = fresh_clone(tmp_path, origin, "a")
    assert cli_in(monkeypatch, capsys, a, "apply", "--select", "o")[0] == 0
    assert cli_in(monkeypatch, capsys, a, "commit")[0] == 0
    b = fresh_clone(tmp_path, origin, "b")  # its checkout fetched the branch; nothing pulled
    assert cli_in(monkeypatch, capsys, b, "apply", "--select", "i", "--no-fetch-state")[0] == 0

    code, err = cli_in(monkeypatch, capsys, b, "commit", "--no-push")

    assert code == 0, err
    listed = git(b, "ls-tree", "-r", "--name-only", f"refs/remotes/origin/{BRANCH}").split()
    assert {"state/default/o.json", "state/default/i.json"} <= set(listed)


def test_a_newer_run_pushed_between_pull_and_publish_is_never_overwritten(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = fresh_clone(tmp_path, origin, "a")
    assert cli_in(monkeypatch, capsys, a, "apply", "--select", "o")[0] == 0
    assert cli_in(monkeypatch, capsys, a, "commit")[0] == 0
    b = fresh_clone(tmp_path, origin, "b")  # another shard
    assert cli_in(monkeypatch, capsys, b, "apply", "--select", "i")[0] == 0

    def a_runs_o_again() -> None:  # after b pulled, before b publishes
        merge(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM, {"V": "2"})}, "PR 2")
        git(a, "pull", "-q", "origin", "main")
        for args in (("apply", "--select", "o"), ("commit",)):
            done = other_runner(a, *args)
            assert done.returncode == 0, done.stderr

    racing(commit_usecase, "pull_state", monkeypatch, a_runs_o_again, after=True)
    assert cli_in(monkeypatch, capsys, b, "commit")[0] == 0

    attempts = [
        json.loads(git(origin, "show", f"{BRANCH}~{n}:state/default/o.json"))["attempt_id"]
        for n in (0, 1)
    ]
    assert attempts[0] == attempts[1]  # b's commit kept a's newer run of o
    assert json.loads(git(origin, "show", f"{BRANCH}:state/default/i.json"))["phase"] == "final"
