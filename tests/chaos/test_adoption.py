"""Adoption takes a run only when it can be nobody else's (docs/reliability.md, bug 1).

These were strict xfails while the bug stood: the scenarios come from the chaos harness and
drive the real CLI against the simulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import scenarios
from chaos.harness import Simulator

pytestmark = pytest.mark.e2e


def test_an_unprocessed_submit_never_adopts_a_siblings_run(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    # a is known only by requestId (runtime offline); b's submit gets a 500 before processing.
    result = scenarios.misadoption_repro(chaos_sim, tmp_path)
    assert list(result["runs"]) == ["run-000"]  # b never ran ...
    assert result["finalWithoutRun"] == []  # ... so b is not recorded final
    assert result["misattributed"] == []
    assert result["phases"]["run-001"] == "unknown"
    assert result["codes"][1] == 4  # unknown is an exit code of its own, never 0
    # a's run was identified through its requestId, so b's answer is the true one: no run.
    assert any(
        "run-001: unknown: no run of this process" in line and "--resubmit run-001" in line
        for line in result["stderr"]
    )


def test_several_executions_of_one_process_never_take_each_others_runs(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    result = scenarios.shared_process_probe(chaos_sim, tmp_path, trials=4)
    assert result["misadopted"] == 0
    assert result["exitZeroDespiteLoss"] == 0
    assert result["duplicates"] == 0
    assert [row["code"] for row in result["rows"]] == [4, 4, 4, 4]  # the 500'd one is unknown


def test_a_foreign_run_seen_before_our_record_is_not_adopted(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    # Another checkout ran the process a moment ago; our dropped submit did start a run.
    result = scenarios.foreign_run_probe(chaos_sim, tmp_path, trials=6)
    assert result["adoptedForeignRun"] == 0
    assert result["leftUnknown"] == 6  # two runs could be ours: a human says which
