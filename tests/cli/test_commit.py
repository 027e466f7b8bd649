"""`reconciler commit` and durable intents, against a local bare remote and a competing pusher."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import (
    INVENTORY,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    git,
    read_state,
    spec,
)

Run = Callable[..., CliResult]
RECONCILER = shutil.which("reconciler") or str(Path(sys.executable).parent / "reconciler")
IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")


@pytest.fixture
def remote(workspace: Path, tmp_path: Path) -> Path:
    """A bare remote holding the workspace's first commit, as `origin`."""
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("i", INVENTORY, PROD_ATOM),
            "README.md": "specs\n",
        },
    )
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", "specs")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(workspace, "remote", "add", "origin", str(bare))
    git(workspace, "push", "-q", "origin", "main")
    return bare


def competing_push(tmp_path: Path, bare: Path, files: dict[str, str], name: str = "other") -> str:
    """Another runner: clone, change files, push. Returns its commit."""
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    build_tree(clone, files)
    git(clone, *IDENTITY, "add", ".")
    git(clone, *IDENTITY, "commit", "-q", "-m", f"{name} was here")
    git(clone, "push", "-q", "origin", "main")
    return git(clone, "rev-parse", "HEAD").strip()


def remote_head(bare: Path) -> str:
    return git(bare, "rev-parse", "main").strip()


