"""``reconciler github reviewed-plan --output-dir``: every pull request merged since a commit.

A real git history in the test's folder (squash merges, a direct push, a merge commit whose
branch brought commits of its own, a rebase merge of two commits) and the GitHub stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, git
from tests.github.conftest import FakeGitHub
from tests.github.test_comment import plan_file, submit

Run = Callable[..., CliResult]
HEAD = "d" * 40


def commit(root: Path, message: str) -> str:
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.name", "test")
    git(tmp_path, "config", "user.email", "test@example.com")
    return tmp_path


def reviewed_pull(
    gh: FakeGitHub,
    run_cli: Run,
    number: int,
    merge_sha: str,
    run_id: int,
    actions: list[dict[str, Any]],
    *,
    artifact: str = "reconciler-plan-default",
    environment: str = "default",
    **pull: Any,
) -> bytes:
    """Pull request ``number`` merged as ``merge_sha``, its plan run's artifact, the comment."""
    gh.add_pull(number, HEAD, merge_sha=merge_sha, merged=True, **pull)
    plan = plan_file(Path(f"plan-{number}-{environment}.json"), actions, environment=environment)
    data = plan.read_bytes()
    gh.add_artifact(run_id, artifact, {"plan.json": data})
    posted = run_cli(
        "github", "comment", "--plan", str(plan), "--pr", str(number), "--run-id", str(run_id)
    )
    assert posted.code == 0, posted.err
    return data


def collect(run_cli: Run, since: str, tip: str, *extra: str) -> CliResult:
    return run_cli(
        "github", "reviewed-plan", "--since", since, "--sha", tip, "--output-dir", "out", *extra
    )


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_pull_request_merged_since_the_commit(
    gh: FakeGitHub, run_cli: Run, repo: Path
) -> None:
    base = commit(repo, "base")
    squash = commit(repo, "orders (#12)")
    direct = commit(repo, "a direct push")
    git(repo, "checkout", "-q", "-b", "feature")
    side = [commit(repo, "side one"), commit(repo, "side two")]
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge pull request #15", "feature")
    merge = git(repo, "rev-parse", "HEAD").strip()
    unplanned = commit(repo, "docs (#16)")
    rebased = [commit(repo, "inv one"), commit(repo, "inv two")]

    p12 = reviewed_pull(gh, run_cli, 12, squash, 501, [submit("orders")], merged_by="alice")
    p15 = reviewed_pull(
        gh, run_cli, 15, merge, 502, [submit("payroll")], artifact="reconciler-plan"
    )
    gh.add_pull(16, HEAD, merge_sha=unplanned, merged=True)
    p17 = reviewed_pull(
        gh, run_cli, 17, rebased[1], 504, [submit("inv")], contains=(rebased[0],), title="Inv"
    )
    gh.requests.clear()

    result = collect(run_cli, base, rebased[1])

    assert result.code == 0, result.err
    out = Path("out")
    assert sorted(p.name for p in out.iterdir()) == [
        "missing.meta.json",
        "pr-12.json",
        "pr-12.meta.json",
        "pr-15.json",
        "pr-15.meta.json",
        "pr-17.json",
        "pr-17.meta.json",
    ]
    assert (out / "pr-12.json").read_bytes() == p12
    assert (out / "pr-15.json").read_bytes() == p15  # the old artifact name, as a fallback
    assert (out / "pr-17.json").read_bytes() == p17
    assert read(out / "pr-12.meta.json") == {
        "number": 12,
        "url": "https://github.com/acme/specs/pull/12",
        "mergedBy": "alice",
        "headSha": HEAD,
        "title": "Change 12",
        "commit": squash,
        "planDigest": json.loads(p12)["planDigest"],
    }
    assert read(out / "pr-17.meta.json")["commit"] == rebased[0]
    assert read(out / "pr-17.meta.json")["title"] == "Inv"
    assert read(out / "missing.meta.json") == {
        "since": base,
        "tip": rebased[1],
        "cutAt": None,
        "commits": [
            {
                "commit": direct,
                "pullRequest": None,
                "reason": f"no merged pull request for commit {direct[:12]}",
            },
            {
                "commit": unplanned,
                "pullRequest": 16,
                "reason": "pull request #16 has no plan comment for default by github-actions[bot]",
            },
        ],
    }
    lines = result.out.splitlines()
    assert lines[-1] == (
        f"3 reviewed plans (default) of 6 merged commits since {base[:12]} written to out; "
        "2 without one, listed in out/missing.meta.json"
    )
    assert lines[0].startswith("reviewed plan of pull request #12 (default, sha256:")
    assert result.err.splitlines() == [
        f"notice: no reviewed plan for commit {direct[:12]}: no merged pull request for commit "
        f"{direct[:12]}",
        f"notice: no reviewed plan for commit {unplanned[:12]}: pull request #16 has no plan "
        "comment for default by github-actions[bot]",
    ]
    # first parent only: the feature branch's own commits are not asked about
    asked = [r.path.split("/")[5] for r in gh.calls("GET", r"/commits/[0-9a-f]{40}/pulls$")]
    assert asked == [squash, direct, merge, unplanned, *rebased]
    assert not set(side) & set(asked)
    # one pull request read once, even when two commits are its
    assert [r.path for r in gh.calls("GET", r"/pulls/\d+$")] == [
        f"/repos/acme/specs/pulls/{n}" for n in (12, 15, 16, 17)
    ]


