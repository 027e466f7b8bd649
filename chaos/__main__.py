"""``python -m chaos [--quick] [--trials N] [--fuzz N] [--responses N]``: run every scenario.

Results go to ``chaos/results/chaos-<UTC time>.json`` (git-ignored) and a summary to stdout;
the exit status is 1 when any guarantee broke, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos import fuzz, leaks, responses, scenarios
from chaos.harness import serving, serving_elsewhere

RESULTS = Path(__file__).resolve().parent / "results"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short version (as in make test)")
    parser.add_argument("--trials", type=int, help="kill -9 trials (default 100; quick 5)")
    parser.add_argument("--fuzz", type=int, help="fuzzed spec files (default 10000; quick 500)")
    parser.add_argument(
        "--responses", type=int, help="generated platform answers (default 10000; quick 300)"
    )
    parser.add_argument("--fleet", type=int, help="executions per kill trial (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="seed of kill delays and fuzzing")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    parser.add_argument(
        "--only", action="append", metavar="SCENARIO", help="run only these (repeatable)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the harness; return the exit status."""
    args = _parse(argv)
    quick = args.quick
    trials = args.trials if args.trials is not None else (5 if quick else 100)
    cases = args.fuzz if args.fuzz is not None else (500 if quick else 10_000)
    fleet = args.fleet or 12
    answers = args.responses if args.responses is not None else (300 if quick else 10_000)
    began = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"chaos-{'quick' if quick else 'full'}-{stamp}.json"
    report: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "quick" if quick else "full",
        "command": "python -m chaos " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    with tempfile.TemporaryDirectory(prefix="chaos-") as folder, serving() as sim:
        work = Path(folder)
        steps: list[tuple[str, Any]] = [
            (
                "kill9",
                lambda: scenarios.kill9(
                    sim, work / "kill9", trials=trials, fleet=fleet, seed=args.seed, focus=quick
                ),
            ),
            (
                "allFaults",
                lambda: _faults(
                    sim,
                    work / "faults",
                    runs=1 if quick else 5,
                    fleet=8 if quick else 24,
                    record_timeout=3 if quick else 10,
                    poll_scale=0.0 if quick else 1.0,
                ),
            ),
            ("race", lambda: scenarios.race(sim, work / "race", rounds=1 if quick else 20)),
            (
                "canary",
                lambda: scenarios.canary(
                    sim,
                    work / "canary",
                    fleet=6 if quick else 12,
                    record_timeout=3 if quick else 10,
                    poll_scale=0.0 if quick else 1.0,
                    guaranteed="submit" if quick else "all",
                ),
            ),
            ("fuzz", lambda: fuzz.fuzz(work / "fuzz", cases=cases, seed=args.seed)),
            ("injection", lambda: fuzz.inject(work / "inject")),
            (
                "responseFuzz",
                lambda: _responses(
                    work / "responses",
                    cases=answers,
                    seed=args.seed,
                    huge=1_000_000 if quick else 50_000_000,
                    bisect=0 if quick else 5,
                ),
            ),
            ("injectionChannels", lambda: leaks.injection(sim, work / "channels")),
            ("hostileCanary", lambda: leaks.hostile_canary(sim, work / "hostile-canary")),
            ("exhaustion", lambda: _exhaustion(work / "exhaustion")),
        ]
        if not quick:
            steps.append(
                (
                    "sharedProcessProbe",
                    lambda: scenarios.shared_process_probe(sim, work / "shared", trials=20),
                )
            )
            steps.append(
                (
                    "foreignRunProbe",
                    lambda: scenarios.foreign_run_probe(sim, work / "foreign", trials=20),
                )
            )
        if args.only:
            steps = [(name, step) for name, step in steps if name in args.only]
        for name, step in steps:
            t0 = time.monotonic()
            print(f"{name} ...", file=sys.stderr, flush=True)
            result = step()
            result["seconds"] = round(time.monotonic() - t0, 1)
            report[name] = result
            print(f"{name}: {_line(name, result)}", file=sys.stderr, flush=True)
            _write(path, report)  # after every step: an interrupted run keeps its figures
    report["seconds"] = round(time.monotonic() - began, 1)
    violations = {
        name: value["violations"]
        for name, value in report.items()
        if isinstance(value, dict) and value.get("violations")
    }
    report["violations"] = violations
    _write(path, report)
    print(json.dumps(_summary(report), indent=2))
    print(f"results: {path}", file=sys.stderr)
    return 1 if violations else 0


def _responses(work: Path, *, cases: int, seed: int, huge: int, bisect: int) -> dict[str, Any]:
    """The platform-response fuzzer, against a simulator in a process of its own.

    The applies run in this process, and would otherwise share its interpreter lock with the
    server.
    """
    with serving_elsewhere() as sim:
        return responses.fuzz_responses(
            sim, work, cases=cases, batch=100, seed=seed, huge=huge, bisect_budget=bisect
        )


