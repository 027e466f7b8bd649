"""The action and the example workflows: the safety rules we promise in docs/github-actions.md.

Parsed as YAML and checked structurally (actionlint and zizmor run too, in ``make workflows``);
and the action's main script is run for real on a workspace, the way the runner would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import ORDERS, PROD_ATOM, ROOT, build_tree, spec

WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / "action.yml"
EXAMPLES = ["plan", "comment", "apply", "drift", "sharded"]
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def example(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / f"reconcile-{name}.yml")


def all_files() -> list[Path]:
    return [ACTION, *sorted(WORKFLOWS.glob("*.yml"))]


def steps(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "runs" in doc:
        yield from doc["runs"]["steps"]
    for job in doc.get("jobs", {}).values():
        yield from job.get("steps", [])


def test_every_example_exists_and_the_old_one_is_gone() -> None:
    names = {p.name for p in WORKFLOWS.glob("*.yml")}
    assert names >= {"ci.yml", *(f"reconcile-{n}.yml" for n in EXAMPLES)}
    assert "reconcile.yml" not in names


@pytest.mark.parametrize("path", all_files(), ids=lambda p: p.name)
def test_no_expression_inside_a_script(path: Path) -> None:
    for step in steps(load(path)):
        if "run" in step:
            assert "${{" not in step["run"], f"{path.name}: {step.get('name', step['run'][:40])}"


@pytest.mark.parametrize("path", all_files(), ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit_with_a_version_comment(path: Path) -> None:
    for step in steps(load(path)):
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert PINNED.match(uses), f"{path.name}: {uses} is not pinned by a full commit SHA"
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*(- )?uses: [^.]", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


def test_the_action_reads_inputs_only_through_env() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    assert set(action["inputs"]) >= {
        "command", "environment", "select", "working-directory", "python-version", "version",
        "reviewed-plan", "shard", "extra-args",
    }  # fmt: skip
    assert action["inputs"]["python-version"]["default"] == "3.11"


ENVIRONMENTS = ["test", "production"]


def _checkouts(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]


def test_the_plan_workflow_is_read_only_always_reports_and_plans_each_environment() -> None:
    plan = example("plan")
    assert list(plan["on"]) == ["pull_request", "merge_group"]
    assert plan["on"]["pull_request"] is None, "no paths: filter: a required check must report"
    assert plan["permissions"] == {"contents": "read"}
    [job] = plan["jobs"].values()
    assert "permissions" not in job
    assert job["strategy"]["matrix"]["environment"] == ENVIRONMENTS
    assert "secrets." not in (WORKFLOWS / "reconcile-plan.yml").read_text(encoding="utf-8")
    changed = next(s for s in job["steps"] if s.get("id") == "changed")
    assert 'git diff --quiet "$BASE...$HEAD_SHA" -- specs reconciler.yaml' in changed["run"]
    later = job["steps"][job["steps"].index(changed) + 1 :]
    assert all("steps.changed.outputs.changed == 'true'" in s["if"] for s in later)
    uploads = [s for s in steps(plan) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [u["with"]["name"] for u in uploads] == ["reconciler-plan-${{ matrix.environment }}"]


def test_the_comment_workflow_treats_the_artifact_as_data_and_installs_from_the_action() -> None:
    comment = example("comment")
    assert comment["on"]["workflow_run"]["workflows"] == ["reconcile-plan"]
    assert comment["permissions"] == {}
    [job] = comment["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "actions": "read",
        "pull-requests": "write",
    }
    assert job["strategy"]["matrix"]["environment"] == ENVIRONMENTS
    for step in _checkouts(job):
        assert "ref" not in step.get("with", {}), "never check out the pull request"
    text = (WORKFLOWS / "reconcile-comment.yml").read_text(encoding="utf-8")
    # Credentials only for the read-only check, and only for this repository's pull requests.
    with_secrets = [s for s in job["steps"] if "secrets." in json.dumps(s)]
    assert [s["name"] for s in with_secrets] == [
        "check the plan's executions on the platform (read-only)"
    ]
    [check] = with_secrets
    assert "github.event.workflow_run.head_repository.full_name == github.repository" in check["if"]
    assert set(check["env"]) >= {"BOOMI_USERNAME", "BOOMI_API_TOKEN"}
    assert "secrets.BOOMI_API_TOKEN" not in text, "never the apply's credentials"
    assert 'check --plan "$PLAN_DIR/plan.json"' in check["run"]
    assert "pip install" not in text
    installs = [s for s in job["steps"] if s.get("uses") == "./"]
    assert [s["with"] for s in installs] == [{"command": "install"}]
    script = next(s["run"] for s in job["steps"] if "reconciler github comment" in s.get("run", ""))
    assert "--head-sha" in script
    assert 'check=(--check "$RUNNER_TEMP/check.json")' in script
    assert "^[1-9][0-9]{0,9}$" in script
    assert "source " not in script
    assert "bash " not in script


def test_the_apply_workflow_plans_the_tip_without_secrets_then_applies_it_per_environment() -> None:
    apply = example("apply")
    assert apply["on"]["push"] == {"branches": ["main"]}
    dispatch = apply["on"]["workflow_dispatch"]["inputs"]
    assert dispatch["reason"]["required"] is True
    assert dispatch["allow-unreviewed"]["default"] is False
    assert apply["permissions"] == {}
    assert apply["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    jobs = apply["jobs"]
    assert list(jobs) == ["plan-test", "apply-test", "plan-production", "apply-production"]
    assert jobs["plan-production"]["needs"] == ["plan-test", "apply-test"]
    for job in jobs.values():
        for checkout in _checkouts(job):
            assert checkout["with"]["ref"] == "main", "the tip, never GITHUB_SHA"
    for env in ENVIRONMENTS:
        plan, run = jobs[f"plan-{env}"], jobs[f"apply-{env}"]
        assert "environment" not in plan
        assert "secrets." not in json.dumps(plan)
        assert plan["permissions"]["contents"] == "read"
        assert run["environment"] == env
        assert run["needs"] == f"plan-{env}"
        assert run["permissions"]["contents"] == "write"
        reviewed = next(s for s in plan["steps"] if s.get("id") == "reviewed")
        assert "github reviewed-plan --since-applied" in reviewed["run"]
        assert "--output-dir" in reviewed["run"]
        names = [s.get("name") for s in run["steps"]]
        applied = run["steps"][names.index("apply")]
        assert applied["with"]["expect-digest"] == f"${{{{ needs.plan-{env}.outputs.digest }}}}"
        assert applied["with"]["expect-commit"] == f"${{{{ needs.plan-{env}.outputs.head-sha }}}}"
        assert applied["with"]["require-reviewed"] == (
            "${{ inputs.allow-unreviewed == true && 'false' || 'true' }}"
        )
        assert applied["with"]["fail-on-error"] == "false"
        commit = run["steps"][names.index("commit state and artifacts to the state branch")]
        assert commit["if"] == "always()"
        saved = run["steps"][names.index("keep the state when it could not be pushed")]
        assert saved["with"]["name"] == f"reconciler-state-{env}"
        assert names.index("apply") < names.index("post the outcome to the merged pull requests")
        secrets = [s.get("name") for s in run["steps"] if "secrets." in json.dumps(s)]
        assert secrets == ["apply"], "credentials only where needed"
    junit = [s for s in steps(apply) if s.get("uses", "").startswith("mikepenz/")]
    assert len(junit) == 2


def test_the_sharded_workflow() -> None:
    sharded = example("sharded")
    assert sharded["concurrency"] == example("apply")["concurrency"]
    job = sharded["jobs"]["apply"]
    assert job["needs"] == "plan"
    assert job["strategy"]["fail-fast"] is False
    assert job["strategy"]["max-parallel"] >= 1
    assert job["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    assert job["environment"] == "${{ inputs.environment }}"
    assert "environment" not in sharded["jobs"]["plan"]
    shards = [s["with"].get("shard") for s in job["steps"] if s.get("uses") == "./"]
    assert shards == ["${{ matrix.shard }}/4", "${{ matrix.shard }}/4"]


def test_the_drift_workflow_is_scheduled_and_read_only() -> None:
    drift = example("drift")
    assert drift["on"]["schedule"][0]["cron"]
    assert drift["permissions"] == {"contents": "read"}
    [job] = drift["jobs"].values()
    plan = next(s for s in job["steps"] if s.get("id") == "plan")
    assert plan["with"] == {
        "command": "plan",
        "environment": "${{ matrix.environment }}",
        "detailed-exitcode": "true",
    }
    assert "secrets." not in (WORKFLOWS / "reconcile-drift.yml").read_text(encoding="utf-8")


def _action_script(step_id: str) -> str:
    step = next(s for s in load(ACTION)["runs"]["steps"] if s.get("id") == step_id)
    script = step["run"]
    assert isinstance(script, str)
    return script


def _run_action(root: Path, tmp: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    """The action's main step, run by bash as the runner would, with its env: block."""
    output = tmp / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "RUNNER_TEMP": str(tmp / "runner"),
        "COMMAND": "",
        "ENVIRONMENT": "",
        "SELECT": "",
        "SHARD": "",
        "REVIEWED_PLAN": "",
        "REQUIRE_REVIEWED": "false",
        "DETAILED_EXITCODE": "false",
        "EXTRA_ARGS": "",
        "CONFIG": "",
        "FAIL_ON_ERROR": "true",
        **inputs,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _action_script("run")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = {}
    for line in output.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            outputs[name] = value
    return result.returncode, outputs, result.stdout + result.stderr