def test_the_walk_is_bounded(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    base = commit(repo, "base")
    pushed = [commit(repo, f"push {i}") for i in range(5)]
    result = collect(run_cli, base, pushed[-1], "--max-commits", "3")
    assert result.code == 0, result.err
    asked = [r.path.split("/")[5] for r in gh.calls("GET", r"/commits/[0-9a-f]{40}/pulls$")]
    assert asked == pushed[2:], "the newest three"
    assert (
        "warning: more than 3 commits merged since "
        f"{base[:12]}: only the newest 3 were read, no review of the older ones is collected"
    ) in result.err.splitlines()
    missing = read(Path("out/missing.meta.json"))
    assert missing["cutAt"] == 3
    assert [c["commit"] for c in missing["commits"]] == pushed[2:]


def test_without_since_only_the_tips_pull_request(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    commit(repo, "base")
    tip = commit(repo, "orders (#12)")
    reviewed_pull(gh, run_cli, 12, tip, 501, [submit("orders")])
    result = run_cli("github", "reviewed-plan", "--sha", tip, "--output-dir", "out")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        f"1 reviewed plan (default) of 1 merged commit as {tip[:12]} written to out"
    )
    assert read(Path("out/missing.meta.json"))["commits"] == []


def test_nothing_merged_since_the_tip(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    tip = commit(repo, "base")
    result = collect(run_cli, tip, tip)
    assert result.code == 0, result.err
    assert (
        result.out
        == f"0 reviewed plans (default) of 0 merged commits since {tip[:12]} written to out\n"
    )
    assert gh.requests == []
    assert sorted(p.name for p in Path("out").iterdir()) == ["missing.meta.json"]


def test_earlier_plans_in_the_folder_are_replaced(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "push")
    out = Path("out")
    out.mkdir()
    for name in ("pr-3.json", "pr-3.meta.json", "missing.meta.json", "notes.txt"):
        (out / name).write_text("{}", encoding="utf-8")
    assert collect(run_cli, base, tip).code == 0
    assert sorted(p.name for p in out.iterdir()) == ["missing.meta.json", "notes.txt"]


def test_per_environment_plans_on_one_pull_request(
    gh: FakeGitHub, run_cli: Run, repo: Path
) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "orders (#12)")
    dev = reviewed_pull(
        gh, run_cli, 12, tip, 501, [submit("orders")], environment="dev",
        artifact="reconciler-plan-dev",
    )  # fmt: skip
    prod = plan_file(Path("plan-prod.json"), [submit("orders"), submit("inv")], environment="prod")
    gh.add_artifact(502, "reconciler-plan-prod", {"plan.json": prod.read_bytes()})
    posted = run_cli("github", "comment", "--plan", str(prod), "--pr", "12", "--run-id", "502")
    assert posted.code == 0, posted.err
    assert len(gh.comments_of(12)) == 2, "one plan comment per environment"
    for env, data in (("dev", dev), ("prod", prod.read_bytes())):
        result = collect(run_cli, base, tip, "--environment", env)
        assert result.code == 0, result.err
        assert Path("out/pr-12.json").read_bytes() == data


def test_hostile_pull_request_fields_stay_out_of_the_metadata(
    gh: FakeGitHub, run_cli: Run, repo: Path
) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "orders (#12)")
    title = "Fix @mallory <img src=x>\n::error title=x::pwned " + "x" * 500
    reviewed_pull(gh, run_cli, 12, tip, 501, [submit("orders")], title=title)
    gh.pulls[12]["html_url"] = "javascript:alert(1)"
    gh.pulls[12]["merged_by"] = {"login": "evil\n::error::x"}
    gh.pulls[12]["head"] = {"sha": "not a sha"}
    assert collect(run_cli, base, tip).code == 0
    meta = read(Path("out/pr-12.meta.json"))
    assert meta["url"] is None
    assert meta["mergedBy"] is None
    assert meta["headSha"] is None
    assert "\n" not in meta["title"]
    assert len(meta["title"]) == 200
    assert meta["title"].startswith("Fix @mallory <img src=x> ::error title=x::pwned xxx")


