"""The performance harness runs end to end in quick mode (N=200) and writes sane results.

Timings are never asserted: this machine's load is not the code's fault. What is asserted is
that every step ran, the JSON has its keys, every execution was submitted exactly once, and the
counted figures are finite and plausible.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_quick_benchmark_writes_sane_results(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))

    assert data["mode"] == "quick"
    for key in ("plan", "noop_plan", "memory", "apply", "startup", "targets", "machine"):
        assert key in data, key

    plan = data["plan"]
    assert plan["executions"] == 200
    assert plan["plan"]["exit_code"] == 2  # everything to submit
    assert plan["floor"]["documents"] == plan["documents"]
    assert math.isfinite(plan["ratio"])
    assert plan["ratio"] > 0
    assert plan["one_process"]["exit_code"] == 2  # RECONCILER_JOBS=1 plans the same
    assert plan["one_process"]["summary"] == plan["plan"]["summary"]
    assert plan["plan"]["cpu_seconds"] > 0

    noop = data["noop_plan"]
    assert noop["state_files"] == 200
    assert noop["nothing_to_do"] is True
    assert math.isfinite(noop["ratio"])

    memory = data["memory"]
    assert memory["submissions"]["exactly_once"] is True
    assert memory["final_states"] == 200
    assert 0 < memory["max_rss_mb"] < 10_000

    apply = data["apply"]
    assert apply["executions"] == 200
    assert apply["submissions"] == {
        "submissions": 200,
        "distinct_requests": 200,
        "max_per_request": 1,
        "state_files": 200,
        "exactly_once": True,
    }
    calls = apply["http"]["calls_per_execution"]
    assert math.isfinite(calls)
    assert calls >= 2.0  # at least a POST and one GET of the record per execution
    assert apply["http"]["calls"] == apply["http"]["tool_reported"]["HTTP calls"]
    assert apply["self_caused_503"] >= 0
    assert apply["floor"]["seconds"] > 0
    assert math.isfinite(apply["ratio_to_floor"])
    assert apply["baseline"]["sample_runs"] == 3
    assert math.isfinite(apply["speedup_vs_baseline"])
    repeat = apply["repeat"]  # every request changed: every execution ran again, once
    assert repeat["submissions"]["exactly_once"] is True
    assert repeat["submissions"]["submissions"] == 200
    assert repeat["http"]["calls"] == repeat["http"]["tool_reported"]["HTTP calls"]
    assert math.isfinite(repeat["ratio_to_floor"])

    startup = data["startup"]
    assert startup["help_seconds"] > 0
    assert startup["validate_seconds"] > 0
    assert "heavy_loaded" in startup["imports"]["help"]

    for check in data["targets"].values():
        assert set(check) == {"value", "limit", "met"}
        assert math.isfinite(check["value"])
