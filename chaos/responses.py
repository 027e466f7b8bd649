"""The platform-response fuzzer: generated answers, served over HTTP, to the real apply.

Cases come from ``chaos.strategies`` (hypothesis, seeded, generation only) plus a fixed corpus
of the simulator's hostile kinds (every ``poison`` target, ``inject`` into each field, ``echo``,
``echo_record``). A batch gives each case its own process and execution and loads the rules
into the simulator with the world; then ``apply``, ``plan``, ``status`` and ``apply`` again run
through ``reconciler.cli.main`` in this process (the console script's own error boundary), with
the real platform client talking to the simulator on loopback.

What must hold, per call: no exit 70, no traceback or ``internal error``, no exception escaping
``main``; an apply never stops outright (exit 1) because of one answer; ``plan`` and ``status``
still work afterwards (an environment is not wedged). A batch that breaks one is bisected,
within a budget, down to the cases that break it on their own.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded

from chaos import strategies
from chaos.fuzz import Outcome, call
from chaos.harness import Simulator, config_text, internal_errors, process_id, world
from chaos.strategies import Case
from reconciler.sim.faults import POISON_TARGETS

STEPS: tuple[tuple[str, ...], ...] = (("apply",), ("plan",), ("status",), ("apply",))
APPLY_CODES = (0, 3, 4, 5)  # done, failures, unknown, pending: per-run outcomes


def generate(count: int, seed: int) -> list[Case]:
    """``count`` cases from the strategies, reproducibly for ``seed``."""
    collected: list[Case] = []
    round_ = 0
    while len(collected) < count:

        @seeded(seed * 1000 + round_)
        @settings(
            max_examples=count - len(collected),
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategies.cases())
        def draw(case: Case) -> None:
            collected.append(case)

        draw()
        round_ += 1
    return collected[:count]


def corpus(huge: int) -> list[Case]:
    """Every hostile kind of the simulator, once per place it applies.

    ``huge`` is the size of the 50 MB requestId (smaller in the short run).
    """
    cases = []
    for target in POISON_TARGETS:
        endpoint = "executionRequest" if target.startswith("requestId") else "executionRecordAsync"
        rule = {"kind": "poison", "target": target, "endpoint": endpoint, "count": 1}
        if target == "requestIdHuge":
            rule["size"] = huge
        cases.append(Case(f"poison:{target}", (rule,)))
    dropped = {"kind": "drop", "endpoint": "executionRequest", "count": 1}
    for target in ("date", "digits", "deep"):
        query = {"kind": "poison", "target": target, "endpoint": "executionRecordQuery", "count": 2}
        cases.append(Case(f"poison-query:{target}", (dropped, query)))
    for field in ("message", "status", "executionId", "processName", "atomName", "nodeId"):
        rule = {"kind": "inject", "endpoint": "executionRecordAsync", "fields": [field], "count": 1}
        cases.append(Case(f"inject:{field}", (rule,)))
    cases.append(Case("inject:requestId", ({"kind": "inject", "endpoint": "executionRequest",
                                            "fields": ["requestId"], "count": 1},)))  # fmt: skip
    for endpoint, status in (("executionRequest", 400), ("executionRecordAsync", 409)):
        for kind in ("inject", "echo"):
            rule = {"kind": kind, "endpoint": endpoint, "status": status, "count": 1}
            cases.append(Case(f"{kind}:{endpoint}:{status}", (rule,)))
    cases.append(Case("echo:executionRequest:500", ({"kind": "echo", "endpoint": "executionRequest",
                                                     "status": 500, "count": 1},)))  # fmt: skip
    cases.append(Case("echo_record", ({"kind": "echo_record", "endpoint": "executionRequest"},)))
    return cases


@contextlib.contextmanager
def _environment(sim: Simulator) -> Iterator[None]:
    """This process's environment as an apply against ``sim`` needs it (restored after)."""
    saved = dict(os.environ)
    for name in ("GITHUB_ACTIONS", "CI", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        os.environ.pop(name, None)
    os.environ.update(sim.env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _call(args: Sequence[str]) -> Outcome:
    """``call``, with an exception escaping ``main`` turned into exit -1 and its traceback.

    A collection runs right after, inside the capture, so what the call left behind (an
    asyncio task whose exception nobody retrieved) is reported with this call.
    """
    began = time.perf_counter()
    try:
        done = call(args)
    except Exception as exc:  # escaping main is exactly what we count
        text = "".join(traceback.format_exception(exc))
        done = Outcome(-1, "", text, time.perf_counter() - began)
    late = io.StringIO()
    with contextlib.redirect_stderr(late):
        gc.collect()
    return Outcome(done.code, done.out, done.err + late.getvalue(), done.seconds)


def _checkout(folder: Path, count: int, account: str) -> Path:
    (folder / "specs").mkdir(parents=True)
    (folder / "reconciler.yaml").write_text(
        config_text(
            account,
            concurrency=max(4, count),
            rate_limit=1000,
            timeout=5,
            record_timeout=1,
            adopt_after=0.3,
        ),
        encoding="utf-8",
    )
    for index in range(count):
        (folder / "specs" / f"case-{index:03d}.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Execution\nmetadata:\n"
            f"  name: case-{index:03d}\nspec:\n  processId: {process_id(index)}\n"
            f"  atomId: {strategies.ATOM}\n"
            f"  dynamicProperties:\n    CHAOS_NAME: case-{index:03d}\n",
            encoding="utf-8",
        )
    return folder


def run_batch(sim: Simulator, folder: Path, cases: Sequence[Case]) -> dict[str, Any]:
    """Every case of ``cases`` in one checkout: apply, plan, status, apply; what broke."""
    rules = [rule for i, case in enumerate(cases) for rule in case.for_process(process_id(i))]
    sim.reset(world(len(cases), duration=(0.5, 1.5), record_delay=0.5, faults=rules))
    checkout = _checkout(folder, len(cases), sim.env()["BOOMI_ACCOUNT_ID"])
    codes: list[int] = []
    timings: list[float] = []
    problems: list[str] = []
    began = time.perf_counter()
    with _environment(sim), contextlib.chdir(checkout):
        for args in STEPS:
            done = _call(args)
            codes.append(done.code)
            timings.append(round(done.seconds, 2))
            step = f"{' '.join(args)} (step {len(codes)})"
            if done.code == 70 or done.code < 0:
                crash = checkout / "reconciler-crash.log"
                last = crash.read_text("utf-8").strip().splitlines()[-1:] if crash.exists() else []
                problems.append(f"{step}: exit {done.code}: {_first(done.err, last)}")
            elif "Exception in ASGI application" in done.err:
                problems.append(f"{step}: the simulator failed (a harness bug)")
            elif internal_errors(done.out, done.err):
                problems.append(f"{step}: traceback: {_traceback(done.out + done.err)}")
            elif args == ("apply",) and done.code not in APPLY_CODES:
                problems.append(f"{step}: the apply stopped: exit {done.code}: {_first(done.err)}")
            elif args != ("apply",) and done.code != 0:
                problems.append(f"{step}: wedged: exit {done.code}: {_first(done.err)}")
    return {
        "codes": codes,
        "problems": problems,
        "seconds": time.perf_counter() - began,
        "stepSeconds": timings,
    }


def _traceback(text: str) -> str:
    """The line before a traceback (who printed it) and its last line (what was raised)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Traceback (most recent" in line)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()
         and not lines[i].startswith(("Traceback", "During handling", "The above"))),
        len(lines) - 1,
    )  # fmt: skip
    before = lines[start - 1] if start else ""
    return f"{before} … {lines[end] if lines else ''}"[:400]


def _first(err: str, extra: Sequence[str] = ()) -> str:
    lines = [line for line in err.splitlines() if line.startswith(("error", "internal error"))]
    return " | ".join([*lines[:1], *extra])[:400]


def fuzz_responses(
    sim: Simulator,
    workdir: Path,
    *,
    cases: int,
    batch: int = 50,
    seed: int = 1,
    huge: int = 50_000_000,
    bisect_budget: int = 10,
) -> dict[str, Any]:
    """``cases`` generated cases plus the hostile corpus, in batches; figures and violations."""
    began = time.perf_counter()
    generated = generate(cases, seed)
    generation = time.perf_counter() - began
    fixed = corpus(huge)
    everything = fixed + generated
    # The corpus in a batch of its own: a crash there must not hide generated cases.
    batches = [fixed] + [generated[i : i + batch] for i in range(0, len(generated), batch)]
    codes: dict[str, int] = {}
    failed: list[dict[str, Any]] = []
    slowest = 0.0
    unharmed = 0
    for number, group in enumerate(batches):
        outcome = run_batch(sim, workdir / f"batch-{number:04d}", group)
        slowest = max(slowest, outcome["seconds"])
        for code in outcome["codes"]:
            codes[str(code)] = codes.get(str(code), 0) + 1
        if outcome["codes"][0] in APPLY_CODES:
            unharmed += len(group)
        if outcome["problems"]:
            failed.append({"batch": number, "cases": group, "problems": outcome["problems"]})
    culprits: list[dict[str, Any]] = []
    for item in failed[:bisect_budget]:
        culprits += _bisect(sim, workdir / f"bisect-{item['batch']:04d}", item["cases"])
    kinds: dict[str, int] = {}
    for case in everything:
        kinds[case.kind.split(":")[0]] = kinds.get(case.kind.split(":")[0], 0) + 1
    exit70 = sum(1 for f in failed for p in f["problems"] if ": exit 70" in p or ": exit -1" in p)
    violations = [f"batch {f['batch']}: {p}" for f in failed for p in f["problems"]]
    return {
        "cases": len(everything),
        "generated": len(generated),
        "corpus": len(fixed),
        "byKind": kinds,
        "batches": len(batches),
        "batchSize": batch,
        "failedBatches": len(failed),
        "casesInAppliesThatFinished": unharmed,
        "exit70Calls": exit70,
        "problemCalls": len(violations),
        "exitCodes": codes,
        "culpritsIsolated": len(culprits),
        "culprits": culprits,
        "culpritKinds": sorted({c["case"]["kind"] for c in culprits}),
        "bisectedBatches": min(len(failed), bisect_budget),
        "slowestBatchSeconds": round(slowest, 2),
        "generationSeconds": round(generation, 1),
        "violations": violations,
    }


def _bisect(sim: Simulator, folder: Path, cases: Sequence[Case]) -> list[dict[str, Any]]:
    """The cases of a failing batch that fail on their own (halving; each half in a batch).

    A group whose halves both pass fails only in company: reported as such, with its size.
    """
    found: list[dict[str, Any]] = []
    pending = [list(cases)]
    runs = 0
    while pending:
        group = pending.pop()
        middle = len(group) // 2
        failing = 0
        for half in (group[:middle], group[middle:]):
            if not half:
                continue
            outcome = run_batch(sim, folder / f"run-{runs:03d}", half)
            runs += 1
            if not outcome["problems"]:
                continue
            failing += 1
            if len(half) == 1:
                found.append({"case": half[0].describe(), "problems": outcome["problems"]})
            else:
                pending.append(half)
        if not failing and len(group) > 1:
            kinds = sorted({c.kind for c in group})
            found.append({"case": {"kind": f"together: {len(group)} cases", "kinds": kinds},
                          "problems": []})  # fmt: skip
    return found
