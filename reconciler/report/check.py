"""A check report → text, markdown and JSON; and its JSON read back, strictly and bounded.

Pure: every function returns a string or a value. Names, messages, hints and execution ids are
untrusted text (specs, the platform's answers, and for the pull-request comment a downloaded
artifact), made inert for each channel as ``renderers`` does: ``one_line`` in the terminal,
``md_code`` for names and ``md_text`` for prose in Markdown. ``parse_check_document`` reads a
``check --output json`` document strictly (every field's type, every name's shape, every
string's length, the number of executions and findings bounded): the sticky comment renders
only what it returns.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.errors import UserError
from reconciler.model import Location
from reconciler.model.check import Check, CheckReport, ExecutionCheck, Finding, Severity
from reconciler.model.values import EXECUTION_NAME_PATTERN
from reconciler.outbound import md_code, md_text, one_line

__all__ = [
    "CHECK_SIZE_LIMIT",
    "CheckDocumentError",
    "check_json",
    "check_markdown",
    "check_summary",
    "check_text",
    "parse_check_document",
]

FORMAT_VERSION = 1
CHECK_SIZE_LIMIT = 16 * 1024 * 1024  # bytes of a check document read back
MAX_EXECUTIONS = 50_000
MAX_FINDINGS = 20  # findings of one execution
MAX_TEXT = 10_000  # characters of a message, a hint, a notice, a file name
MAX_IDS = 50  # execution ids of one finding
MAX_NOTICES = 20
CELL_LIMIT = 400  # characters of one finding in a Markdown table
_NAME = re.compile(EXECUTION_NAME_PATTERN.removeprefix("^").removesuffix("$") + r"\Z")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\Z")
_CHECKS = ", ".join(check.value for check in Check)


def check_summary(report: CheckReport) -> str:
    """``2 errors, 1 warning, 1 not checked`` (only non-zero), or ``no findings``."""
    words = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.UNCHECKED: ""}
    parts = []
    for severity in Severity:
        count = report.count(severity)
        if count:
            word = words[severity]
            parts.append(
                f"{count} not checked" if not word else f"{count} {word}{'s' if count > 1 else ''}"
            )
    return ", ".join(parts) or "no findings"


def _headline(report: CheckReport) -> str:
    total = len(report.executions)
    if not report.credentials:
        return f"{total} execution{'s' if total != 1 else ''}, none checked (no credentials)"
    return (
        f"{total} execution{'s' if total != 1 else ''}: {check_summary(report)}; "
        f"{report.clean} passed every check; {report.requests} read-only request"
        f"{'s' if report.requests != 1 else ''}"
    )


def check_text(report: CheckReport) -> str:
    """The check for a terminal: one block per execution with findings, one line if clean."""
    out = [f"notice: {one_line(notice)}" for notice in report.notices]
    if report.credentials:
        for execution in report.executions:
            where = f"{one_line(execution.name)}  {_where(execution.source)}"
            if not execution.findings:
                passed = ", ".join(check.value for check in execution.passed) or "nothing asked"
                out.append(f"{where}  ok: {passed}")
                continue
            out.append(where)
            width = max(len(f.severity.value) for f in execution.findings)
            for finding in execution.findings:
                label = f"{finding.severity.value:<{width}}  {finding.check.value}"
                out.append(f"  {label}: {one_line(finding.message)}")
                if finding.hint:
                    out.append(f"  {' ' * width}  hint: {one_line(finding.hint)}")
    out.append(f"\nCheck ({one_line(report.environment)}): {_headline(report)}.")
    return "\n".join(out).lstrip("\n")


_TABLE = ["| Execution | Spec | Check | | Finding |", "|---|---|---|---|---|"]


def check_markdown(report: CheckReport, *, heading: str = "###", limit: int | None = None) -> str:
    """The check for a job summary or a pull-request comment, within ``limit`` characters.

    Rows that do not fit are counted in a last line instead (a check of any size costs one
    comment's worth of work).
    """
    env = md_code(report.environment)
    lines = [f"{heading} reconciler check: {env}", "", f"**{md_text(_headline(report))}**", ""]
    lines += [f"> {md_text(notice, limit=CELL_LIMIT)}" for notice in report.notices[:3]]
    if report.notices:
        lines.append("")
    budget = (limit or 10**12) - _size(lines) - 300
    rows = [
        _row(execution, finding)
        for execution in report.executions
        if report.credentials
        for finding in execution.findings
    ]
    shown: list[str] = []
    if rows:
        budget -= _size(_TABLE)
        for row in rows:
            if len(row) + 1 > budget:
                break
            shown.append(row)
            budget -= len(row) + 1
        lines += [*_TABLE, *shown]
    if len(shown) < len(rows):
        lines += ["", f"_… {len(rows) - len(shown)} more findings not shown here (size limit)._"]
    clean = [e for e in report.executions if not e.findings] if report.credentials else []
    if clean and len(shown) == len(rows):
        names: list[str] = []
        for execution in clean:
            name = md_code(execution.name, limit=80)
            if len(name) + 2 > budget - 100:
                names.append(f"… {len(clean) - len(names)} more")
                break
            names.append(name)
            budget -= len(name) + 2
        lines += [
            "",
            f"<details><summary>{len(clean)} passed every check</summary>",
            "",
            ", ".join(names),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def _row(execution: ExecutionCheck, finding: Finding) -> str:
    text = md_text(finding.message, limit=CELL_LIMIT)
    if finding.hint:
        text += f"<br>_{md_text(finding.hint, limit=CELL_LIMIT)}_"
    return (
        f"| {md_code(execution.name, table=True)} | "
        f"{md_code(_where(execution.source), table=True, limit=200)} | {finding.check.value} | "
        f"{finding.severity.value} | {text} |"
    )


def _where(source: Location) -> str:
    return f"{one_line(source.file)}:{source.line}"


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def check_json(report: CheckReport) -> str:
    """The check as versioned JSON (``kind: check``), the document the comment reads back."""
    payload = {
        "formatVersion": FORMAT_VERSION,
        "kind": "check",
        "environment": report.environment,
        "credentials": report.credentials,
        "requests": report.requests,
        "summary": {
            **{severity.value: report.count(severity) for severity in Severity},
            "clean": report.clean if report.credentials else 0,
        },
        "notices": list(report.notices),
        "executions": [
            {
                "name": e.name,
                "source": {"file": e.source.file, "line": e.source.line},
                "processId": e.process_id,
                "atomId": e.atom_id,
                "passed": [check.value for check in e.passed],
                "findings": [
                    {
                        "check": f.check.value,
                        "severity": f.severity.value,
                        "message": f.message,
                        **({"hint": f.hint} if f.hint else {}),
                        **({"executionIds": list(f.execution_ids)} if f.execution_ids else {}),
                    }
                    for f in e.findings
                ],
            }
            for e in report.executions
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


class CheckDocumentError(UserError):
    """A check document that is not one: ``<source>: <where>: <what was expected>``."""


def parse_check_document(data: bytes | str, source: str) -> CheckReport:
    """Read a ``check --output json`` document strictly; ``CheckDocumentError`` if it is not one.

    What it says about itself (the summary) is not read: the counts are computed again.
    """
    if len(data) > CHECK_SIZE_LIMIT:
        raise CheckDocumentError(f"{source}: larger than {CHECK_SIZE_LIMIT} bytes")
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckDocumentError(f"{source}: not a check document (not JSON)") from None
    reader = _Reader(source)
    top = reader.obj(doc, "document")
    if top.get("kind") != "check":
        raise CheckDocumentError(f'{source}: kind: expected "check"')
    environment = reader.name(top.get("environment"), "environment")
    executions = reader.list(top.get("executions"), "executions", MAX_EXECUTIONS)
    notices = reader.list(top.get("notices", []), "notices", MAX_NOTICES)
    requests = top.get("requests", 0)
    if not isinstance(requests, int) or isinstance(requests, bool) or not 0 <= requests < 10**9:
        raise CheckDocumentError(f"{source}: requests: expected a count")
    credentials = top.get("credentials", True)
    if not isinstance(credentials, bool):
        raise CheckDocumentError(f"{source}: credentials: expected true or false")
    parsed = tuple(reader.execution(item, f"executions[{i}]") for i, item in enumerate(executions))
    return CheckReport(
        environment=environment,
        executions=parsed,
        credentials=credentials,
        notices=tuple(reader.text(n, f"notices[{i}]") for i, n in enumerate(notices)),
        requests=requests,
    )


class _Reader:
    """The strict readers of a check document's parts, naming where a problem is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, expected: str) -> CheckDocumentError:
        return CheckDocumentError(f"{self.source}: {where}: expected {expected}")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "an object")
        return value

    def list(self, value: Any, where: str, limit: int) -> list[Any]:
        if not isinstance(value, list) or len(value) > limit:
            raise self.fail(where, f"a list of at most {limit:,} items")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise self.fail(where, f"a string of at most {MAX_TEXT:,} characters")
        return value

    def name(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            raise self.fail(where, "a name (lower-case letters, digits and dashes)")
        return value

    def ident(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(where, "an id")
        return value

    def execution(self, value: Any, where: str) -> ExecutionCheck:
        item = self.obj(value, where)
        source = self.obj(item.get("source"), f"{where}.source")
        line = source.get("line")
        if not isinstance(line, int) or isinstance(line, bool) or not 0 < line < 10**7:
            raise self.fail(f"{where}.source.line", "a line number")
        passed = self.list(item.get("passed", []), f"{where}.passed", len(Check))
        findings = self.list(item.get("findings", []), f"{where}.findings", MAX_FINDINGS)
        return ExecutionCheck(
            name=self.name(item.get("name"), f"{where}.name"),
            source=Location(file=self.text(source.get("file"), f"{where}.source.file"), line=line),
            process_id=self.ident(item.get("processId"), f"{where}.processId"),
            atom_id=self.ident(item.get("atomId"), f"{where}.atomId"),
            passed=tuple(self.check(p, f"{where}.passed[{i}]") for i, p in enumerate(passed)),
            findings=tuple(
                self.finding(f, f"{where}.findings[{i}]") for i, f in enumerate(findings)
            ),
        )

    def check(self, value: Any, where: str) -> Check:
        try:
            return Check(value)
        except ValueError:
            raise self.fail(where, f"one of {_CHECKS}") from None

    def finding(self, value: Any, where: str) -> Finding:
        item = self.obj(value, where)
        try:
            severity = Severity(str(item.get("severity")))
        except ValueError:
            raise self.fail(f"{where}.severity", "error, warning or unchecked") from None
        ids = self.list(item.get("executionIds", []), f"{where}.executionIds", MAX_IDS)
        return Finding(
            check=self.check(item.get("check"), f"{where}.check"),
            severity=severity,
            message=self.text(item.get("message"), f"{where}.message"),
            hint=self.text(item.get("hint", ""), f"{where}.hint"),
            execution_ids=tuple(
                self.ident(x, f"{where}.executionIds[{i}]") for i, x in enumerate(ids)
            ),
        )
