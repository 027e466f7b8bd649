"""Every file in tests/cases/invalid produces exactly the lines of its .expected file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.specs.load import load_desired

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT / "tests" / "cases" / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_spec_reports_every_problem_at_its_line(case: Path) -> None:
    result = load_desired([case], root=ROOT)
    expected = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert [str(d) for d in result.diagnostics] == expected
    assert result.runs == []
