"""The check report's JSON reads back as it was written; its text cells stay one inert line."""

from __future__ import annotations

from reconciler.model import Location
from reconciler.model.check import Check, CheckReport, ExecutionCheck, Finding, Severity
from reconciler.report.check import check_json, check_text, parse_check_document


def report() -> CheckReport:
    finding = Finding(
        check=Check.DRIFT,
        severity=Severity.WARNING,
        message="2 runs\n::error::not a command",
        hint="look",
        execution_ids=("execution-1-2026.01.15", "execution-2-2026.01.15"),
    )
    return CheckReport(
        environment="prod",
        executions=(
            ExecutionCheck(
                name="orders",
                source=Location(file="specs/orders.yaml", line=4),
                process_id="p-1",
                atom_id="a-1",
                passed=(Check.ACCOUNT, Check.RUNTIME),
                findings=(finding,),
            ),
            ExecutionCheck(
                name="inventory",
                source=Location(file="specs/inventory.yaml", line=9),
                process_id="p-2",
                atom_id="a-1",
                passed=tuple(Check),
            ),
        ),
        notices=("a notice",),
        requests=5,
    )


def test_the_json_document_reads_back_as_written() -> None:
    assert parse_check_document(check_json(report()), "check.json") == report()


def test_the_text_keeps_every_finding_on_its_line_and_inert() -> None:
    lines = check_text(report()).splitlines()
    assert lines[:4] == [
        "notice: a notice",
        "orders  specs/orders.yaml:4",
        "  warning  drift: 2 runs ::error::not a command",
        "           hint: look",
    ]
    assert not any(line.startswith("::") for line in lines)
    assert lines[-1] == (
        "Check (prod): 2 executions: 1 warning; 1 passed every check; 5 read-only requests."
    )


def test_strict_fails_on_what_the_default_lets_pass() -> None:
    assert not report().fails()
    assert report().fails(strict=True)
    unchecked = CheckReport(environment="prod", executions=(), credentials=False)
    assert not unchecked.fails()
    assert unchecked.fails(strict=True)
