"""The results as rows: for the terminal, and as markdown that ``docs/performance.md`` can paste.

Every figure is ``median (min-max)`` over the rounds; every row names the command that produced
it (with the floor's command where there is one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.stats import DASH, TIMES, text


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    floor: str
    ratio: str
    target: str
    command: str


def _plan_rows(plan: dict[str, Any]) -> list[Row]:
    rows = []
    n, jobs = plan["executions"], plan["jobs"]
    sources = {k: w["template_sources"] for k, w in plan["workloads"].items()}
    for phase, title, limit in (
        ("cold", "cold plan", f"2{TIMES}"),
        ("noop", "no-op plan", f"1.2{TIMES}"),
    ):
        for label, m in plan[phase].items():
            s, cpu, cmd = m["seconds"], m["cpu_seconds"], m["commands"]
            target = f"≤ {limit}" if (phase, label) != ("cold", "shared") else "—"
            rows += [
                Row(
                    f"{title}, {n:,} executions, {label} text "
                    f"({sources.get(label, '?'):,} template sources), {jobs} processes",
                    text(s["plan"], " s"),
                    f"{text(s['floor'], ' s')} (libyaml, {jobs} processes)",
                    text(m["ratio"], TIMES),
                    target,
                    f"{cmd['plan']}  vs  {cmd['floor']}",
                ),
                Row(
                    "  the same in one process",
                    text(s["plan_one"], " s"),
                    text(s["floor_one"], " s"),
                    text(m["one_process_ratio"], TIMES),
                    "",
                    f"{cmd['plan_one']}  vs  {cmd['floor_one']}",
                ),
                Row(
                    "  one process, CPU time",
                    text(cpu["plan_one"], " s"),
                    text(cpu["floor_one"], " s"),
                    text(m["one_process_cpu_ratio"], TIMES),
                    "",
                    "(the same two commands)",
                ),
                Row(
                    "  peak RSS, P processes / one process",
                    f"{m['max_rss_mb']['plan']} / {m['max_rss_mb']['plan_one']} MB",
                    f"{m['max_rss_mb']['floor']} / {m['max_rss_mb']['floor_one']} MB",
                    "",
                    "",
                    "(the same four commands)",
                ),
            ]
    for label, a in plan["state_applies"].items():
        rows.append(
            Row(
                f"apply of {a['executions']:,} ({label} text, no rate limit): CPU, peak RSS",
                f"{a['cpu_ms_per_execution']} ms CPU per execution, {a['max_rss_mb']} MB",
                "",
                f"{a['calls_per_execution']} calls per execution, {a['wall_seconds']} s",
                "",
                a["command"],
            )
        )
    return rows


def _apply_rows(apply: dict[str, Any]) -> list[Row]:
    rows = []
    for phase in ("first", "repeat"):
        for case in apply[phase].values():
            title = (
                f"{phase} apply, {case['world']}, N={case['executions']:,}, "
                f"concurrency {case['concurrency']}"
            )
            rows.append(
                Row(
                    title,
                    f"{text(case['wall_seconds'], ' s')}; "
                    f"{text(case['calls_per_execution'])} calls per execution",
                    f"{text(case['floor_seconds'], ' s')} ({', '.join(case['floor_binding'])}); "
                    f"{text(case['min_calls_per_execution'])} calls",
                    f"{text(case['ratio_to_floor'], TIMES)}",
                    f"≤ 1.1{TIMES}, ≤ 2.2 calls",
                    case["command"],
                )
            )
    return rows


def _other_rows(results: dict[str, Any]) -> list[Row]:
    rows = []
    if "memory" in results:
        m = results["memory"]
        rows.append(
            Row(
                f"apply of {m['executions']:,}: peak RSS",
                f"{m['max_rss_mb']} MB ({m['kb_per_execution']} kB per execution)",
                "",
                "",
                "≤ 250 MB",
                m["command"],
            )
        )
        noop = m["noop_plan"]
        rows.append(
            Row(
                f"no-op plan of {m['executions']:,}: peak RSS",
                f"{noop['max_rss_mb']} MB ({noop['seconds']} s)",
                "",
                "",
                "",
                noop["command"],
            )
        )
    if "startup" in results:
        s = results["startup"]
        rows.append(
            Row(
                "`validate` of one spec",
                text(s["seconds"]["validate"], " s", 3),
                f"{text(s['seconds']['bare'], ' s', 3)} (`python -c pass`)",
                text(s["validate_ratio_to_bare"], TIMES, 1),
                "≤ 0.15 s",
                f"{s['commands']['validate']}  vs  {s['commands']['bare']}",
            )
        )
        rows.append(
            Row(
                "`--help`",
                text(s["seconds"]["help"], " s", 3),
                f"{text(s['seconds']['click'], ' s', 3)} (python with click)",
                text(s["help_ratio_to_bare"], TIMES, 1),
                "",
                s["commands"]["help"],
            )
        )
    return rows


def rows(results: dict[str, Any]) -> list[Row]:
    """Every figure of the results, in report order."""
    out = []
    if "plan" in results:
        out += _plan_rows(results["plan"])
    if "apply" in results:
        out += _apply_rows(results["apply"])
    return out + _other_rows(results)


def _apply_table(apply: dict[str, Any]) -> list[str]:
    lines = [
        "| apply | world | N | concurrency | wall | floor (binding term) | ratio | "
        "ratio to order floor | calls per execution (POST + async GET + query) | "
        "calls floor | 503s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in ("first", "repeat"):
        for case in apply[phase].values():
            kinds = case["rounds"][len(case["rounds"]) // 2]["calls_by_kind_per_execution"]
            split = " + ".join(f"{kinds.get(k, 0):.2f}" for k in ("post", "async_get", "query"))
            extra = sum(v for k, v in kinds.items() if k not in ("post", "async_get", "query"))
            if extra:
                split += f" + {extra:.2f} other"
            lines.append(
                f"| {phase} | {case['world']} | {case['executions']:,} | "
                f"{case['concurrency']} | {text(case['wall_seconds'], ' s', 1)} | "
                f"{text(case['floor_seconds'], ' s', 1)} ({', '.join(case['floor_binding'])}) | "
                f"**{text(case['ratio_to_floor'], TIMES)}** | "
                f"{text(case['ratio_to_order_floor'], TIMES)} | "
                f"**{text(case['calls_per_execution'])}** ({split}) | "
                f"{text(case['min_calls_per_execution'])} | {case['self_caused_503']} |"
            )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The whole report: a header with the command, the tables, the commands."""
    machine = results["machine"]
    out = [
        f"Produced by `{results['command']}` ({results.get('mode', '')}), started "
        f"{results['started_utc']}, {results['bench_seconds']} s; {machine['usable_cpus']} "
        f"usable CPUs, load average {machine['load_average_at_start'][0]} at the start and "
        f"{results['load_average_at_end'][0]} at the end. Every figure: median over the "
        f"rounds (min{DASH}max).",
        "",
    ]
    figures = [r for r in rows(results) if not r.figure.startswith(("first apply", "repeat apply"))]
    if figures:
        out += [
            "| figure | measured | floor (same run) | ratio | target | command |",
            "|---|---|---|---|---|---|",
        ]
        for r in figures:
            out.append(
                f"| {r.figure} | {r.measured} | {r.floor} | {r.ratio} | {r.target} | "
                f"`{r.command}` |"
            )
        out.append("")
    if "apply" in results:
        apply = results["apply"]
        out += [
            f"Apply suite: `reconciler apply` in each case's workspace, {apply['rounds']} "
            f"round(s), time scale {apply['time_scale']:g}, rate limit "
            f"{apply['rate_limit_per_s']:g} requests/s, pollInitial {apply['poll']['initial_s']:g}"
            f" s, pollMax {apply['poll']['max_s']:g} s; floor = max(longest run, Σ run lengths ÷ "
            "concurrency, minimum calls ÷ rate), minimum calls = 2 per execution + batched "
            "query rounds every pollMax (bench/floors.py).",
            "",
            *_apply_table(apply),
            "",
        ]
        for world, description in apply["worlds"].items():
            out.append(f"- **{world}**: {description}")
        if apply.get("baseline"):
            b = apply["baseline"]
            out.append(
                f"- one run at a time (`{b['command']}`): {b['sample_runs']} runs in "
                f"{b['sample_seconds']} s, ≈ {b['estimated_seconds_for_all']} s for all; "
                f"reconciler {apply['speedup_vs_baseline']}{TIMES} faster"
            )
        out.append("")
    return "\n".join(out) + "\n"
