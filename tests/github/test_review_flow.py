"""The whole loop: a real plan → the sticky comment → merge → reviewed plan → apply says match."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.github.comment import find_marker
from reconciler.plan.document import parse_plan_document
from tests.conftest import INVOICES, ORDERS, PROD_ATOM, Admin, CliResult, build_tree, git, spec
from tests.github.conftest import FakeGitHub

Run = Callable[..., CliResult]
HEAD, MERGE, RUN = "e" * 40, "f" * 40, 777


def test_reviewed_on_the_pull_request_then_applied(
    gh: FakeGitHub, workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("invoices", INVOICES, PROD_ATOM),
        },
    )
    # the pull request's plan run: plan.json uploaded as the artifact
    planned = run_cli("plan", "--output", "json")
    assert planned.code == 0
    plan_json = workspace.parent / "plan.json"
    plan_json.write_text(planned.out, encoding="utf-8")
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    gh.add_artifact(RUN, "reconciler-plan", {"plan.json": planned.out.encode()})
    # the comment workflow
    commented = run_cli(
        "github", "comment", "--plan", str(plan_json), "--pr", "12",
        "--run-id", str(RUN), "--head-sha", HEAD,
    )  # fmt: skip
    assert commented.code == 0, commented.err
    [comment] = gh.comments_of(12)
    marker = find_marker(comment["body"], "default")
    assert marker is not None
    assert marker.digest == json.loads(planned.out)["planDigest"], "a real plan is consistent"
    # the apply workflow, after the merge
    reviewed = workspace.parent / "reviewed.json"
    found = run_cli("github", "reviewed-plan", "--sha", MERGE, "--output", str(reviewed))
    assert found.code == 0, found.err
    applied = run_cli("apply", "--no-durable-intents", "--reviewed-plan", str(reviewed))
    assert f"Reviewed plan: matches ({marker.digest})." in applied.out
    assert applied.code in (0, 3)  # the demo world fails the invoices run: the review still held


def test_invented_changes_in_the_pull_requests_artifact_do_not_review_as_a_match(
    gh: FakeGitHub, workspace: Path, sim: Admin, run_cli: Run
) -> None:
    # The artifact is the pull request's own: it may show other reasons and field changes
    # than the specs produce, with a digest recomputed to match them (issue #15, item 4).
    build_tree(workspace, {"specs/o.yaml": spec("orders", ORDERS, PROD_ATOM)})
    planned = json.loads(run_cli("plan", "--output", "json").out)
    [orders] = planned["actions"]
    orders["reason"] = "a dry run: nothing is sent"
    orders["changes"] = ['dynamicProperties.MODE: "live" → "dry-run"']
    planned["planDigest"] = parse_plan_document(json.dumps(planned), "p").computed_digest()
    artifact = json.dumps(planned).encode()
    plan_json = workspace.parent / "plan.json"
    plan_json.write_bytes(artifact)
    gh.add_pull(12, HEAD, merge_sha=MERGE, merged=True)
    gh.add_artifact(RUN, "reconciler-plan", {"plan.json": artifact})
    commented = run_cli(
        "github", "comment", "--plan", str(plan_json), "--pr", "12",
        "--run-id", str(RUN), "--head-sha", HEAD,
    )  # fmt: skip
    assert commented.code == 0, commented.err
    [comment] = gh.comments_of(12)
    assert '~ dynamicProperties.MODE: "live" → "dry-run"' in comment["body"]  # as it says...
    reviewed = workspace.parent / "reviewed.json"
    found = run_cli("github", "reviewed-plan", "--sha", MERGE, "--output", str(reviewed))
    assert found.code == 0, found.err
    assert reviewed.read_bytes() == artifact  # ...consistent with its digest, so found...
    applied = run_cli(
        "apply", "--no-durable-intents", "--reviewed-plan", str(reviewed), "--require-reviewed"
    )
    assert applied.code == 1  # ...but not what the merged specs plan: nothing is applied
    assert (
        "  ~ orders: submit (the reviewed plan showed another reason and other field changes)"
        in (applied.out.splitlines())
    )
    assert sim.submissions() == []


HOSTILE_NAMES = [
    "::error title=x::pwned",
    "x\n::error title=x::pwned",
    "::add-mask::x",
    "x\n::add-mask::x",
    "a\n```\n<img src=x>\n@someone",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_reviewed_plan_with_a_hostile_name_is_refused_before_anything_runs(
    workspace: Path, sim: Admin, run_cli: Run, name: str
) -> None:
    # Before, such names were printed raw by apply --reviewed-plan (workflow commands in the
    # privileged job's log) and one closed the summary's diff fence (raw HTML and an
    # @mention in the committed summary.md). Issue #15, item 3(a).
    build_tree(workspace, {"specs/o.yaml": spec("orders", ORDERS, PROD_ATOM)})
    planned = json.loads(run_cli("plan", "--output", "json").out)
    forged = {**planned["actions"][0], "name": name}
    planned["actions"].append(forged)
    planned["planDigest"] = "sha256:" + "0" * 64
    reviewed = workspace.parent / "reviewed.json"
    reviewed.write_text(json.dumps(planned), encoding="utf-8")
    result = run_cli("apply", "--no-durable-intents", "--reviewed-plan", str(reviewed))
    assert result.code == 1
    [error] = result.err.splitlines()
    assert error == (
        f"error: {reviewed}:1:1: actions[1].name: expected an execution name (lower-case "
        f"letters, digits and dashes, starting with a letter, at most 63 characters), got "
        f"{name!r}"
    )
    for line in (result.out + result.err).splitlines():
        assert not line.strip().startswith("::")
    assert sim.submissions() == []
    assert not (workspace / "artifacts").exists()


def test_every_merge_since_the_last_apply_reviewed_applied_and_told(
    gh: FakeGitHub, workspace: Path, sim: Admin, run_cli: Run
) -> None:
    # Issue #16: the apply covers every pull request merged since the last one, and tells
    # each how it went.
    git(workspace, "config", "user.name", "test")
    git(workspace, "config", "user.email", "test@example.com")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    base = git(workspace, "rev-parse", "HEAD").strip()
    merged = {}
    for number, name, process in ((12, "orders", ORDERS), (15, "invoices", INVOICES)):
        build_tree(workspace, {f"specs/{name}.yaml": spec(name, process, PROD_ATOM)})
        planned = run_cli("plan", "--output", "json")
        plan_json = workspace.parent / f"plan-{number}.json"
        plan_json.write_text(planned.out, encoding="utf-8")
        gh.add_artifact(
            RUN + number, "reconciler-plan-default", {"plan.json": planned.out.encode()}
        )
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", f"{name} (#{number})")
        merged[number] = git(workspace, "rev-parse", "HEAD").strip()
        gh.add_pull(number, HEAD, merge_sha=merged[number], merged=True)
        commented = run_cli(
            "github", "comment", "--plan", str(plan_json), "--pr", str(number),
            "--run-id", str(RUN + number),
        )  # fmt: skip
        assert commented.code == 0, commented.err
    reviewed = workspace.parent / "reviewed"
    found = run_cli(
        "github", "reviewed-plan", "--since", base, "--sha", merged[15],
        "--output-dir", str(reviewed),
    )  # fmt: skip
    assert found.code == 0, found.err
    assert sorted(p.name for p in reviewed.glob("pr-*.json")) == [
        "pr-12.json", "pr-12.meta.json", "pr-15.json", "pr-15.meta.json",
    ]  # fmt: skip
    # (apply --reviewed-plan DIR is the apply's; here the tip's own plan, PR 15's, covers all)
    applied = run_cli(
        "apply", "--no-durable-intents", "--reviewed-plan", str(reviewed / "pr-15.json")
    )
    assert applied.code == 3, applied.out  # the demo world fails the invoices run
    digest = json.loads((workspace / "artifacts/default/apply.json").read_text())["planDigest"]
    told = run_cli(
        "github", "apply-comment", "--reviewed-dir", str(reviewed), "--sha", merged[15],
        "--run-url", "https://github.com/acme/specs/actions/runs/9",
    )  # fmt: skip
    assert told.code == 0, told.err
    assert told.out.splitlines() == [
        "apply comment created on pull request #12 (default)",
        "apply comment created on pull request #15 (default)",
    ]
    for number, other in ((12, 15), (15, 12)):
        plan_comment, apply_comment = gh.comments_of(number)
        assert plan_comment["body"].startswith("<!-- reconciler-plan:default ")
        body = apply_comment["body"]
        lines = body.splitlines()
        assert lines[:4] == [
            "<!-- reconciler-apply:default -->",
            "### reconciler apply: `default`",
            "",
            "**1 succeeded, 1 failed**",
        ]
        [row] = [line for line in lines if line.startswith("| `invoices` |")]
        assert row == (  # the platform's message, inert: md_text escapes its punctuation
            "| `invoices` | failure | ERROR\\: Connector error\\: SFTP host "
            "sftp\\.erp\\.example\\.com unreachable \\(connection timed out\\) |"
        )
        assert f"Plan digest: `{digest}`" in lines
        own = json.loads((reviewed / f"pr-{number}.json").read_text())["planDigest"]
        assert f"This pull request's reviewed plan: `{own}`." in lines
        assert f"The same apply covered #{other}." in lines
        assert lines[-1] == (
            f"<sub>specs `{merged[15][:12]}` · [apply run](https://github.com/acme/specs/actions/runs/9)</sub>"
        )
