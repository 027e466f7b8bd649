"""The performance harness runs every workload, tiny, end to end, and writes sane results.

Timings are never asserted: this machine's load is not the code's fault. What is asserted is
that every step and every case ran, each figure is a median with its range over the rounds
asked for, every execution was submitted exactly once, the counted figures add up, the two
plan workloads differ as they claim, and the markdown report names its command.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORLDS = ("today", "heavy-tail", "rate-bound", "own-speed")
ARGS = (
    *("--quick", "--plan-n", "120", "--apply-n", "40", "--small-apply-n", "10"),
    *("--repeat-world", "today", "--repeat-world", "own-speed"),
)


def spread_ok(figure: dict[str, Any], rounds: int) -> None:
    assert len(figure["rounds"]) == rounds
    assert figure["min"] <= figure["median"] <= figure["max"]
    assert all(math.isfinite(v) and v > 0 for v in figure["rounds"])


def dynamic_templates(specs: Path) -> list[str]:
    """The DPP_RUN_DATE template of every document under ``specs``."""
    return [
        m.group(1)
        for path in sorted(specs.rglob("*.yaml"))
        for m in re.finditer(r"DPP_RUN_DATE: \"([^\"]*)\"", path.read_text(encoding="utf-8"))
    ]


@pytest.mark.e2e
def test_quick_benchmark_writes_sane_results(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    keep = tmp_path / "keep"
    result = subprocess.run(
        [sys.executable, "-m", "bench", *ARGS, "--out", str(out), "--keep", str(keep)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    sizes = data["sizes"]
    assert data["mode"] == "quick"
    assert data["command"] == "python -m bench " + " ".join(
        (*ARGS, "--out", str(out), "--keep", str(keep))
    )
    for key in ("plan", "apply", "memory", "startup", "targets", "machine"):
        assert key in data, key

    # Plan: both workloads, cold and no-op, the floor and the plan in the same process count.
    plan = data["plan"]
    assert plan["executions"] == 120
    for phase, code in (("cold", 2), ("noop", 0)):
        assert set(plan[phase]) == {"distinct", "shared"}
        for measured in plan[phase].values():
            assert measured["exit_code"] == code
            assert measured["jobs"] == plan["jobs"] >= 1
            assert measured["summary"] == measured["one_process_summary"] != ""
            for kind in ("floor", "plan", "floor_one", "plan_one"):
                spread_ok(measured["seconds"][kind], sizes["plan_rounds"])
                spread_ok(measured["cpu_seconds"][kind], sizes["plan_rounds"])
            for ratio in ("ratio", "one_process_ratio", "one_process_cpu_ratio"):
                spread_ok(measured[ratio], sizes["plan_rounds"])
            jobs = f"RECONCILER_JOBS={plan['jobs']} reconciler plan"
            assert jobs in measured["commands"]["plan"]
            assert f"yaml_floor.py specs --jobs {plan['jobs']}" in measured["commands"]["floor"]
            assert "RECONCILER_JOBS=1 reconciler plan" in measured["commands"]["plan_one"]
    assert plan["cold"]["distinct"]["documents"] == plan["cold"]["shared"]["documents"]
    for applied in plan["state_applies"].values():
        assert applied["submitted"] == 120
        assert applied["cpu_ms_per_execution"] > 0
    distinct = dynamic_templates(keep / "plan-distinct" / "specs")
    shared = dynamic_templates(keep / "plan-shared" / "specs")
    assert len(distinct) == len(shared) == plan["cold"]["distinct"]["documents"]
    assert len(set(distinct)) == len(distinct)  # every document its own template text
    assert len(set(shared)) == 1
    workloads = plan["workloads"]
    assert workloads["distinct"]["templates"] == workloads["shared"]["templates"]
    assert workloads["distinct"]["template_sources"] > 10 * workloads["shared"]["template_sources"]

    # Apply: every world at both concurrencies, the small case, the repeats; exactly once.
    apply = data["apply"]
    expected = {f"{w}/N=40/c={c}" for w in WORLDS for c in (50, 1000)} | {"today/N=10/c=50"}
    assert set(apply["first"]) == expected
    assert set(apply["repeat"]) == {
        f"{w}/N=40/c={c}" for w in ("today", "own-speed") for c in (50, 1000)
    }
    assert set(apply["worlds"]) == set(WORLDS)
    for case in [*apply["first"].values(), *apply["repeat"].values()]:
        assert case["exactly_once"] is True
        assert case["self_caused_503"] >= 0
        for figure in ("ratio_to_floor", "wall_seconds", "floor_seconds", "calls_per_execution"):
            spread_ok(case[figure], sizes["apply_rounds"])
        assert set(case["floor_binding"]) <= {"longest run", "slots", "calls"}
        for one in case["rounds"]:
            floor = one["floor"]
            assert floor["min_calls"] == 2 * case["executions"] + floor["min_query_calls"]
            assert floor["seconds"] >= floor["longest_run_seconds"]
            assert floor["seconds"] >= floor["slots_seconds"]
            assert floor["order_floor_seconds"] >= floor["longest_run_seconds"] - 1e-3
            kinds = one["calls_by_kind_per_execution"]
            assert kinds["post"] == 1.0  # one POST per execution, no resubmission
            assert math.isclose(sum(kinds.values()), one["calls_per_execution"], abs_tol=0.01)
            assert one["calls"] == one["tool_reported_calls"]  # the tool counts what the sim saw
    assert apply["baseline"]["sample_runs"] == sizes["baseline_sample"]
    assert math.isfinite(apply["speedup_vs_baseline"])

    memory = data["memory"]
    assert memory["submitted"] == memory["state_files"] == sizes["memory"]
    assert memory["max_rss_mb"] > 0
    assert memory["noop_plan"]["exit_code"] == 0

    startup = data["startup"]
    for key in ("bare", "click", "help", "validate"):
        spread_ok(startup["seconds"][key], sizes["startup_rounds"])
    assert "pydantic" in startup["imports"]["validate"]["heavy_loaded"]

    for check in data["targets"].values():
        assert set(check) == {"value", "limit", "met"}
        assert math.isfinite(check["value"])

    report = out.with_suffix(".md").read_text(encoding="utf-8")
    assert report.startswith(f"Produced by `{data['command']}`")
    for world in WORLDS:
        assert f"| first | {world} | 40 | 50 |" in report
        assert f"| first | {world} | 40 | 1000 |" in report
    assert "cold plan, 120 executions, distinct text (" in report
    assert "`validate` of one spec" in report
