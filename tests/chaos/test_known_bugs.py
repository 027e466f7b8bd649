"""Guarantees the harness found broken, as strict xfails: each flips to a failure once fixed.

See docs/reliability.md, "Bugs found". Fixing them belongs in reconciler/engine.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import scenarios
from chaos.harness import Simulator

pytestmark = pytest.mark.e2e


@pytest.mark.xfail(
    reason="bug 1: after an ambiguous submit the query adopts a sibling's run that the state "
    "knows only by requestId (same process and runtime); docs/reliability.md",
    strict=True,
)
def test_an_unprocessed_submit_never_adopts_a_siblings_run(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    result = scenarios.misadoption_repro(chaos_sim, tmp_path)
    assert result["runs"] == {"run-000": result["runs"]["run-000"]}  # b never ran
    assert result["finalWithoutRun"] == []  # ... so b must not be recorded final
    assert result["misattributed"] == []
