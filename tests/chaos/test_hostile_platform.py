"""The short version of the hostile-platform scenarios of ``python -m chaos`` (reliability.md).

A platform that answers with generated bodies, quotes request bodies back, and fills messages,
statuses and ids with control characters, workflow commands, fences and HTML: the apply never
exits 70, nothing it writes carries a command or markup it did not write, and a secret it sent
is in no file, commit or output line, in any encoding. Each test also checks that the hostile
answers were really served, so a vacuous pass is a failure too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import leaks, responses
from chaos.harness import Simulator

pytestmark = pytest.mark.e2e


def test_generated_platform_answers_never_make_apply_exit_70(
    chaos_sim_elsewhere: Simulator, tmp_path: Path
) -> None:
    result = responses.fuzz_responses(
        chaos_sim_elsewhere, tmp_path, cases=200, batch=100, seed=3, huge=1_000_000,
        bisect_budget=0,
    )  # fmt: skip
    assert result["cases"] == 200 + len(responses.corpus(1))
    assert set(result["byKind"]) >= {"record", "pending", "poll-error", "submit", "query",
                                     "poison", "inject", "echo", "echo_record"}  # fmt: skip
    assert result["exit70Calls"] == 0, result["violations"]
    assert result["violations"] == []
    assert result["casesInAppliesThatFinished"] == result["cases"]


def test_hostile_platform_text_reaches_no_output_channel_as_a_command_or_markup(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    result = leaks.injection(chaos_sim, tmp_path)
    fired = {kind.partition(":")[0] for kinds in result["faultsByEndpoint"].values()
             for kind in kinds}  # fmt: skip
    assert {"inject", "echo", "echo_record", "drop"} <= fired
    assert result["faultsInjected"] >= 20
    assert result["forgedCommands"] == 0
    assert result["unknownMasks"] == 0
    assert result["escapes"] == 0
    assert result["controls"] == 0
    assert result["unclosedFences"] == 0
    assert result["rawHtml"] == 0
    assert result["mentions"] == 0
    assert result["injectedOutputs"] == 0
    assert result["unreadable"] == 0
    assert result["violations"] == []


def test_a_secret_quoted_back_by_the_platform_is_nowhere_in_any_encoding(
    chaos_sim: Simulator, tmp_path: Path
) -> None:
    result = leaks.hostile_canary(chaos_sim, tmp_path)
    assert result["submissionsCarryingCanary"] >= 5  # the value really was sent
    fired = result["faultsByEndpoint"]["executionRequest"]
    assert {"echo:400", "echo:500", "echo:403", "echo_record"} <= set(fired)
    assert result["commits"] >= 2  # intents and the apply's record reached origin
    assert result["hits"] == 0, result["hitPlaces"]
    assert result["partialHits"] == 0
    assert result["violations"] == []
