"""``reconciler github comment`` against the GitHub stand-in: one sticky comment, kept safe."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.github.comment import COMMENT_LIMIT, PlanAction, PlanDocument
from reconciler.model import ActionKind
from tests.conftest import CliResult
from tests.github.conftest import BOT, TOKEN, FakeGitHub

Run = Callable[..., CliResult]
HEAD = "a" * 40
DIGEST_RE = r"sha256:[0-9a-f]{64}"


def plan_file(
    path: Path, actions: list[dict[str, Any]], *, environment: str = "default", digest: str = ""
) -> Path:
    """A plan document like ``plan --output json`` writes, with a consistent digest."""
    doc = PlanDocument(
        environment=environment,
        digest="sha256:" + "0" * 64,
        actions=tuple(
            PlanAction(
                a["name"],
                ActionKind(a["action"]),
                a.get("reason", ""),
                a.get("digest"),
                tuple(a.get("changes", [])),
            )
            for a in actions
        ),
    )
    payload = {
        "formatVersion": 1,
        "environment": environment,
        "hasChanges": doc.has_changes,
        "planDigest": digest or doc.computed_digest(),
        "summary": doc.counts(),
        "actions": actions,
    }
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def run_digest(name: str) -> str:
    return f"v1:sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def submit(name: str, reason: str = "never run", **extra: Any) -> dict[str, Any]:
    return {"name": name, "action": "submit", "reason": reason, "digest": run_digest(name), **extra}


def ours(gh: FakeGitHub, pr: int) -> list[dict[str, Any]]:
    return [c for c in gh.comments_of(pr) if "<!-- reconciler-plan:" in c["body"]]


def test_creates_the_comment_with_marker_and_digest(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    plan = plan_file(
        tmp_path / "plan.json",
        [submit("orders"), {"name": "inv", "action": "noop", "reason": "up to date"}],
    )
    digest = json.loads(plan.read_text())["planDigest"]
    url = "https://github.com/acme/specs/actions/runs/555"
    gh.add_pull(7, HEAD)
    result = run_cli(
        "github", "comment", "--plan", str(plan), "--pr", "7",
        "--run-id", "555", "--head-sha", HEAD, "--details-url", url,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == "plan comment created on pull request #7 (default)\n"
    [comment] = ours(gh, 7)
    assert comment["body"] == (
        f"<!-- reconciler-plan:default digest={digest} run=555 sha={HEAD} -->\n"
        "### reconciler plan: `default`\n\n"
        "**1 to submit, 1 up to date**\n\n"
        "| | Execution | Action | Reason |\n|---|---|---|---|\n"
        "| + | `orders` | submit | never run |\n\n"
        "<details><summary>1 with nothing to do (for information: the plan digest covers only "
        "what changes)</summary>\n\n"
        "| | Execution | Action | Reason |\n|---|---|---|---|\n"
        "| = | `inv` | noop | up to date |\n\n"
        "</details>\n\n"
        f"Plan digest: `{digest}`\n\n"
        f"<sub>head `{HEAD[:12]}` · [full plan and artifact]({url})</sub>\n"
    )


@pytest.fixture
def pr7(gh: FakeGitHub) -> FakeGitHub:
    gh.add_pull(7, HEAD)
    return gh


def run_comment(run_cli: Run, plan: Path, *extra: str) -> CliResult:
    return run_cli(
        "github", "comment", "--plan", str(plan), "--pr", "7", "--head-sha", HEAD, *extra
    )


def test_found_by_marker_across_pages_and_updated_in_place(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    gh = pr7
    for i in range(240):
        gh.add_comment(7, f"comment {i}")
    first = run_comment(run_cli, plan_file(tmp_path / "a.json", [submit("orders")]))
    assert first.code == 0
    for i in range(15):  # ours is now on the third page of 100
        gh.add_comment(7, f"later {i}")
    gh.requests.clear()
    second = run_comment(run_cli, plan_file(tmp_path / "b.json", [submit("orders"), submit("inv")]))
    assert second.code == 0, second.err
    assert second.out == "plan comment updated on pull request #7 (default)\n"
    pages = [r.query for r in gh.calls("GET", r"/issues/7/comments$")]
    assert pages == ["per_page=100", "per_page=100&page=2", "per_page=100&page=3"]
    assert gh.calls("POST") == []
    [patch] = gh.calls("PATCH")
    [comment] = ours(gh, 7)
    assert patch.path == f"/repos/acme/specs/issues/comments/{comment['id']}"
    assert "`inv`" in comment["body"]
    assert len(gh.comments_of(7)) == 256


def test_repeated_runs_leave_exactly_one_comment(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    plans = [[submit("a")], [submit("a"), submit("b")], [submit("b")]]
    for index, actions in enumerate(plans):
        assert run_comment(run_cli, plan_file(tmp_path / f"{index}.json", actions)).code == 0
    again = run_comment(run_cli, tmp_path / "2.json")
    assert again.out == "plan comment unchanged on pull request #7 (default)\n"
    [comment] = ours(pr7, 7)
    assert comment["user"]["login"] == BOT
    assert "`b`" in comment["body"]
    assert "`a`" not in comment["body"]
    assert len(pr7.calls("POST")) == 1
    assert len(pr7.calls("PATCH")) == 2


def test_one_comment_per_environment(pr7: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    for env in ("dev", "prod", "dev"):
        plan = plan_file(tmp_path / f"{env}.json", [submit("a")], environment=env)
        assert run_comment(run_cli, plan).code == 0
    bodies = sorted(c["body"].splitlines()[0].split(" digest=")[0] for c in ours(pr7, 7))
    assert bodies == ["<!-- reconciler-plan:dev", "<!-- reconciler-plan:prod"]


def test_a_marker_in_someone_elses_comment_is_not_ours(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    forged = f"<!-- reconciler-plan:default digest=sha256:{'1' * 64} run=1 -->\nall fine"
    forged_id = pr7.add_comment(7, forged, author="mallory")
    assert run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")])).code == 0
    [theirs, mine] = ours(pr7, 7)
    assert (theirs["id"], theirs["body"]) == (forged_id, forged)
    assert mine["user"]["login"] == BOT


def test_the_comment_is_capped_with_a_pointer_to_the_full_plan(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    actions = [
        submit(f"run-{i:04d}", "x" * 250, changes=[f"dynamicProperties.K: {'y' * 300}"])
        for i in range(2000)
    ]
    plan = plan_file(tmp_path / "big.json", actions)
    url = "https://github.com/acme/specs/actions/runs/9"
    assert run_comment(run_cli, plan, "--details-url", url).code == 0
    [comment] = ours(pr7, 7)
    body = comment["body"]
    assert len(body) <= COMMENT_LIMIT
    shown = len(re.findall(r"^\| \+ \| `run-", body, flags=re.MULTILINE))
    assert 0 < shown < 2000
    assert f"_… {2000 - shown} more executions and the changes of 2000 not shown here" in body
    assert f"see the [full plan]({url})._" in body
    assert re.search(f"Plan digest: `{DIGEST_RE}`", body)


def test_hostile_plan_text_is_inert(pr7: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    hostile = (
        "@octocat please see #1 and acme/specs#2 <img src=x onerror=alert(1)> "
        "[click](https://evil.example/x) **bold** `code` www.evil.example | split\n"
        "::error::injected\r</details><!-- reconciler-plan:default -->"
    )
    actions = [
        submit("orders", hostile, changes=["a: ``` closed?", "```", "</details> <b>x</b> @all"]),
        {"name": "n", "action": "rerun", "reason": hostile, "digest": run_digest("n")},
    ]
    assert run_comment(run_cli, plan_file(tmp_path / "p.json", actions)).code == 0
    [comment] = ours(pr7, 7)
    body = comment["body"]
    lines = body.splitlines()
    text_lines = [line for line in lines if not line.startswith(("~ ", "`"))]  # outside fences
    # code spans are inert on GitHub (no mention, link or HTML): look at the text around them
    outside = re.sub(r"`[^`\n]*`", "", "\n".join(text_lines))
    assert not re.search(r"@\w", outside), "a mention would notify someone"
    assert not re.search(r"(?<![\\&])#\d", outside), "an issue reference would link"
    assert "<img" not in body
    assert "<b>" not in outside
    assert "https://evil" not in outside
    assert "www.evil" not in outside
    assert "](https" not in outside.replace("](https://github.com", "")
    assert not any(line.startswith("::") for line in lines)
    # one marker only, and rows stay rows: each hostile reason is one table line
    assert len(re.findall(r"<!-- reconciler-plan:", body)) == 1
    assert len([line for line in lines if line.startswith("| ")]) == 3
    # the change lines sit in a fence no change line can close
    fences = [line for line in lines if line.startswith("```")]
    assert fences
    assert all(len(re.match(r"`+", f)[0]) >= 4 for f in fences)  # type: ignore[index]
    assert [line for line in lines if "details>" in line and not line.startswith("~ ")] == [
        "<details><summary><code>orders</code> changes</summary>",
        "</details>",
    ]


def test_not_posted_when_the_pull_request_moved_on(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    gh.add_pull(7, "b" * 40)
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 0
    assert result.out == (
        f"pull request #7 is now at {'b' * 12}, not {HEAD[:12]}: this plan is not posted "
        "(the newer one will be)\n"
    )
    assert gh.comments_of(7) == []


def test_an_inconsistent_digest_is_shown_and_not_recorded(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path / "p.json", [submit("a")], digest="sha256:" + "f" * 64)
    result = run_comment(run_cli, plan)
    assert result.code == 0
    assert "the plan's digest does not match its actions" in result.err
    [comment] = ours(pr7, 7)
    assert comment["body"].startswith("<!-- reconciler-plan:default digest=none sha=")
    assert "[!CAUTION]" in comment["body"]
    assert "Plan digest:" not in comment["body"]


def test_transient_failures_are_retried(pr7: FakeGitHub, run_cli: Run, tmp_path: Path) -> None:
    pr7.fault("GET", r"/issues/7/comments$", 502)
    pr7.fault(
        "POST",
        r"/issues/7/comments$",
        403,
        headers={"retry-after": "0"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 0, result.err
    assert len(ours(pr7, 7)) == 1
    assert len(pr7.calls("POST")) == 2


def test_a_failed_post_is_checked_before_posting_again(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    pr7.fault("POST", r"/issues/7/comments$", 500)
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 0, result.err
    methods = [r.method for r in pr7.requests if "comments" in r.path]
    assert methods == ["GET", "POST", "GET", "POST"]
    assert len(ours(pr7, 7)) == 1


def test_bad_credentials_are_one_line_without_the_token(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrong_token_value")
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 1
    assert result.err == (
        "error: GET /repos/acme/specs/pulls/7: 401 Bad credentials "
        "(GitHub refused the token; check GITHUB_TOKEN)\n"
    )
    assert "ghs_wrong" not in result.out + result.err


def test_forbidden_names_the_permission_problem(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    pr7.fault(
        "POST", r"/comments$", 403, body={"message": "Resource not accessible by integration"}
    )
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 1
    assert result.err == (
        "error: POST /repos/acme/specs/issues/7/comments: 403 Resource not accessible by "
        "integration (the token lacks a permission this needs; see the workflow's permissions:)\n"
    )


def test_missing_token(
    gh: FakeGitHub, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 1
    assert result.err.startswith("error: GITHUB_TOKEN is not set; ")
    assert gh.requests == []


def test_in_actions_the_token_is_masked_first_and_outputs_written(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 0
    assert result.out.splitlines()[0] == f"::add-mask::{TOKEN}"
    [comment] = ours(pr7, 7)
    assert output.read_text().splitlines() == [f"comment-id={comment['id']}", "result=created"]


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("{", (), "p.json: not JSON"),
        ('{"environment": "prod", "planDigest": "x", "actions": []}', (), "planDigest: expected"),
        (None, ("--environment", "staging"), "the plan is for default, not staging"),
        (None, ("--details-url", "javascript:alert(1)"), "--details-url 'javascript:alert(1)'"),
        (None, ("--environment", "Bad Env"), "environment 'Bad Env' is not a valid name"),
    ],
)
def test_bad_input_is_a_one_line_error(
    gh: FakeGitHub,
    run_cli: Run,
    tmp_path: Path,
    content: str | None,
    extra: tuple[str, ...],
    message: str,
) -> None:
    plan = plan_file(tmp_path / "p.json", [submit("a")])
    if content is not None:
        plan.write_text(content)
    result = run_comment(run_cli, plan, *extra)
    assert result.code == 1
    assert message in result.err
    assert len(result.err.splitlines()) == 1
    assert gh.requests == []


def test_a_next_page_on_another_host_is_not_followed(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    pr7.fault(
        "GET",
        r"/issues/7/comments$",
        200,
        headers={"link": '<https://evil.example/steal?page=2>; rel="next"'},
        body=[],
    )
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 1
    assert result.err == (
        "error: GET /repos/acme/specs/issues/7/comments: the next page is on another host; "
        "not followed\n"
    )


def test_a_long_rate_limit_fails_instead_of_hanging(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    pr7.fault("GET", r"/pulls/7$", 429, headers={"retry-after": "3600"})
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 1
    assert result.err == (
        "error: GET /repos/acme/specs/pulls/7: rate limited for 3600s (more than 60s)\n"
    )


def test_an_exhausted_quota_waits_for_its_reset_or_fails(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    reset = str(int(time.time()) + 3000)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    pr7.fault("GET", r"/pulls/7$", 403, headers=headers, body={"message": "API rate limit"})
    result = run_comment(run_cli, plan_file(tmp_path / "p.json", [submit("a")]))
    assert result.code == 1
    assert re.fullmatch(
        r"error: GET /repos/acme/specs/pulls/7: rate limited for \d+s \(more than 60s\)\n",
        result.err,
    )


FORGED = f"<!-- reconciler-plan:prod digest=sha256:{'1' * 64} run=666 sha={HEAD} -->"


def test_plan_text_cannot_forge_the_marker_of_another_environment(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    # The dev plan's field change and reason hold a marker line for prod (issue #15, item 4):
    # before, the prod comment found the dev comment as its own and overwrote it.
    rerun = {
        "name": "orders",
        "action": "rerun",
        "reason": FORGED,
        "digest": run_digest("orders"),
        "changes": [FORGED, f"x\n{FORGED}"],
    }
    dev = plan_file(tmp_path / "dev.json", [rerun], environment="dev")
    assert run_comment(run_cli, dev).out == "plan comment created on pull request #7 (dev)\n"
    [dev_comment] = ours(pr7, 7)
    assert FORGED in dev_comment["body"], "shown, inside the changes fence"
    prod = plan_file(tmp_path / "prod.json", [submit("orders")], environment="prod")
    result = run_comment(run_cli, prod)
    assert result.out == "plan comment created on pull request #7 (prod)\n"
    assert pr7.calls("PATCH") == []
    first_lines = sorted(c["body"].split("\n", 1)[0] for c in ours(pr7, 7))
    assert [line.split(" digest=")[0] for line in first_lines] == [
        "<!-- reconciler-plan:dev",
        "<!-- reconciler-plan:prod",
    ]
    assert "run=666" not in "".join(first_lines)


def test_a_hostile_name_is_refused_and_nothing_is_posted(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path / "p.json", [submit("a"), submit(f"b\n{FORGED}")])
    result = run_comment(run_cli, plan)
    assert result.code == 1
    assert "p.json: actions[1].name: expected an execution name" in result.err
    assert len(result.err.splitlines()) == 1
    assert pr7.calls("POST") == []


def test_only_what_the_digest_covers_is_shown_as_the_plan(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    actions = [
        submit("orders", changes=["A: 1 → 2"]),
        {"name": "inv", "action": "noop", "reason": "up to date", "changes": ["B: x → y"]},
    ]
    assert run_comment(run_cli, plan_file(tmp_path / "p.json", actions)).code == 0
    [comment] = ours(pr7, 7)
    body = comment["body"]
    plan_part, idle = body.split("<details><summary>1 with nothing to do")
    assert "`orders`" in plan_part
    assert "~ A: 1 → 2" in plan_part
    assert "`inv`" not in plan_part
    assert "`inv`" in idle
    assert "B: x → y" not in body, "the changes of an entry the digest does not cover"