def _exhaustion(work: Path) -> dict[str, Any]:
    """``chaos.exhaustion.exhaustion`` when that module is on this branch (another change)."""
    try:
        module = importlib.import_module("chaos.exhaustion")
    except ModuleNotFoundError as exc:
        if exc.name != "chaos.exhaustion":
            raise
        return {"skipped": "chaos/exhaustion.py is not on this branch", "violations": []}
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = dict(module.exhaustion(work))
    result.setdefault("violations", [])
    return result


def _write(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _faults(
    sim: Any, work: Path, *, runs: int, fleet: int, record_timeout: float, poll_scale: float
) -> dict[str, Any]:
    """``all_faults`` ``runs`` times with different seeds, summed."""
    rows = []
    for seed in range(runs):
        result = scenarios.all_faults(
            sim, work, fleet=fleet, seed=seed, record_timeout=record_timeout, poll_scale=poll_scale
        )
        result.pop("_checkout")
        result.pop("_outputs")
        rows.append(result)
    return {
        "runs": runs,
        "fleet": fleet,
        "faultPlan": rows[0]["faultPlan"],
        "faultsInjected": sum(r["faultsInjected"] for r in rows),
        "requests": sum(r["requests"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
        "lost": sum(r["lost"] for r in rows),
        "unknownUnderFaults": sum(r["underFaults"]["phases"].get("unknown", 0) for r in rows),
        "finalUnderFaults": sum(r["underFaults"]["phases"].get("final", 0) for r in rows),
        "resubmitsAfterCheckingPlatform": sum(r["settle"]["resubmits"] for r in rows),
        "manualAdopts": sum(r["settle"]["manualAdopts"] for r in rows),
        "violations": [v for r in rows for v in r["violations"]],
        "rows": [{k: v for k, v in r.items() if k != "faultPlan"} for r in rows],
    }


_KEYS = {
    "kill9": (
        "trials",
        "killed",
        "killedWithIntentOrUnknown",
        "submissions",
        "duplicates",
        "lost",
        "misattributed",
        "unreadableStateFiles",
        "manualAdopts",
        "resubmitsAfterCheckingPlatform",
    ),
    "allFaults": (
        "runs",
        "faultsInjected",
        "requests",
        "duplicates",
        "lost",
        "unknownUnderFaults",
        "manualAdopts",
        "resubmitsAfterCheckingPlatform",
    ),
    "race": ("rounds", "refused", "duplicates"),
    "canary": (
        "submissionsCarryingCanary",
        "filesScanned",
        "outputLinesScanned",
        "leakedFiles",
        "leakedLines",
    ),
    "fuzz": ("cases", "valid", "failures", "exitCodes", "slowestCaseSeconds"),
    "injection": ("payloads", "cases", "refused", "renderedInertly", "escapes", "sideEffect"),
    "responseFuzz": (
        "cases",
        "generated",
        "corpus",
        "failedBatches",
        "exit70Calls",
        "problemCalls",
        "culpritsIsolated",
        "culpritKinds",
        "slowestBatchSeconds",
    ),
    "injectionChannels": (
        "faultsInjected",
        "commands",
        "forgedCommands",
        "unknownMasks",
        "escapes",
        "controls",
        "unclosedFences",
        "rawHtml",
        "mentions",
        "injectedOutputs",
        "unreadable",
        "byChannel",
    ),
    "hostileCanary": (
        "submissionsCarryingCanary",
        "faultsInjected",
        "filesScanned",
        "commits",
        "outputLinesScanned",
        "hits",
        "hitPlaces",
        "hitForms",
        "partialHits",
    ),
    "exhaustion": (),  # whatever the scenario reports: every top-level number and string
    "sharedProcessProbe": ("trials", "misadopted", "exitZeroDespiteLoss", "duplicates"),
    "foreignRunProbe": ("trials", "adoptedForeignRun", "exitZeroDespiteIt", "leftUnknown"),
}


def _line(name: str, result: dict[str, Any]) -> str:
    keys = _KEYS.get(name, ())
    if not keys:
        keys = tuple(k for k, v in result.items() if isinstance(v, (int, float, str)))
    shown = {k: result.get(k) for k in keys}
    shown["violations"] = len(result.get("violations", []))
    shown["seconds"] = result.get("seconds")
    return json.dumps(shown)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: report[k] for k in ("started", "mode", "seconds")}
    for name in _KEYS:
        if name in report:
            out[name] = json.loads(_line(name, report[name]))
    out["violations"] = sum(len(v) for v in report["violations"].values())
    return out


if __name__ == "__main__":
    sys.exit(main())
