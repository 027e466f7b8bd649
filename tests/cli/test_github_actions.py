"""Inside GitHub Actions: annotations, step summary, outputs and masks, byte for byte."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.github import workflow as github
from tests.conftest import INVOICES, ORDERS, PROD_ATOM, Admin, CliResult, build_tree, spec

Run = Callable[..., CliResult]


@pytest.fixture
def actions_env(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    summary, output = workspace.parent / "summary.md", workspace.parent / "output.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    return summary, output


def test_plan_writes_summary_and_outputs(
    workspace: Path, actions_env: tuple[Path, Path], run_cli: Run
) -> None:
    summary, output = actions_env
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    result = run_cli("plan")
    assert result.code == 0
    written, lines = summary.read_text(encoding="utf-8"), output.read_text().splitlines()
    digest = json.loads(run_cli("plan", "--output", "json").out)["planDigest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert written == (
        "### reconciler plan (default)\n\n**1 to submit**\n\n| | Execution | Action | Reason |\n"
        f"|---|---|---|---|\n| + | `o` | submit | never run |\n\nPlan digest: `{digest}`\n"
    )
    assert lines[:3] == ["has-changes=true", f"plan-digest={digest}", "count-submit=1"]
    assert "count-noop=0" in lines


def test_one_plan_gives_the_json_and_the_markdown_the_action_uploads(
    workspace: Path, actions_env: tuple[Path, Path], run_cli: Run
) -> None:
    summary, _ = actions_env
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    markdown = workspace.parent / "out" / "plan.md"
    result = run_cli("plan", "--output", "json", "--markdown-file", str(markdown))
    assert result.code == 0, result.err
    assert json.loads(result.out)["actions"][0]["name"] == "o"
    # The file is the plan's markdown, the same text the job summary got, byte for byte.
    assert markdown.read_text(encoding="utf-8") == summary.read_text(encoding="utf-8")
    assert markdown.read_text(encoding="utf-8").startswith("### reconciler plan (default)\n")
    unwritable = run_cli("plan", "--markdown-file", str(workspace / "specs" / "o.yaml" / "x"))
    assert unwritable.code == 1
    assert "cannot write the plan" in unwritable.err
    assert "Traceback" not in unwritable.err


def test_spec_errors_become_annotations(
    workspace: Path, actions_env: tuple[Path, Path], run_cli: Run
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, "nope")})
    result = run_cli("plan")
    assert result.code == 1
    assert result.out.splitlines() == [
        '::error file=specs/o.yaml,line=7,col=11::spec.atomId: "nope" is not valid; expected a '
        "GUID like 789abcde-f012-3456-789a-bcdef0123456 (8-4-4-4-12 hexadecimal digits)"
    ]


def test_apply_masks_secrets_annotates_failures_and_summarises(
    workspace: Path,
    sim: Admin,
    actions_env: tuple[Path, Path],
    run_cli: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary, output = actions_env
    monkeypatch.setenv("API_KEY", "s3cr3t")
    secret_spec = (
        spec("o", ORDERS, PROD_ATOM) + "  dynamicProperties:\n    K: '{{ secret(\"API_KEY\") }}'\n"
    )
    build_tree(
        workspace, {"specs/o.yaml": secret_spec, "specs/inv.yaml": spec("inv", INVOICES, PROD_ATOM)}
    )
    result = run_cli("apply", "--no-durable-intents")
    assert result.code == 3
    lines = result.out.splitlines()
    assert "::add-mask::s3cr3t" in lines
    assert (
        "::error title=reconciler%3A inv::ERROR: Connector error: SFTP host sftp.erp.example.com "
        "unreachable (connection timed out)"
    ) in lines
    assert "| `inv` | ERROR |" in summary.read_text(encoding="utf-8")
    assert "count-failure=1" in output.read_text(encoding="utf-8").splitlines()


def test_messages_cannot_inject_workflow_commands() -> None:
    line = github.annotation("error", "bad\n::add-mask::x %", file="a,b:c.yaml", line=3)
    # one line for the runner; the message's own second line cannot be read as a command
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3::bad%0A\u2060::add-mask::x %25"
    assert len(line.splitlines()) == 1
    capped = github.failed_run_annotations([(f"r{i}", "ERROR", "m") for i in range(12)])
    assert len(capped) == 11
    assert capped[-1] == "::warning::2 more failed runs; see summary.md"


def test_multiline_output_uses_a_heredoc(tmp_path: Path) -> None:
    actions = github.Actions(summary_path=None, output_path=tmp_path / "out")
    actions.set_outputs([("a", "1"), ("b", "x\ny")])
    lines = (tmp_path / "out").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "a=1"
    assert lines[1].startswith("b<<ghadelimiter_")
    assert lines[2:4] == ["x", "y"]
    assert lines[4] == lines[1].split("<<", 1)[1]