def test_the_action_plans_with_selects_and_reports_counts(workspace: Path, tmp_path: Path) -> None:
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/i.yaml": spec("inv", ORDERS, PROD_ATOM, {"K": "v"}),
        },
    )
    code, outputs, log = _run_action(
        workspace,
        tmp_path,
        COMMAND="plan",
        SELECT="orders\n  or*s ",  # a selector matching nothing is an error now
        DETAILED_EXITCODE="true",
    )
    assert code == 0, log  # exit 2 (changes pending) does not fail the step
    assert outputs["exit-code"] == "2"
    assert outputs["has-changes"] == "true"
    counts = json.loads(outputs["counts"])
    assert counts["submit"] == 1
    assert counts["noop"] == 0
    plan = json.loads(Path(outputs["plan-json"]).read_text())
    assert [a["name"] for a in plan["actions"]] == ["orders"]
    assert plan["planDigest"] == outputs["plan-digest"]
    assert Path(outputs["plan-markdown"]).read_text().startswith("### reconciler plan (default)")
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("### reconciler plan") == 1


def test_the_action_fails_the_step_on_errors_unless_told_not_to(
    workspace: Path, tmp_path: Path
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("orders", ORDERS, "not-a-guid")})
    code, outputs, log = _run_action(workspace, tmp_path, COMMAND="validate")
    assert code == 1
    assert outputs["exit-code"] == "1"
    assert "::error file=specs/o.yaml" in log
    code, outputs, _ = _run_action(workspace, tmp_path, COMMAND="validate", FAIL_ON_ERROR="false")
    assert (code, outputs["exit-code"]) == (0, "1")


def test_the_action_refuses_an_unknown_command(workspace: Path, tmp_path: Path) -> None:
    code, _outputs, log = _run_action(workspace, tmp_path, COMMAND="sim; rm -rf /")
    assert code == 1
    assert "::error title=reconciler::command must be plan, apply, validate or commit" in log