def test_a_hostile_plan_is_named_missing_and_printed_inert(
    gh: FakeGitHub, run_cli: Run, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = commit(repo, "base")
    tip = commit(repo, "orders (#12)")
    reviewed_pull(gh, run_cli, 12, tip, 501, [submit("orders")])
    gh.artifacts[501].clear()
    forged = {"environment": "default", "planDigest": "sha256:" + "0" * 64,
              "actions": [{"name": "x\n::error title=x::pwned", "action": "submit"}]}  # fmt: skip
    gh.add_artifact(501, "reconciler-plan-default", {"plan.json": json.dumps(forged).encode()})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "gh-output"))
    result = collect(run_cli, base, tip)
    assert result.code == 0, result.err
    assert not Path("out/pr-12.json").exists()
    [entry] = read(Path("out/missing.meta.json"))["commits"]
    assert entry["pullRequest"] == 12
    assert entry["reason"].startswith("pull request #12: reconciler-plan-default/plan.json:")
    for line in result.out.splitlines():
        assert not line.startswith("::error"), line
    notices = [line for line in result.out.splitlines() if line.startswith("::notice")]
    assert len(notices) == 1
    assert notices[0].endswith("got 'x\\n::error title=x::pwned'"), "quoted, one line"
    assert (tmp_path / "gh-output").read_text().splitlines() == [
        "found=false",
        "count=0",
        "prs=",
        "missing=1",
        "path=out",
    ]


def test_step_outputs_name_the_pull_requests(
    gh: FakeGitHub, run_cli: Run, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = commit(repo, "base")
    first = commit(repo, "orders (#12)")
    tip = commit(repo, "inv (#15)")
    reviewed_pull(gh, run_cli, 12, first, 501, [submit("orders")])
    reviewed_pull(gh, run_cli, 15, tip, 502, [submit("inv")])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "gh-output"))
    assert collect(run_cli, base, tip).code == 0
    assert (tmp_path / "gh-output").read_text().splitlines() == [
        "found=true",
        "count=2",
        "prs=12 15",
        "missing=0",
        "path=out",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--output", "x.json", "--output-dir", "out"), "expected one of --output FILE"),
        ((), "expected one of --output FILE"),
        (("--output", "x.json", "--since", "a" * 40), "--since and --since-applied need --outp"),
        (("--output", "x.json", "--since-applied"), "--since and --since-applied need --output"),
        (
            ("--output-dir", "out", "--since-applied", "--since", "a" * 40),
            "expected --since SHA or --since-applied, not both",
        ),
        (("--output-dir", "out", "--since", "HEAD~3"), "--since 'HEAD~3': expected 40"),
    ],
)
def test_options_are_checked_before_any_call(
    gh: FakeGitHub, run_cli: Run, repo: Path, args: tuple[str, ...], message: str
) -> None:
    tip = commit(repo, "base")
    result = run_cli("github", "reviewed-plan", "--sha", tip, *args)
    assert result.code == 1
    assert result.err.startswith(f"error: {message}")
    assert gh.requests == []


def test_a_since_that_is_not_an_ancestor(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    base = commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "other")
    other = commit(repo, "elsewhere")
    git(repo, "checkout", "-q", "main")
    tip = commit(repo, "push")
    result = collect(run_cli, other, tip)
    assert result.code == 1
    assert result.err == (
        f"error: --since {other[:12]} is not an ancestor of --sha {tip[:12]}: the history was "
        "rewritten, or the commits are swapped\n"
    )
    unknown = "0123456789" * 4
    result = collect(run_cli, unknown, tip)
    assert result.code == 1
    assert result.err == (
        f"error: --since {unknown}: no such commit in this checkout; fetch the whole history "
        "(actions/checkout with fetch-depth: 0)\n"
    )
    assert collect(run_cli, base, tip).code == 0
    assert gh.calls("GET", f"/commits/{tip}/pulls")


