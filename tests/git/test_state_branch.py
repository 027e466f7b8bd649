"""State on a branch of its own, with ``main`` protected as GitHub protects it.

The origin is a bare repository whose pre-receive hook answers a push to ``main`` the way
GitHub does for a protected branch (GH006); "GitHub" itself (a merge) bypasses it. Every apply
and commit here is the real CLI against the real simulator and real git.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import (
    CONFIG,
    INVENTORY,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    Admin,
    build_tree,
    cli_in,
    git,
    spec,
)

IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
BRANCH = "reconciler/state"
STATE_CONFIG = CONFIG + "git:\n  stateBranch: reconciler/state\n"
GH006 = "GH006: Protected branch update failed for refs/heads/main."
HOOK = f"""#!/bin/sh
# GitHub's branch protection, as a pushing client sees it. A merge by GitHub sets GITHUB_MERGE.
while read old new ref; do
  if [ "$ref" = "refs/heads/main" ] && [ -z "$GITHUB_MERGE" ]; then
    echo "error: {GH006}" >&2
    echo "error: Changes must be made through a pull request." >&2
    exit 1
  fi
done
exit 0
"""


def protect(bare: Path) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(HOOK, encoding="utf-8")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def merge(workspace: Path, files: dict[str, str], message: str) -> str:
    """A pull request merged by GitHub: a commit on main that bypasses the protection."""
    build_tree(workspace, files)
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", message)
    env = {**os.environ, "GITHUB_MERGE": "1"}
    import subprocess

    subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=workspace,
        env=env,
        check=True,
        capture_output=True,
        timeout=30,
    )
    return git(workspace, "rev-parse", "HEAD").strip()


@pytest.fixture(name="origin")
def protected_origin(workspace: Path, tmp_path: Path) -> Path:
    """A protected origin holding reconciler.yaml (state on a branch) and two specs."""
    build_tree(
        workspace,
        {
            "reconciler.yaml": STATE_CONFIG,
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("i", INVENTORY, PROD_ATOM),
        },
    )
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", "specs")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(workspace, "remote", "add", "origin", str(bare))
    git(workspace, "push", "-q", "origin", "main")
    protect(bare)
    return bare


def fresh_clone(tmp_path: Path, bare: Path, name: str, ref: str = "main") -> Path:
    """A runner's checkout: a new clone of the origin at ``ref`` (actions/checkout)."""
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", "--branch", "main", str(bare), str(clone))
    if ref != "main":
        git(clone, "checkout", "-q", ref)
    git(clone, "config", "user.name", "Runner")
    git(clone, "config", "user.email", "runner@example.com")
    return clone


def state_files(bare: Path) -> list[str]:
    listed = git(bare, "ls-tree", "-r", "--name-only", BRANCH)
    return sorted(listed.split())


