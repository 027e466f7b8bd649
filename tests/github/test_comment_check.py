"""The read-only check in the plan comment (``github comment --check``), an untrusted artifact.

The check document comes from the pull request's run, like the plan: it is read strictly
(``report.check.parse_check_document``), rendered inert, and kept within the comment's size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.github.comment import COMMENT_LIMIT
from reconciler.model import Location
from reconciler.model.check import Check, CheckReport, ExecutionCheck, Finding, Severity
from reconciler.report.check import check_json
from tests.conftest import CliResult
from tests.github.conftest import FakeGitHub
from tests.github.test_comment import HEAD, ours, plan_file, submit

Run = Callable[..., CliResult]
PROCESS = "789abcde-f012-3456-789a-bcdef0123456"
ATOM = "3456789a-bcde-f012-3456-789abcdef012"


def execution(name: str, *findings: Finding, passed: tuple[Check, ...] = ()) -> ExecutionCheck:
    return ExecutionCheck(
        name=name,
        source=Location(file=f"specs/{name}.yaml", line=4, col=9),
        process_id=PROCESS,
        atom_id=ATOM,
        passed=passed,
        findings=findings,
    )


def check_file(path: Path, *executions: ExecutionCheck, environment: str = "default") -> Path:
    report = CheckReport(environment=environment, executions=executions, requests=7)
    path.write_text(check_json(report), encoding="utf-8")
    return path


@pytest.fixture
def pr7(gh: FakeGitHub) -> FakeGitHub:
    gh.add_pull(7, HEAD)
    return gh


def comment(run_cli: Run, plan: Path, check: Path) -> CliResult:
    return run_cli(
        "github", "comment", "--plan", str(plan), "--pr", "7", "--head-sha", HEAD,
        "--check", str(check),
    )  # fmt: skip


def test_the_check_follows_the_plan_in_the_comment(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path / "plan.json", [submit("orders"), submit("customers")])
    undeployed = Finding(
        check=Check.DEPLOYMENT,
        severity=Severity.ERROR,
        message=f"process {PROCESS} is not deployed to an environment attached to runtime",
        hint="deploy it",
    )
    check = check_file(
        tmp_path / "check.json",
        execution("customers", undeployed),
        execution("orders", passed=tuple(Check)),
    )
    result = comment(run_cli, plan, check)
    assert result.code == 0, result.err
    [posted] = ours(pr7, 7)
    body = posted["body"]
    plan_part, check_part = body.split("#### reconciler check: `default`\n")
    assert "| + | `orders` | submit | never run |" in plan_part
    assert "Plan digest:" not in check_part  # the digest line belongs to the plan, above
    assert check_part.splitlines()[1] == (
        "**2 executions\\: 1 error; 1 passed every check; 7 read\\-only requests**"
    )
    rows = [line for line in check_part.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `customers` | `specs/customers.yaml:4` | deployment | error | process "
        f"{PROCESS.replace('-', chr(92) + '-')} is not deployed to an environment attached to "
        "runtime<br>_deploy it_ |"
    ]
    assert "<summary>1 passed every check</summary>" in check_part


def test_hostile_check_text_is_inert_and_cannot_forge_a_marker(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    hostile = (
        "@octocat see #1 <img src=x onerror=alert(1)> [x](https://evil.example) | split\n"
        "::error::injected\r</details><!-- reconciler-plan:default digest=none -->"
    )
    finding = Finding(check=Check.DRIFT, severity=Severity.WARNING, message=hostile, hint=hostile)
    check = check_file(tmp_path / "check.json", execution("orders", finding))
    document = json.loads(check.read_text())
    document["notices"] = [hostile]
    check.write_text(json.dumps(document), encoding="utf-8")
    plan = plan_file(tmp_path / "plan.json", [submit("orders")])
    assert comment(run_cli, plan, check).code == 0
    body = ours(pr7, 7)[0]["body"]
    lines = body.splitlines()
    outside = re.sub(r"`[^`\n]*`", "", body)
    assert len(re.findall(r"<!-- reconciler-plan:", body)) == 1
    assert not re.search(r"@\w", outside)
    assert "<img" not in body
    assert "https://evil" not in outside
    assert not any(line.startswith("::") for line in lines)
    assert len([line for line in lines if line.startswith("| `orders` | `specs")]) == 1
    assert [line for line in lines if "details>" in line] == []  # no idle fold, none forged


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(kind="plan"), 'kind: expected "check"'),
        (
            lambda d: d.update(environment="Prod"),
            "environment: expected a name (lower-case letters, digits and dashes)",
        ),
        (
            lambda d: d["executions"][0].update(name="../x"),
            "executions[0].name: expected a name (lower-case letters, digits and dashes)",
        ),
        (
            lambda d: d["executions"][0]["findings"][0].update(severity="fatal"),
            "executions[0].findings[0].severity: expected error, warning or unchecked",
        ),
        (
            lambda d: d["executions"][0]["findings"][0].update(message="x" * 10_001),
            "executions[0].findings[0].message: expected a string of at most 10,000 characters",
        ),
        (
            lambda d: d["executions"][0]["findings"][0].update(executionIds=["a b"]),
            "executions[0].findings[0].executionIds[0]: expected an id",
        ),
    ],
)
def test_a_check_that_is_not_one_is_refused_and_nothing_is_posted(
    pr7: FakeGitHub,
    run_cli: Run,
    tmp_path: Path,
    change: Callable[[dict[str, object]], None],
    message: str,
) -> None:
    finding = Finding(check=Check.DRIFT, severity=Severity.WARNING, message="m")
    check = check_file(tmp_path / "check.json", execution("orders", finding))
    document = json.loads(check.read_text())
    change(document)
    check.write_text(json.dumps(document), encoding="utf-8")
    result = comment(run_cli, plan_file(tmp_path / "plan.json", [submit("orders")]), check)
    assert result.code == 1
    assert result.err == f"error: {check}: {message}\n"
    assert ours(pr7, 7) == []


def test_a_check_of_another_environment_is_refused(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    check = check_file(tmp_path / "check.json", execution("orders"), environment="production")
    result = comment(run_cli, plan_file(tmp_path / "plan.json", [submit("orders")]), check)
    assert result.code == 1
    assert "the check is for production, not default" in result.err
    assert ours(pr7, 7) == []


def test_a_huge_check_fits_in_the_comment_with_the_plan_first(
    pr7: FakeGitHub, run_cli: Run, tmp_path: Path
) -> None:
    finding = Finding(check=Check.DRIFT, severity=Severity.WARNING, message="r" * 300)
    executions = [execution(f"n{i}", finding) for i in range(2_000)]
    check = check_file(tmp_path / "check.json", *executions)
    plan = plan_file(tmp_path / "plan.json", [submit(f"n{i}") for i in range(100)])
    assert comment(run_cli, plan, check).code == 0
    body = ours(pr7, 7)[0]["body"]
    assert len(body) <= COMMENT_LIMIT
    assert "| + | `n99` | submit | never run |" in body  # every plan row first
    assert "more findings not shown here (size limit)" in body
