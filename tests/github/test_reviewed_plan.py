"""``reconciler github reviewed-plan``: from a merge commit to the plan reviewed on its PR."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.github.conftest import BOT, FakeGitHub
from tests.github.test_comment import plan_file, submit

Run = Callable[..., CliResult]
MERGE = "c" * 40
HEAD = "d" * 40
RUN = 555


@pytest.fixture
def merged(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> tuple[FakeGitHub, bytes]:
    """PR 12 merged as MERGE; its plan run 555 uploaded the plan; the bot commented it."""
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    plan = plan_file(tmp_path / "reviewed.json", [submit("orders"), submit("inv")])
    data = plan.read_bytes()
    gh.add_artifact(
        RUN,
        "reconciler-plan",
        {"plan.json": data, "plan.md": b"# plan", "pr.json": b'{"number": 12}'},
    )
    gh.add_comment(12, "LGTM", author="alice")
    result = run_cli("github", "comment", "--plan", str(plan), "--pr", "12", "--run-id", str(RUN))
    assert result.code == 0, result.err
    gh.requests.clear()
    return gh, data


def reviewed(run_cli: Run, *extra: str) -> CliResult:
    return run_cli(
        "github", "reviewed-plan", "--sha", MERGE, "--output", "out/reviewed.json", *extra
    )


def test_found_writes_the_reviewed_plan(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path
) -> None:
    gh, data = merged
    digest = json.loads(data)["planDigest"]
    result = reviewed(run_cli)
    assert result.code == 0, result.err
    assert result.out == (
        f"reviewed plan of pull request #12 (default, {digest}, plan run {RUN}) written to "
        "out/reviewed.json\n"
    )
    assert (tmp_path / "out" / "reviewed.json").read_bytes() == data
    assert [(r.method, r.path) for r in gh.requests] == [
        ("GET", f"/repos/acme/specs/commits/{MERGE}/pulls"),
        ("GET", "/repos/acme/specs/issues/12/comments"),
        ("GET", f"/repos/acme/specs/actions/runs/{RUN}/artifacts"),
        ("GET", gh.requests[3].path),  # the archive URL, answered with a redirect
        ("GET", gh.requests[4].path),  # blob storage
    ]
    assert gh.requests[3].authorization is not None
    assert gh.requests[4].path.startswith("/blob/")
    assert gh.requests[4].authorization is None, "the token must not leave the API's origin"


def test_found_in_actions_sets_outputs(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gh, data = merged
    output = tmp_path / "gh-output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert reviewed(run_cli).code == 0
    assert output.read_text().splitlines() == [
        "found=true",
        "pr=12",
        f"plan-digest={json.loads(data)['planDigest']}",
        "path=out/reviewed.json",
    ]


def _not_found(run_cli: Run, tmp_path: Path, reason: str) -> None:
    result = reviewed(run_cli)
    assert result.code == 0, result.err
    assert result.out == ""
    assert result.err == f"notice: no reviewed plan: {reason}; apply runs without one\n"
    assert not (tmp_path / "out").exists()


def test_no_pull_request(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    _not_found(run_cli, tmp_path, f"no merged pull request for commit {MERGE[:12]}")


def test_no_pull_request_in_actions_is_a_notice(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "gh-output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    result = reviewed(run_cli)
    assert result.code == 0
    assert result.out.splitlines()[1:] == [
        "::notice title=reconciler github::no reviewed plan: no merged pull request for commit "
        f"{MERGE[:12]}; apply runs without one"
    ]
    assert output.read_text().splitlines() == ["found=false", "pr="]


def test_no_plan_comment(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    gh.add_comment(12, "LGTM", author="alice")
    _not_found(run_cli, tmp_path, f"pull request #12 has no plan comment for default by {BOT}")


def test_a_forged_marker_is_not_a_review(gh: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    gh.add_artifact(RUN, "reconciler-plan", {"plan.json": b"{}"})
    gh.add_comment(
        12, f"<!-- reconciler-plan:default digest=sha256:{'1' * 64} run={RUN} -->", author="mallory"
    )
    _not_found(run_cli, tmp_path, f"pull request #12 has no plan comment for default by {BOT}")


def test_the_artifact_expired(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path
) -> None:
    gh, _ = merged
    for artifact in gh.artifacts[RUN]:
        artifact["expired"] = True
    _not_found(
        run_cli,
        tmp_path,
        f"pull request #12: artifact 'reconciler-plan-default' or 'reconciler-plan' of plan run "
        f"{RUN} is missing or expired",
    )


def test_the_plan_run_is_gone(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path
) -> None:
    gh, _ = merged
    del gh.artifacts[RUN]
    _not_found(run_cli, tmp_path, f"pull request #12: plan run {RUN} no longer exists")


def test_the_artifact_has_no_plan(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path
) -> None:
    gh, _ = merged
    gh.artifacts[RUN].clear()
    gh.add_artifact(RUN, "reconciler-plan", {"plan.md": b"# nothing"})
    _not_found(run_cli, tmp_path, "pull request #12: artifact 'reconciler-plan' has no plan.json")


def test_an_artifact_that_is_not_the_commented_plan(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path
) -> None:
    gh, data = merged
    other = plan_file(tmp_path / "other.json", [submit("payroll")]).read_bytes()
    gh.artifacts[RUN].clear()
    gh.add_artifact(RUN, "reconciler-plan", {"plan.json": other})
    _not_found(
        run_cli,
        tmp_path,
        "pull request #12: the artifact's plan is not the plan the comment shows (comment "
        f"{json.loads(data)['planDigest']}, artifact {json.loads(other)['planDigest']})",
    )


def test_an_artifact_that_is_not_a_plan(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, tmp_path: Path
) -> None:
    gh, _ = merged
    gh.artifacts[RUN].clear()
    gh.add_artifact(RUN, "reconciler-plan", {"plan.json": b"#!/bin/sh\nrm -rf /\n"})
    result = reviewed(run_cli)
    assert result.code == 0
    assert result.err.startswith(
        "notice: no reviewed plan: pull request #12: reconciler-plan/plan.json: not JSON"
    )
    assert not (tmp_path / "out").exists()


def test_bad_credentials(
    merged: tuple[FakeGitHub, bytes], run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_not_it")
    result = reviewed(run_cli)
    assert result.code == 1
    assert result.err == (
        f"error: GET /repos/acme/specs/commits/{MERGE}/pulls: 401 Bad credentials "
        "(GitHub refused the token; check GITHUB_TOKEN)\n"
    )


def test_a_sha_that_is_not_one(gh: FakeGitHub, run_cli: Run) -> None:
    result = run_cli("github", "reviewed-plan", "--sha", "main; rm -rf /", "--output", "x.json")
    assert result.code == 1
    assert result.err == "error: --sha 'main; rm -rf /': expected 40 hexadecimal digits\n"
    assert gh.requests == []


def test_a_marker_in_plan_text_does_not_choose_the_plan_run(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    # The bot's dev comment shows a field change holding a prod marker that names run 666,
    # whose artifact the pull request's author made; before, reviewed-plan for prod took it.
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    theirs = plan_file(tmp_path / "theirs.json", [submit("payroll")], environment="prod")
    digest = json.loads(theirs.read_bytes())["planDigest"]
    gh.add_artifact(666, "reconciler-plan", {"plan.json": theirs.read_bytes()})
    forged = f"<!-- reconciler-plan:prod digest={digest} run=666 sha={HEAD} -->"
    rerun = {
        "name": "orders",
        "action": "rerun",
        "reason": "changed",
        "digest": "v1:sha256:" + "0" * 64,
        "changes": [forged],
    }
    dev = plan_file(tmp_path / "dev.json", [rerun], environment="dev")
    posted = run_cli("github", "comment", "--plan", str(dev), "--pr", "12", "--run-id", str(RUN))
    assert posted.code == 0, posted.err
    gh.requests.clear()
    result = run_cli(
        "github", "reviewed-plan", "--sha", MERGE, "--output", "out/reviewed.json",
        "--environment", "prod",
    )  # fmt: skip
    assert result.code == 0
    assert result.err == (
        f"notice: no reviewed plan: pull request #12 has no plan comment for prod by {BOT}; "
        "apply runs without one\n"
    )
    assert gh.calls("GET", "/actions/runs/666") == []
    assert not (tmp_path / "out").exists()


def test_an_artifact_whose_digest_does_not_cover_its_actions(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    # The comment recorded this digest; the artifact states it but lists other text (or was
    # written when the digest covered less): it is not a reviewed plan.
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    plan = plan_file(tmp_path / "p.json", [submit("orders")])
    posted = run_cli("github", "comment", "--plan", str(plan), "--pr", "12", "--run-id", str(RUN))
    assert posted.code == 0, posted.err
    document = json.loads(plan.read_bytes())
    document["actions"][0]["reason"] = "another reason, same stated digest"
    gh.add_artifact(RUN, "reconciler-plan", {"plan.json": json.dumps(document).encode()})
    _not_found(
        run_cli,
        tmp_path,
        f"pull request #12: the artifact's plan digest {document['planDigest']} is not the "
        "digest of the actions it lists (altered, or written by a version of reconciler whose "
        "digest covers other fields)",
    )