def test_commit_records_only_state_and_artifacts_with_trailers(
    workspace: Path, remote: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/runs")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    applied_at = git(workspace, "rev-parse", "HEAD").strip()
    assert run_cli("apply").code == 0
    digest = json.loads((workspace / "artifacts/default/apply.json").read_text())["planDigest"]
    # Unrelated work in the checkout: an untracked file and a staged edit stay out of the commit.
    build_tree(workspace, {"notes.txt": "mine\n", "README.md": "edited\n"})
    git(workspace, "add", "README.md")
    # A temp file of an atomic write interrupted by kill -9 is never history's.
    build_tree(workspace, {"state/default/.o.json.k1ll3d99.tmp": '{"torn'})

    result = run_cli("commit")

    assert result.code == 0, result.err
    assert "pushed to origin" in result.out
    assert remote_head(remote) == git(workspace, "rev-parse", "HEAD").strip()
    message = git(remote, "log", "-1", "--format=%B", "main")
    assert message == (
        "reconciler: apply default: 2 success\n\n"
        "Reconciler-Environment: default\n"
        f"Reconciler-Specs-Commit: {applied_at}\n"
        f"Reconciler-Plan-Digest: {digest}\n"
        "Reconciler-Reviewed: none\n"
        "Reconciler-Counts: success=2 failure=0 rejected=0 unknown=0 pending=0 unsent=0 "
        "skipped=0\n"
        "Reconciler-Applies: 1\n"
        "Reconciler-Run-URL: https://github.example/acme/runs/actions/runs/42/attempts/2\n\n"
    )
    committed = git(remote, "show", "--name-only", "--format=", "main").split()
    assert sorted(committed) == [
        "artifacts/default/apply.json",
        "artifacts/default/junit.xml",
        "artifacts/default/runs/i.json",
        "artifacts/default/runs/o.json",
        "artifacts/default/summary.md",
        "state/.gitignore",
        "state/default/i.json",
        "state/default/o.json",
    ]
    status = git(workspace, "status", "--porcelain").splitlines()
    assert sorted(status) == ["?? notes.txt", "M  README.md"]

    again = run_cli("commit")
    assert again.code == 0
    assert "Nothing to commit" in again.out


def test_a_concurrent_push_elsewhere_is_integrated_never_forced(
    workspace: Path, remote: Path, sim: Admin, run_cli: Run, tmp_path: Path
) -> None:
    assert run_cli("apply").code == 0
    theirs = competing_push(tmp_path, remote, {"specs/new.yaml": spec("n", ORDERS, PROD_ATOM)})

    result = run_cli("commit", "--retry-delay", "0")

    assert result.code == 0, result.err
    head = remote_head(remote)
    assert git(remote, "rev-parse", f"{head}^").strip() == theirs  # on top, linear
    assert (workspace / "specs/new.yaml").is_file()  # the checkout follows the remote
    assert git(workspace, "status", "--porcelain") == ""


def test_the_same_execution_recorded_elsewhere_stops_the_commit(
    workspace: Path, remote: Path, sim: Admin, run_cli: Run, tmp_path: Path
) -> None:
    assert run_cli("apply").code == 0
    ours = (workspace / "state/default/o.json").read_text()
    theirs = json.loads(ours) | {"attempt_id": "someone-else", "request_id": "other-request"}
    other = competing_push(tmp_path, remote, {"state/default/o.json": json.dumps(theirs)})

    result = run_cli("commit", "--retry-delay", "0")

    assert result.code == 1
    assert result.err.startswith("error: another push recorded o since this checkout;")
    assert remote_head(remote) == other  # theirs stays
    assert (workspace / "state/default/o.json").read_text() == ours  # ours stays too


def test_a_rejecting_remote_is_retried_a_bounded_number_of_times(
    workspace: Path, remote: Path, sim: Admin, run_cli: Run
) -> None:
    assert run_cli("apply").code == 0
    hook = remote / "hooks" / "pre-receive"
    log = remote / "attempts.log"
    hook.write_text(f"#!/bin/sh\necho attempt >> {log}\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = remote_head(remote)

    result = run_cli("commit", "--attempts", "3", "--retry-delay", "0")

    assert result.code == 1
    assert "still rejected after 3 attempts (remote: rejected by policy)" in result.err
    assert log.read_text().splitlines() == ["attempt"] * 3
    assert remote_head(remote) == before


def test_commit_outside_a_checkout_is_a_clear_error(tmp_path: Path, run_cli: Run) -> None:
    folder = tmp_path / "plain"
    build_tree(folder, {"reconciler.yaml": "version: 1\n", "state/default/x.json": "{}"})
    os.chdir(folder)
    result = run_cli("commit", "--no-push")
    assert result.code == 1
    assert result.err == f"error: {folder} is not inside a git checkout\n"


def test_durable_intents_are_pushed_before_any_submit(
    workspace: Path, remote: Path, sim: Admin, run_cli: Run
) -> None:
    # The remote notes how many submissions the platform had seen at each push.
    log = remote / "pushes.log"
    hook = remote / "hooks" / "post-receive"
    hook.write_text(
        f"#!{sys.executable}\n"
        "import httpx\n"
        f"data = httpx.get('{sim.url}/submissions').json()\n"
        "items = data['submissions'] if isinstance(data, dict) else data\n"
        f"open({str(log)!r}, 'a').write(f'{{len(items)}}\\n')\n"
    )
    hook.chmod(0o755)

    result = run_cli("apply", "--durable-intents")

    assert result.code == 0, result.err
    assert log.read_text().splitlines() == ["0"]  # one wave, pushed before the first POST
    intents = git(remote, "log", "-1", "--format=%s", "main").strip()
    assert intents == "reconciler: intents of 2 run(s) (default)"
    pushed = json.loads(git(remote, "show", "main:state/default/o.json"))
    assert pushed["phase"] == "intent"
    assert len(sim.submissions()) == 2
    # The final state supersedes our own intents: no conflict, one more commit on top.
    committed = run_cli("commit", "--retry-delay", "0")
    assert committed.code == 0, committed.err
    assert json.loads(git(remote, "show", "main:state/default/o.json"))["phase"] == "final"
    subjects = git(remote, "log", "--format=%s", "main").splitlines()
    assert subjects[:2] == [
        "reconciler: apply default: 2 success",
        "reconciler: intents of 2 run(s) (default)",
    ]


def test_durable_intents_need_a_remote(
    workspace: Path, remote: Path, sim: Admin, run_cli: Run
) -> None:
    git(workspace, "remote", "remove", "origin")
    result = run_cli("apply", "--durable-intents")
    assert result.code == 1
    assert result.err.startswith(
        "error: durable intents: this checkout has no git remote named 'origin'"
    )
    assert sim.submissions() == []


def test_a_vanished_runner_leaves_intents_a_fresh_runner_resolves_without_resubmitting(
    workspace: Path, remote: Path, sim: Admin, tmp_path: Path
) -> None:
    first = subprocess.Popen(
        [RECONCILER, "apply", "--durable-intents"],
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not sim.submissions():
            assert time.monotonic() < deadline, "the apply never submitted"
            assert first.poll() is None, "the apply ended before it submitted"
            time.sleep(0.005)
    finally:
        first.send_signal(signal.SIGKILL)  # the runner vanishes, workspace and all
        first.wait(timeout=10)
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(remote), str(fresh))
    assert json.loads((fresh / "state/default/o.json").read_text())["phase"] == "intent"

    def reconcile(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RECONCILER, "apply", *args],
            cwd=fresh,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    sent = {str(s["processId"]) for s in sim.submissions()}
    second = reconcile()

    # What the vanished runner sent is adopted by query; what it never sent stays unknown
    # (no run can be found) until a human says so. Nothing is submitted twice either way.
    assert second.returncode in (0, 4), second.stdout + second.stderr
    names = {ORDERS: "o", INVENTORY: "i"}
    for process in sent:
        assert f"{names[process]}: adopted execution-" in second.stderr
    unsent = sorted(names[p] for p in names if p not in sent)
    for name in unsent:
        assert read_state(fresh, name)["phase"] in ("intent", "unknown")
    if unsent:
        resumed = reconcile(*(f"--resubmit={name}" for name in unsent))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    processes = sorted(str(s["processId"]) for s in sim.submissions())
    assert processes == sorted([ORDERS, INVENTORY])  # each submitted exactly once
    for name in ("o", "i"):
        assert read_state(fresh, name)["phase"] == "final"


def test_shards_applied_on_two_runners_commit_without_conflict(
    workspace: Path, remote: Path, sim: Admin, tmp_path: Path
) -> None:
    runners = []
    for k in (1, 2):
        clone = tmp_path / f"runner-{k}"
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        runners.append(clone)
    for k, clone in enumerate(runners, start=1):
        applied = subprocess.run(
            [RECONCILER, "apply", "--shard", f"{k}/2"],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
    for k, clone in enumerate(runners, start=1):  # the second push must integrate the first
        committed = subprocess.run(
            [RECONCILER, "commit", "--shard", f"{k}/2", "--retry-delay", "0"],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert committed.returncode == 0, committed.stdout + committed.stderr
    tree = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert {"state/default/o.json", "state/default/i.json"} <= set(tree)
    assert {"artifacts/default/shards/1-of-2/summary.md"} <= set(tree)
    assert {"artifacts/default/shards/2-of-2/summary.md"} <= set(tree)
    subjects = git(remote, "log", "--format=%s", "main").splitlines()
    assert len([s for s in subjects if s.startswith("reconciler: apply default shard")]) == 2
    assert len(sim.submissions()) == 2
