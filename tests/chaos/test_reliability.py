"""The short version of ``python -m chaos``: the same scenarios, fewer trials (docs/reliability.md).

Each scenario returns its figures and a list of broken guarantees; these tests assert the list
is empty and that the scenario really exercised what it claims (kills landed, faults fired,
the canary reached the platform), so a vacuous pass is a failure too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import fuzz, scenarios
from chaos.harness import Simulator

pytestmark = pytest.mark.e2e


def test_kill9_during_apply_then_apply_submits_every_run_once(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    result = scenarios.kill9(chaos_sim, tmp_path, trials=5, fleet=12, seed=11, focus=True)
    assert result["violations"] == []
    assert result["killed"] >= 4  # the apply was still running when SIGKILL came
    assert result["staleLockTakenOver"] >= 4  # the dead apply's lock did not block the next
    assert result["duplicates"] == 0
    assert result["lost"] == 0
    assert result["misattributed"] == 0
    assert result["unreadableStateFiles"] == 0
    assert result["submissions"] == 5 * 12  # exactly one run per execution per trial


def test_every_simulator_fault_at_once(chaos_sim: Simulator, tmp_path: Path) -> None:
    result = scenarios.all_faults(
        chaos_sim, tmp_path, fleet=8, seed=0, record_timeout=2, poll_scale=0.0
    )
    assert result["violations"] == []
    injected = result["faultsByEndpoint"]
    assert {"error:503", "drop", "malformed", "error:500", "slow"} <= set(
        injected["executionRequest"]
    )
    assert {"error:503", "drop", "malformed", "error:500"} <= set(injected["executionRecordAsync"])
    assert {"error:503", "malformed"} <= set(injected["executionRecordQuery"])
    assert result["duplicates"] == 0
    assert result["lost"] == 0
    assert result["afterSettling"]["phases"] == {"final": 8}


def test_two_applies_at_once_one_runs_the_other_is_refused(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    result = scenarios.race(chaos_sim, tmp_path, rounds=1)
    assert result["violations"] == []
    assert result["refused"] == 1
    assert result["duplicates"] == 0


def test_secret_canary_never_written_or_printed(chaos_sim: Simulator, tmp_path: Path) -> None:
    result = scenarios.canary(
        chaos_sim, tmp_path, fleet=5, record_timeout=2, poll_scale=0.0, guaranteed="submit"
    )
    assert result["submissionsCarryingCanary"] >= 5  # the value really was used
    assert result["faultsInjected"] >= 7  # ... and went through drops, 500s, malformed bodies
    assert result["leakedFiles"] == []
    assert result["leakedLines"] == 0
    assert result["violations"] == []


def test_fuzzed_specs_never_crash_validate(tmp_path: Path) -> None:
    result = fuzz.fuzz(tmp_path, cases=500, seed=5)
    assert result["violations"] == []
    assert result["failures"] == 0
    assert result["valid"] > 0  # some mutants stay valid: the rendering path ran too
    assert set(result["exitCodes"]) <= {"0", "1"}


def test_template_injection_corpus_never_escapes(tmp_path: Path) -> None:
    result = fuzz.inject(tmp_path)
    assert result["violations"] == []
    assert result["escapes"] == 0
    assert result["sideEffect"] is False
    assert result["cases"] == 4 * len(fuzz.INJECTIONS)
    assert result["refused"] > result["cases"] // 2
