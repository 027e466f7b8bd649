"""``reconciler history NAME``: every run of one execution, read back from git.

History is built the way a repository gets it: real applies against the simulator, recorded by
the real ``reconciler commit``. The trailers issue 16 adds to ``commit`` (specs commit, actor,
pull requests) are set here by amending the commit with ``git commit --amend --trailer``, with
``trailer.ifexists=replace`` so the values are the test's whether or not ``commit`` writes them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.config.settings import GitConfig
from tests.conftest import INVENTORY, ORDERS, PROD_ATOM, Admin, CliResult, build_tree, git, spec
from tests.git.conftest import IDENTITY

Run = Callable[..., CliResult]
AMEND = ("-c", "trailer.ifexists=replace", *IDENTITY, "commit", "-q", "--amend", "--no-edit")
URL = "https://github.example/acme/runs/actions/runs/{}/attempts/1"
RUN_KEYS = {
    "attemptId", "status", "phase", "started", "ended", "attempts", "digest", "requestId",
    "executionId", "message", "specsCommit", "planDigest", "reviewed", "pullRequests", "actor",
    "runUrl", "commit", "committedAt", "commits", "source", "problem",
}  # fmt: skip


@pytest.fixture
def repo(workspace: Path, tmp_path: Path, sim: Admin) -> Path:
    """A checkout with two specs, orders and inventory, pushed to a bare ``origin``."""
    build_tree(
        workspace,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM, {"day": "1"}),
            "specs/inventory.yaml": spec("inventory", INVENTORY, PROD_ATOM),
        },
    )
    git(workspace, *IDENTITY, "add", ".")
    git(workspace, *IDENTITY, "commit", "-q", "-m", "specs")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(workspace, "remote", "add", "origin", str(bare))
    git(workspace, "push", "-q", "origin", "main")
    return workspace


def change_orders(repo: Path, day: str) -> str:
    """A spec change, committed as a merge would leave it: the new specs commit."""
    build_tree(repo, {"specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM, {"day": day})})
    git(repo, *IDENTITY, "commit", "-q", "-m", f"orders: day {day}", "--", "specs/orders.yaml")
    return git(repo, "rev-parse", "HEAD").strip()


def apply_and_commit(run_cli: Run, repo: Path, specs: str, **trailers: str) -> str:
    """One apply, recorded by ``reconciler commit`` with the trailers of issue 16; its commit."""
    applied = run_cli("apply")
    assert applied.code == 0, applied.err
    committed = run_cli("commit", "--no-push")
    assert committed.code == 0, committed.err
    keys = {"specs": "Specs-Commit", "actor": "Actor", "prs": "Pull-Requests", "url": "Run-URL"}
    values = {"specs": specs, **trailers}
    added = [f"--trailer=Reconciler-{keys[k]}: {v}" for k, v in values.items()]
    git(repo, *AMEND, *added)
    return git(repo, "rev-parse", "HEAD").strip()


def shown(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert isinstance(data, dict)
    return data


def test_every_run_of_one_execution_across_commits_newest_first(repo: Path, run_cli: Run) -> None:
    specs1 = git(repo, "rev-parse", "HEAD").strip()
    first = apply_and_commit(run_cli, repo, specs1, actor="alice", prs="12", url=URL.format(1))
    specs2 = change_orders(repo, "2")
    second = apply_and_commit(run_cli, repo, specs2, actor="bob", prs="15 16", url=URL.format(2))
    # Two applies, one commit: the middle run is only in the history of the last record.
    change_orders(repo, "3")
    assert run_cli("apply").code == 0
    specs4 = change_orders(repo, "4")
    third = apply_and_commit(run_cli, repo, specs4, actor="carol")

    data = shown(run_cli("history", "orders", "--output", "json"))

    assert data["formatVersion"] == 1
    assert (data["name"], data["environment"], data["ref"]) == ("orders", "default", "HEAD")
    assert data["path"] == "state/default/orders.json"
    runs = data["runs"]
    assert [r["source"] for r in runs] == ["state", "history", "state", "state"]
    assert [r["commit"] for r in runs] == [third, third, second, first]
    assert [r["specsCommit"] for r in runs] == [specs4, None, specs2, specs1]
    assert [r["actor"] for r in runs] == ["carol", None, "bob", "alice"]
    assert [r["pullRequests"] for r in runs] == [[], [], [15, 16], [12]]
    assert [r["runUrl"] for r in runs] == [None, None, URL.format(2), URL.format(1)]
    assert [r["status"] for r in runs] == ["COMPLETE"] * 4
    assert len({r["attemptId"] for r in runs}) == 4
    assert len({r["digest"] for r in runs}) == 4  # each run rendered another request
    plan_digests = [r["planDigest"] for r in runs]
    assert all(d.startswith("sha256:") for d in plan_digests if d)
    assert plan_digests[1] is None
    assert len(set(plan_digests)) == 4
    assert all(r["started"] and r["ended"] for r in runs)

    # The execution that never changed ran once, in the first apply.
    inventory = shown(run_cli("history", "inventory", "--output", "json"))["runs"]
    assert [(r["commit"], r["actor"]) for r in inventory] == [(first, "alice")]

    text = run_cli("history", "orders")
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0] == (
        "orders in default: 4 run(s) from state/default/orders.json on HEAD, newest first"
    )
    assert lines[1].split() == [
        "STARTED", "ENDED", "STATUS", "ATTEMPTS", "DIGEST", "SPECS", "PLAN", "PRS", "ACTOR",
        "COMMIT", "RUN", "URL",
    ]  # fmt: skip
    bob = lines[5].split()
    assert bob[2:] == [
        "COMPLETE",
        "1",
        runs[2]["digest"].rsplit(":", 1)[1][:12],
        specs2[:12],
        runs[2]["planDigest"].removeprefix("sha256:")[:12],
        "15",
        "16",
        "bob",
        second[:12],
        URL.format(2),
    ]
    assert lines[1].index("STATUS") == lines[5].index("COMPLETE")  # aligned

    limited = run_cli("history", "orders", "--limit", "1")
    assert len(limited.out.splitlines()) == 5
    assert limited.out.startswith("orders in default: 1 of 4 run(s) from")
    assert limited.out.splitlines()[-1] == "(3 older run(s) not shown: see --limit)"
    assert carol_only(shown(run_cli("history", "orders", "--limit", "1", "--output", "json")))


def carol_only(data: dict[str, Any]) -> bool:
    return data["total"] == 4 and [r["actor"] for r in data["runs"]] == ["carol"]


def test_markdown_is_a_table_with_a_link_to_each_run(repo: Path, run_cli: Run) -> None:
    specs = git(repo, "rev-parse", "HEAD").strip()
    commit = apply_and_commit(run_cli, repo, specs, actor="@alice", url=URL.format(7))

    result = run_cli("history", "orders", "--output", "markdown")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == (
        "### `orders` in default: 1 run(s) from `state/default/orders.json` on `HEAD`, newest first"
    )
    assert lines[2].startswith("| Started | Ended | Status | Attempts | Digest | Specs |")
    row = lines[4]
    assert f"`{commit[:12]}`" in row
    assert f"`{specs[:12]}`" in row
    assert f"[run]({URL.format(7)})" in row
    assert "@\u200b" in row or "@&#8203;" in row  # no mention
    assert row.count("|") == 12


def test_history_on_the_state_branch(
    repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "state_branch" not in GitConfig.model_fields:
        pytest.skip("git.stateBranch is not in this version's settings yet (issue 16, core)")
    specs = git(repo, "rev-parse", "HEAD").strip()
    recorded = apply_and_commit(run_cli, repo, specs, actor="alice")
    # The state commits reach the state branch by plain git; main keeps only the specs.
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/reconciler/state")
    git(repo, "reset", "-q", "--hard", specs)
    with (repo / "reconciler.yaml").open("a", encoding="utf-8") as config:
        config.write("git:\n  stateBranch: reconciler/state\n")
    monkeypatch.delenv("RECONCILER_ENV", raising=False)

    data = shown(run_cli("history", "orders", "--output", "json"))

    assert data["ref"] == "origin/reconciler/state"
    assert [(r["commit"], r["actor"], r["status"]) for r in data["runs"]] == [
        (recorded, "alice", "COMPLETE")
    ]
    # A remote without the branch: said plainly, exit 1.
    git(Path(git(repo, "remote", "get-url", "origin").strip()), "branch", "-D", "reconciler/state")
    missing = run_cli("history", "orders")
    assert missing.code == 1
    assert missing.err.startswith(
        "error: no state branch yet: 'origin' has no branch 'reconciler/state'"
    )


def test_hostile_commit_messages_and_trailers_are_inert(repo: Path, run_cli: Run) -> None:
    specs = git(repo, "rev-parse", "HEAD").strip()
    assert run_cli("apply").code == 0
    assert run_cli("commit", "--no-push").code == 0
    message = (
        "\x1b[2J::error::subject\r::warning::x\n\n"
        "::error file=a,line=1::body\x07\n##[error]legacy\n\n"
        f"Reconciler-Specs-Commit: {specs}\n"
        "Reconciler-Actor: ::error::actor\x1b]0;owned\x07 ##[set-output name=x]y\n"
        "Reconciler-Pull-Requests: 3 ; rm -rf / 4\n"
        "Reconciler-Run-URL: javascript:alert(1)//actions/runs/1\n"
    )
    git(repo, *IDENTITY, "commit", "-q", "--amend", "--cleanup=verbatim", "-m", message)

    for output in ("text", "json", "markdown"):
        result = run_cli("history", "orders", "--output", output)
        assert result.code == 0, result.err
        assert not {"\x1b", "\x07", "\r"} & set(result.out)
        assert not any(line.lstrip().startswith("::") for line in result.out.splitlines())
        assert "##[" not in result.out
    data = shown(run_cli("history", "orders", "--output", "json"))
    (run,) = data["runs"]
    assert run["specsCommit"] == specs
    assert run["pullRequests"] == [3, 4]
    assert run["actor"].startswith("::error::actor")  # the value, kept; JSON keeps it a string
    markdown = run_cli("history", "orders", "--output", "markdown").out
    assert "](javascript" not in markdown  # not a run URL: shown as text, never a link


def test_unreadable_and_removed_versions_are_rows_not_crashes(repo: Path, run_cli: Run) -> None:
    specs = git(repo, "rev-parse", "HEAD").strip()
    good = apply_and_commit(run_cli, repo, specs, actor="alice")
    path = repo / "state/default/orders.json"
    saved = path.read_bytes()
    versions = {
        "not json": b'{"torn',
        "newer": json.dumps({"schemaVersion": 99, "name": "orders"}).encode(),
        "other": saved.replace(b'"name": "orders"', b'"name": "inventory"'),
    }
    commits = {}
    for why, contents in versions.items():
        path.write_bytes(contents)
        git(repo, *IDENTITY, "commit", "-q", "-am", f"bad state: {why}")
        commits[why] = git(repo, "rev-parse", "HEAD").strip()
    git(repo, *IDENTITY, "rm", "-q", str(path))
    git(repo, *IDENTITY, "commit", "-q", "-m", "forget orders")
    removed = git(repo, "rev-parse", "HEAD").strip()
    path.write_bytes(saved)
    git(repo, *IDENTITY, "add", str(path))
    git(repo, *IDENTITY, "commit", "-q", "-m", "restore orders")
    restored = git(repo, "rev-parse", "HEAD").strip()

    data = shown(run_cli("history", "orders", "--output", "json"))

    rows = [(r["source"], r["commit"]) for r in data["runs"]]
    assert rows == [  # commit order: the run's row stands where it was last recorded
        ("state", restored),
        ("removed", removed),
        ("unreadable", commits["other"]),
        ("unreadable", commits["newer"]),
        ("unreadable", commits["not json"]),
    ]
    assert data["runs"][0]["commits"] == [restored, good]  # one run, recorded twice
    problems = [r["problem"] for r in data["runs"][2:]]
    where = "state/default/orders.json at "
    assert problems[0] == f"{where}{commits['other'][:12]} holds the state of 'inventory'"
    assert problems[1].startswith(f"{where}{commits['newer'][:12]}: written by a newer reconciler")
    assert problems[2].startswith(f"{where}{commits['not json'][:12]}: state file is not valid")
    text = run_cli("history", "orders")
    assert text.code == 0
    assert f"  {commits['other'][:12]}: {problems[0]}" in text.out.splitlines()


def test_json_shape(repo: Path, run_cli: Run) -> None:
    specs = git(repo, "rev-parse", "HEAD").strip()
    apply_and_commit(run_cli, repo, specs, actor="alice", prs="12")

    data = shown(run_cli("history", "inventory", "--output", "json"))

    assert set(data) == {
        "formatVersion", "name", "environment", "ref", "path", "total", "cut", "runs"
    }  # fmt: skip
    (run,) = data["runs"]
    assert set(run) == RUN_KEYS
    assert (run["phase"], run["attempts"], run["problem"]) == ("final", 1, None)
    assert run["reviewed"] == "none"  # written by commit itself
    for key in ("requestId", "executionId", "attemptId", "digest", "planDigest"):
        assert isinstance(run[key], str)
        assert run[key]
    assert run["started"].endswith("Z")
    assert run["committedAt"].endswith("Z")


def test_an_unknown_name_suggests_close_ones(repo: Path, run_cli: Run) -> None:
    specs = git(repo, "rev-parse", "HEAD").strip()
    apply_and_commit(run_cli, repo, specs)

    result = run_cli("history", "ordrs")

    assert result.code == 1
    assert result.err == (
        "error: no such execution in state history: 'ordrs' (state/default/ordrs.json on "
        "HEAD); did you mean orders?\n"
    )
    bad = run_cli("history", "../orders")
    assert bad.code == 1
    assert bad.err.startswith("error: '../orders' is not an execution name; expected lowercase")


def test_outside_a_git_checkout_is_a_clear_error(tmp_path: Path, run_cli: Run) -> None:
    folder = tmp_path / "plain"
    build_tree(folder, {"reconciler.yaml": "version: 1\n"})
    os.chdir(folder)

    result = run_cli("history", "orders")

    assert result.code == 1
    assert result.err == f"error: {folder} is not inside a git checkout\n"


def test_a_commit_dated_beyond_year_9999_is_shown_not_a_crash(repo: Path, run_cli: Run) -> None:
    specs = git(repo, "rev-parse", "HEAD").strip()
    apply_and_commit(run_cli, repo, specs, actor="alice")
    # A crafted commit (git itself refuses such a date): written with plumbing, as a forger would.
    head = git(repo, "rev-parse", "HEAD").strip()
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    body = (
        f"tree {tree}\nparent {head}\n"
        "author x <x@example.com> 999999999999 +0000\n"
        "committer x <x@example.com> 999999999999 +0000\n\nfrom the far future\n"
    )
    path = repo / "state/default/orders.json"
    path.write_bytes(path.read_bytes().replace(b'"orders"', b'"orders" ', 1))
    git(repo, *IDENTITY, "commit", "-q", "-am", "a touch")
    touched = git(repo, "rev-parse", "HEAD^{tree}").strip()
    body = body.replace(f"tree {tree}", f"tree {touched}")
    forged = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
        cwd=repo, input=body, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    git(repo, "reset", "-q", "--hard", forged)

    data = shown(run_cli("history", "orders", "--output", "json"))

    assert data["runs"][0]["commit"] == forged
    assert data["runs"][0]["committedAt"].startswith("9999-12-31T23:59:59")