def test_outside_a_git_checkout(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    result = collect(run_cli, "a" * 40, "b" * 40)
    assert result.code == 1
    assert result.err.startswith("error: ")
    assert "is not inside a git checkout" in result.err
    assert gh.requests == []


def test_since_the_last_recorded_apply(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    commit(repo, "base")
    first = commit(repo, "orders (#12)")
    git(
        repo, "commit", "-q", "--allow-empty", "-m",
        f"reconciler: apply\n\nReconciler-Environment: default\nReconciler-Specs-Commit: {first}",
    )  # fmt: skip
    tip = commit(repo, "inv (#15)")
    reviewed_pull(gh, run_cli, 12, first, 501, [submit("orders")])
    reviewed_pull(gh, run_cli, 15, tip, 502, [submit("inv")])
    result = run_cli(
        "github", "reviewed-plan", "--since-applied", "--sha", tip, "--output-dir", "out"
    )
    assert result.code == 0, result.err
    assert sorted(p.name for p in Path("out").glob("pr-*")) == ["pr-15.json", "pr-15.meta.json"]
    assert result.out.splitlines()[-1].startswith(
        f"1 reviewed plan (default) of 2 merged commits since {first[:12]} written to out; "
        "1 without one"  # the state commit of the apply itself
    )
    # no apply of another environment is recorded: every merge of the tip's history
    prod = plan_file(Path("plan-prod.json"), [submit("inv")], environment="prod")
    gh.add_artifact(503, "reconciler-plan-prod", {"plan.json": prod.read_bytes()})
    assert (
        run_cli("github", "comment", "--plan", str(prod), "--pr", "15", "--run-id", "503").code == 0
    )
    result = run_cli(
        "github", "reviewed-plan", "--since-applied", "--sha", tip, "--output-dir", "out",
        "--environment", "prod",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == (
        "notice: no apply of prod is recorded yet: every merge in the history of the tip is read"
    )
    assert sorted(p.name for p in Path("out").glob("pr-*")) == ["pr-15.json", "pr-15.meta.json"]
    assert Path("out/pr-15.json").read_bytes() == prod.read_bytes()


def test_a_last_apply_outside_the_tips_history(gh: FakeGitHub, run_cli: Run, repo: Path) -> None:
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "elsewhere")
    other = commit(repo, "elsewhere")
    git(repo, "checkout", "-q", "main")
    git(
        repo, "commit", "-q", "--allow-empty", "-m",
        f"reconciler: apply\n\nReconciler-Environment: default\nReconciler-Specs-Commit: {other}",
    )  # fmt: skip
    tip = commit(repo, "inv (#15)")
    result = run_cli(
        "github", "reviewed-plan", "--since-applied", "--sha", tip, "--output-dir", "out"
    )
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == (
        f"notice: the last apply of default ran from {other[:12]}, which is not in the history "
        f"of {tip[:12]}: every merge in the history of the tip is read"
    )
    walked = git(repo, "rev-list", "--first-parent", "--reverse", tip).split()
    assert [r.path.split("/")[5] for r in gh.calls("GET", "/pulls$")] == walked


def test_a_last_apply_from_a_commit_this_checkout_lacks(
    gh: FakeGitHub, run_cli: Run, repo: Path
) -> None:
    commit(repo, "base")
    unknown = "1234567890abcdef1234567890abcdef12345678"  # applied from a commit never pushed
    git(
        repo, "commit", "-q", "--allow-empty", "-m",
        f"reconciler: apply\n\nReconciler-Environment: default\nReconciler-Specs-Commit: {unknown}",
    )  # fmt: skip
    tip = commit(repo, "inv (#15)")
    result = run_cli(
        "github", "reviewed-plan", "--since-applied", "--sha", tip, "--output-dir", "out"
    )
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == (
        f"notice: the last apply of default ran from {unknown[:12]}, which this checkout does "
        "not have: every merge in the history of the tip is read"
    )
    walked = git(repo, "rev-list", "--first-parent", "--reverse", tip).split()
    assert [r.path.split("/")[5] for r in gh.calls("GET", "/pulls$")] == walked