def test_a_protected_main_applies_with_state_on_the_state_branch(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    main_before = git(origin, "rev-parse", "main").strip()
    runner = fresh_clone(tmp_path, origin, "runner")

    code, err = cli_in(monkeypatch, capsys, runner, "apply", "--durable-intents")
    assert code == 0, err
    assert len(sim.submissions()) == 2
    # The intents reached the state branch before the submits, and main is untouched.
    assert git(origin, "rev-parse", "main").strip() == main_before
    intents = git(origin, "log", "--format=%s", BRANCH).splitlines()
    assert intents[0] == "reconciler: intents of 2 run(s) (default)"
    assert intents[-1] == "reconciler: state branch"

    code, err = cli_in(monkeypatch, capsys, runner, "commit")
    assert code == 0, err
    assert f"pushed to origin on {BRANCH}" in capsys.readouterr().out
    assert git(origin, "rev-parse", "main").strip() == main_before
    assert state_files(origin) == [
        "artifacts/default/apply.json",
        "artifacts/default/junit.xml",
        "artifacts/default/runs/i.json",
        "artifacts/default/runs/o.json",
        "artifacts/default/summary.md",
        "state/.gitignore",
        "state/default/i.json",
        "state/default/o.json",
    ]
    trailers = git(origin, "log", "-1", "--format=%(trailers)", BRANCH)
    assert f"Reconciler-Specs-Commit: {main_before}" in trailers
    assert "Reconciler-Applies: 1" in trailers
    # The checkout's branch did not move: state is not on main, locally either.
    assert git(runner, "rev-parse", "HEAD").strip() == main_before


def test_a_fresh_clone_plans_from_the_state_branch_and_never_submits_twice(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = fresh_clone(tmp_path, origin, "first")
    assert cli_in(monkeypatch, capsys, first, "apply")[0] == 0
    assert cli_in(monkeypatch, capsys, first, "commit")[0] == 0
    capsys.readouterr()

    # A queued apply: a new runner, a checkout with none of that state on disk.
    second = fresh_clone(tmp_path, origin, "second")
    assert not (second / "state" / "default").exists()
    code, err = cli_in(monkeypatch, capsys, second, "plan", "--detailed-exitcode")
    out = capsys.readouterr().out
    assert code == 0, (out, err)
    assert any(line.startswith("state branch reconciler/state at ") for line in err), err
    assert "noop" in out

    # Without the fetch it would have looked like two new runs.
    third = fresh_clone(tmp_path, origin, "third")
    code, _ = cli_in(monkeypatch, capsys, third, "plan", "--no-fetch-state", "--detailed-exitcode")
    assert code == 2

    code, err = cli_in(monkeypatch, capsys, second, "apply")
    assert code == 0, err
    assert "Nothing to apply." in capsys.readouterr().out
    assert len(sim.submissions()) == 2


def test_an_apply_from_an_older_commit_applies_the_new_merge_only(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Apply A records its state; meanwhile PR 2 merged a new spec.
    a = fresh_clone(tmp_path, origin, "a")
    assert cli_in(monkeypatch, capsys, a, "apply", "--durable-intents")[0] == 0
    assert cli_in(monkeypatch, capsys, a, "commit")[0] == 0
    merge(workspace, {"specs/n.yaml": spec("n", ORDERS, PROD_ATOM, {"N": "2"})}, "PR 2")

    b = fresh_clone(tmp_path, origin, "b")
    code, err = cli_in(monkeypatch, capsys, b, "apply", "--durable-intents")
    assert code == 0, err
    names = [s["name"] for s in sim.submissions()] if "name" in sim.submissions()[0] else None
    assert len(sim.submissions()) == 3, names  # o and i once each, then n: nothing twice
    assert cli_in(monkeypatch, capsys, b, "commit")[0] == 0
    assert "state/default/n.json" in state_files(origin)


def test_without_a_state_branch_a_protected_main_submits_nothing_and_says_so(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = fresh_clone(tmp_path, origin, "runner")
    build_tree(runner, {"reconciler.yaml": CONFIG + "git:\n  pushAttempts: 2\n"})
    git(runner, "commit", "-q", "-am", "state on main")

    code, err = cli_in(monkeypatch, capsys, runner, "apply", "--durable-intents")
    out = capsys.readouterr().out

    assert code == 1, (out, err)
    assert sim.submissions() == []
    assert "still running" not in out
    assert "Apply (default): 2 not submitted." in out
    assert GH006 in out  # the remote's own words, not a guess


def test_apply_refuses_specs_that_are_in_no_commit(
    workspace: Path,
    origin: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM, {"X": "edited"})})

    code, err = cli_in(monkeypatch, capsys, workspace, "apply", "--no-fetch-state")
    assert code == 1
    head = git(workspace, "rev-parse", "HEAD").strip()
    assert err == [
        f"error: the specs differ from the checked-out commit {head[:12]} (specs/o.yaml); "
        "nothing was applied: the state would record runs of specs that are in no commit; "
        "commit them first, or pass --allow-dirty"
    ]
    assert sim.submissions() == []
    code, err = cli_in(monkeypatch, capsys, workspace, "commit", "--no-push")
    assert code == 1
    assert "specs/o.yaml" in err[0]

    code, err = cli_in(monkeypatch, capsys, workspace, "apply", "--allow-dirty")
    assert code == 0, err
    assert len(sim.submissions()) == 2


def test_expect_commit_and_expect_digest_refuse_a_moved_plan(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = fresh_clone(tmp_path, origin, "runner")
    code, _ = cli_in(monkeypatch, capsys, runner, "plan", "--output", "json")
    shown = json.loads(capsys.readouterr().out)
    planned_at = git(runner, "rev-parse", "HEAD").strip()
    merge(workspace, {"specs/n.yaml": spec("n", ORDERS, PROD_ATOM, {"N": "2"})}, "PR 2")
    git(runner, "pull", "-q", "origin", "main")

    code, err = cli_in(monkeypatch, capsys, runner, "apply", "--expect-commit", planned_at)
    assert code == 1
    assert err[-1].startswith(f"error: the checkout is at {git(runner, 'rev-parse', 'HEAD')[:12]}")
    assert "the branch moved since the plan; nothing was applied" in err[-1]

    code, err = cli_in(monkeypatch, capsys, runner, "apply", "--expect-digest", shown["planDigest"])
    assert code == 1
    assert "(--expect-digest): the state or the specs changed" in err[-1]
    assert sim.submissions() == []

    code, err = cli_in(monkeypatch, capsys, runner, "apply", "--expect-digest", "sha256:12")
    assert code == 1
    assert "expected sha256: and 64 hex digits" in "\n".join(err)


def test_commit_after_several_applies_names_each(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = fresh_clone(tmp_path, origin, "runner")
    assert cli_in(monkeypatch, capsys, runner, "apply", "--select", "o")[0] == 0
    assert cli_in(monkeypatch, capsys, runner, "apply", "--select", "i")[0] == 0
    assert cli_in(monkeypatch, capsys, runner, "apply")[0] == 0  # nothing left: still an apply
    assert cli_in(monkeypatch, capsys, runner, "commit")[0] == 0
    message = git(origin, "log", "-1", "--format=%B", BRANCH)
    head = git(runner, "rev-parse", "HEAD").strip()[:12]
    body = [line for line in message.splitlines() if line.startswith("- ")]
    assert len(body) == 2, message  # the no-op apply wrote nothing to record
    assert all(f"from {head}" in line for line in body)
    assert body[0].endswith(": 1 success")
    assert "(and 1 earlier applies)" in message.splitlines()[0]
    assert "Reconciler-Applies: 2" in message
    # Recorded: the next commit starts a new list.
    assert not (runner / "state" / ".applies-default.jsonl").exists()


def test_state_import_takes_what_is_newer_and_keeps_the_rest(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The apply whose push failed: its folders were uploaded as a workflow artifact.
    lost = fresh_clone(tmp_path, origin, "lost")
    assert cli_in(monkeypatch, capsys, lost, "apply", "--no-fetch-state")[0] == 0
    saved = tmp_path / "artifact"
    for folder in ("state/default", "artifacts/default"):
        for path in (lost / folder).rglob("*"):
            if path.is_file():
                target = saved / path.relative_to(lost)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())

    nextrun = fresh_clone(tmp_path, origin, "next")
    code, _ = cli_in(monkeypatch, capsys, nextrun, "state", "import", str(saved))
    assert code == 0
    out = capsys.readouterr().out
    assert "artifact: 7 file(s) taken, 0 unchanged" in out, out
    code, _ = cli_in(
        monkeypatch, capsys, nextrun, "plan", "--no-fetch-state", "--detailed-exitcode"
    )
    assert code == 0  # both runs known: nothing to submit again
    # Importing again changes nothing.
    cli_in(monkeypatch, capsys, nextrun, "state", "import", str(saved))
    assert "0 file(s) taken, 7 unchanged" in capsys.readouterr().out

    (saved / "state/default/o.json").unlink()
    (saved / "state/default/o.json").symlink_to("/etc/passwd")
    code, err = cli_in(monkeypatch, capsys, nextrun, "state", "import", str(saved))
    assert code == 1
    assert err[0].startswith(f"error: {saved}/state/default/o.json: not imported: the file")


def test_the_state_branch_cannot_be_the_checked_out_branch(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_tree(workspace, {"reconciler.yaml": CONFIG + "git:\n  stateBranch: main\n"})
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", "config")
    code, err = cli_in(monkeypatch, capsys, workspace, "plan")
    assert code == 1
    assert err == [
        "error: git.stateBranch is main, the branch checked out here: state needs a branch of "
        "its own; use e.g. reconciler/state, or remove git.stateBranch to keep state here"
    ]


def test_a_rerun_on_demand_is_named_in_the_commit(
    workspace: Path,
    origin: Path,
    tmp_path: Path,
    sim: Admin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    merge(workspace, {"specs/i.yaml": spec("i", INVOICES, PROD_ATOM)}, "invoices: ends ERROR")
    runner = fresh_clone(tmp_path, origin, "runner")
    assert cli_in(monkeypatch, capsys, runner, "apply")[0] == 3
    assert cli_in(monkeypatch, capsys, runner, "apply", "--rerun", "i")[0] == 3  # fails again

    assert cli_in(monkeypatch, capsys, runner, "commit")[0] == 0

    message = git(origin, "log", "-1", "--format=%B", BRANCH)
    assert "Reconciler-Reruns: i\n" in message
    assert "Reconciler-Applies: 2\n" in message
    assert "; re-run on demand: i" in message  # the second apply's line in the body
