"""Plan approval: the apply on merge says whether it does what the pull request reviewed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import INVENTORY, ORDERS, PROD_ATOM, Admin, CliResult, build_tree, spec

Run = Callable[..., CliResult]


@pytest.fixture
def reviewed(workspace: Path, run_cli: Run) -> Path:
    """Two specs, and the plan a reviewer saw for them."""
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    build_tree(workspace, {"specs/i.yaml": spec("i", INVENTORY, PROD_ATOM)})
    path = workspace.parent / "reviewed-plan.json"
    path.write_text(run_cli("plan", "--output", "json").out, encoding="utf-8")
    return path


def test_the_reviewed_plan_matches(
    workspace: Path, reviewed: Path, sim: Admin, run_cli: Run
) -> None:
    digest = json.loads(reviewed.read_text())["planDigest"]
    result = run_cli("apply", "--reviewed-plan", str(reviewed), "--require-reviewed")
    assert result.code == 0, result.err
    assert f"Reviewed plan: matches ({digest})." in result.out.splitlines()
    record = json.loads((workspace / "artifacts/default/apply.json").read_text())
    assert record["reviewed"] == {"status": "match", "reviewedDigest": digest, "differences": []}
    summary = (workspace / "artifacts/default/summary.md").read_text()
    assert summary.endswith(f"\n**Reviewed plan:** matches (`{digest}`).\n")


def test_a_different_plan_is_reported_with_its_differences(
    workspace: Path, reviewed: Path, sim: Admin, run_cli: Run
) -> None:
    old = json.loads(reviewed.read_text())
    # After review: one spec changed, one removed, one added.
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM, {"DAY": "monday"})})
    (workspace / "specs/i.yaml").unlink()
    build_tree(workspace, {"specs/n.yaml": spec("n", INVENTORY, PROD_ATOM)})
    now = json.loads(run_cli("plan", "--output", "json").out)
    o_old = next(a["digest"] for a in old["actions"] if a["name"] == "o")
    o_new = next(a["digest"] for a in now["actions"] if a["name"] == "o")

    result = run_cli("apply", "--reviewed-plan", str(reviewed))

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    start = lines.index(
        f"Reviewed plan: DIFFERS (reviewed {old['planDigest']}, now {now['planDigest']}):"
    )
    assert lines[start + 1 : start + 4] == [
        "  - i: submit (reviewed, no longer planned)",
        "  + n: submit (not in the reviewed plan)",
        f"  ~ o: submit, run {o_old[-64:][:12]} → {o_new[-64:][:12]}",
    ]
    assert len(sim.submissions()) == 2  # applied anyway: the flag to refuse was not given


def test_require_reviewed_refuses_a_different_plan_and_submits_nothing(
    workspace: Path, reviewed: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, {"specs/n.yaml": spec("n", ORDERS, PROD_ATOM, {"X": "1"})})
    result = run_cli("apply", "--reviewed-plan", str(reviewed), "--require-reviewed")
    assert result.code == 1
    n_run = json.loads(run_cli("plan", "--output", "json").out)
    digest = next(a["digest"] for a in n_run["actions"] if a["name"] == "n")
    assert result.err == (
        "error: --require-reviewed: not every change was reviewed; nothing was applied: "
        f"n: submit run {digest[-64:][:12]}; review these changes on a pull request, or apply "
        "without --require-reviewed (the workflows: the allow-unreviewed input, with a reason)\n"
    )
    assert sim.submissions() == []
    assert not (workspace / "state/default").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "reviewed-plan.json:1:2: not JSON (Expecting property name enclosed in double quotes)",
        ),
        ("[]", "reviewed-plan.json:1:1: expected a plan document (a JSON object)"),
        (
            '{"planDigest": 1}',
            "reviewed-plan.json:1:1: expected planDigest and environment strings "
            "(write it with plan --output json)",
        ),
        (
            '{"planDigest": "x", "environment": "default", "actions": [{"name": "a", '
            '"action": "explode"}]}',
            "reviewed-plan.json:1:1: actions[0].action: 'explode' is not an action",
        ),
    ],
)
def test_a_broken_reviewed_plan_is_a_clear_error(
    workspace: Path, sim: Admin, run_cli: Run, content: str, message: str
) -> None:
    path = workspace.parent / "reviewed-plan.json"
    path.write_text(content, encoding="utf-8")
    result = run_cli("apply", "--reviewed-plan", str(path))
    assert result.code == 1
    assert result.err == f"error: {workspace.parent}/{message}\n"
    assert sim.submissions() == []


def test_apply_outputs_in_actions_byte_for_byte(
    workspace: Path, reviewed: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = workspace.parent / "output.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    digest = json.loads(reviewed.read_text())["planDigest"]
    result = run_cli("apply", "--no-durable-intents", "--reviewed-plan", str(reviewed))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "::group::reconciler plan (default)"
    end = lines.index("::endgroup::")
    assert lines[end - 1] == f"Plan digest: {digest}"
    assert lines[end + 1] == f"Reviewed plan: matches ({digest})."
    assert output.read_text(encoding="utf-8") == (
        "count-success=2\ncount-failure=0\ncount-rejected=0\ncount-unknown=0\n"
        "count-pending=0\ncount-unsent=0\ncount-skipped=0\n"
        f"plan-digest={digest}\nreviewed=match\n"
        f"summary-path={workspace}/artifacts/default/summary.md\n"
    )


def test_each_change_is_checked_against_the_plans_of_every_merged_pull_request(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    build_tree(workspace, {"specs/i.yaml": spec("i", INVENTORY, PROD_ATOM)})
    folder = workspace.parent / "reviewed"
    folder.mkdir()
    for number, name, who in ((1, "o", "alice"), (2, "i", "bob")):  # one PR each
        shown = run_cli("plan", "--select", name, "--output", "json").out
        (folder / f"pr-{number}.json").write_text(shown, encoding="utf-8")
        meta = {"number": number, "mergedBy": who}
        (folder / f"pr-{number}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    # A change nobody reviewed (a direct push to main, say).
    build_tree(workspace, {"specs/n.yaml": spec("n", ORDERS, PROD_ATOM, {"N": "1"})})

    refused = run_cli("apply", "--reviewed-plan", str(folder), "--require-reviewed")
    assert refused.code == 1
    assert "not every change was reviewed; nothing was applied: n: submit run " in refused.err
    assert "o:" not in refused.err.split("nothing was applied:")[1]
    assert sim.submissions() == []
    # The plan an approver reads before approving says the same, without applying anything.
    planned = run_cli("plan", "--reviewed-plan", str(folder))
    assert planned.code == 0
    assert planned.err.splitlines()[:4] == [
        "Reviewed plans: 1 change(s) NOT reviewed; 2 reviewed by #1 (merged by alice), "
        "#2 (merged by bob)",
        f"+ n: submit run {planned.err.split('+ n: submit run ')[1][:12]}",
        "  i: reviewed in #2 (merged by bob)",
        "  o: reviewed in #1 (merged by alice)",
    ]

    (workspace / "specs/n.yaml").unlink()  # reverted: now every change was reviewed
    applied = run_cli("apply", "--reviewed-plan", str(folder), "--require-reviewed")
    assert applied.code == 0, applied.err
    assert (
        "Reviewed plans: every change was reviewed (2, by #1 (merged by alice), #2 (merged by bob))"
        in applied.out
    )
    assert len(sim.submissions()) == 2
    record = json.loads((workspace / "artifacts/default/apply.json").read_text())
    assert record["reviewed"]["status"] == "covered"


def test_a_change_behind_a_changing_dependency_needs_its_own_review(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    needs_o = "  dependsOn: [o]\n"
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    build_tree(workspace, {"specs/i.yaml": spec("i", INVENTORY, PROD_ATOM) + needs_o})
    assert run_cli("apply").code == 0
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM, {"A": "1"})})
    reviewed = workspace.parent / "reviewed.json"
    reviewed.write_text(run_cli("plan", "--output", "json").out, encoding="utf-8")
    # Then i changes too, unreviewed: it waits for o in the plan, and would run after it.
    build_tree(workspace, {"specs/i.yaml": spec("i", INVENTORY, PROD_ATOM, {"X": "1"}) + needs_o})

    result = run_cli("apply", "--reviewed-plan", str(reviewed), "--require-reviewed")

    assert result.code == 1
    assert "nothing was applied: i: wait run " in result.err
    assert len(sim.submissions()) == 2  # the first apply's only
