"""The scenarios: kill -9 mid-apply, every simulator fault at once, racing applies, the canary.

Each scenario returns a JSON-able dict of what it measured; ``violations`` lists every broken
guarantee (empty when all held). The pytest versions in ``tests/chaos/`` assert on the same
dicts, so the short run in ``make test`` and the full harness check the same things.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chaos.fuzz import call
from chaos.harness import (
    CANARY_VARIABLE,
    Audit,
    Simulator,
    audit,
    internal_errors,
    make_checkout,
    names,
    pending,
    reconciler_env,
    run,
    spawn,
    unresolved,
    world,
)

FINAL_CODES = (0, 3)  # every run final: all succeeded, or some failed as the world decides


def settle(
    checkout: Path, sim: Simulator, env: Mapping[str, str], *, rounds: int = 6
) -> dict[str, Any]:
    """Apply until every execution is final, acting as the human the protocol asks for.

    Exit 4 means a submit is ``unknown`` and the engine found no single run to adopt. The
    harness then does what docs/engine.md tells a user to do, with the simulator's submission
    log standing in for a look at the platform: ``--resubmit NAME`` when no run exists,
    ``--adopt NAME=ID`` when exactly one does (counted separately: the query missed it).
    """
    codes: list[int] = []
    errors: list[str] = []
    resubmits = adopts = 0
    args: list[str] = []
    for _ in range(rounds):
        done = run(checkout, env, "apply", *args)
        codes.append(done.code)
        errors += internal_errors(done.out, done.err)
        args = []
        if done.code in FINAL_CODES and not pending(checkout):
            break
        if done.code not in (*FINAL_CODES, 4, 5):
            break
        if done.code == 4:
            runs = sim.runs_by_name()
            for name in unresolved(checkout):
                ids = runs.get(name, [])
                if not ids:
                    args += ["--resubmit", name]
                    resubmits += 1
                elif len(ids) == 1:
                    args += ["--adopt", f"{name}={ids[0]}"]
                    adopts += 1
    return {"codes": codes, "errors": errors, "resubmits": resubmits, "manualAdopts": adopts}


def _violations(final: Audit, extra: Sequence[str] = ()) -> list[str]:
    out = list(extra)
    if final.duplicates:
        out.append(f"{final.duplicates} duplicate submission(s): {final.runs}")
    if final.unreadable:
        out.append(f"unreadable state: {final.unreadable}")
    if final.misattributed:
        out.append(f"state names another execution's run: {final.misattributed}")
    if final.final_without_run:
        out.append(f"final without a run on the platform (lost): {final.final_without_run}")
    if final.strangers:
        out.append(f"runs of unknown executions: {final.strangers}")
    return out


def calibrate(sim: Simulator, workdir: Path, fleet: int) -> dict[str, float]:
    """Time one undisturbed apply: when the first state file appears, and when it exits."""
    sim.reset(world(fleet))
    checkout = make_checkout(workdir / "calibrate", fleet)
    state = checkout / "state" / "default"
    began = time.monotonic()
    process = spawn(checkout, reconciler_env(sim), "apply")
    first = 0.0
    while process.poll() is None:
        if not first and state.is_dir() and any(state.glob("*.json")):
            first = time.monotonic() - began
        time.sleep(0.002)
    process.communicate()
    total = time.monotonic() - began
    return {"firstStateWrite": round(first, 3), "total": round(total, 3)}


def kill9(
    sim: Simulator,
    workdir: Path,
    *,
    trials: int,
    fleet: int,
    seed: int = 1,
    focus: bool = False,
) -> dict[str, Any]:
    """SIGKILL ``reconciler apply`` at a random moment, then apply to completion; repeat.

    The moment is drawn from the apply's own progress, so it means the same on a loaded
    machine: a target N uniform in 0..fleet; the kill comes 0-30 ms after the N-th state file
    appears (an execution's file appears with its first intent), 0-400 ms for N = fleet (the
    polls and the artifacts), and for N = 0 at a delay uniform over the start-up (up to the
    moment an undisturbed apply writes its first state file, calibrated at start). ``focus``
    keeps N >= 1: every kill lands among the submits and polls.
    """
    rng = random.Random(seed)
    # Only a start-up kill (N = 0) needs to know how long the start-up takes.
    timing = {"firstStateWrite": 0.0, "total": 0.0} if focus else calibrate(sim, workdir, fleet)
    expected = names(fleet)
    rows: list[dict[str, Any]] = []
    for trial in range(trials):
        sim.reset(world(fleet, seed=trial))
        checkout = make_checkout(workdir / f"kill-{trial:03d}", fleet)
        env = reconciler_env(sim)
        target = rng.randint(1 if focus else 0, fleet)
        jitter = rng.uniform(0, 0.4 if target == fleet and not focus else 0.03)
        startup = rng.uniform(0.05, max(0.06, timing["firstStateWrite"]))
        process = spawn(checkout, env, "apply")
        killed, delay = _kill_at(process, checkout / "state" / "default", target, jitter, startup)
        out, err = process.communicate(timeout=60)
        at_kill = audit(checkout, sim, expected)
        holder = (checkout / "state" / ".reconciler.lock.holder").exists()
        settled = settle(checkout, sim, env)
        final = audit(checkout, sim, expected)
        problems = _violations(final, settled["errors"] + internal_errors(out, err))
        if settled["codes"][-1] not in FINAL_CODES:
            problems.append(f"did not settle: exit codes {settled['codes']}")
        if final.not_final:
            problems.append(f"not final after settling: {final.not_final}")
        if at_kill.unreadable:
            problems.append(f"unreadable right after the kill: {at_kill.unreadable}")
        rows.append(
            {
                "trial": trial,
                "target": target,
                "delay": round(delay, 3),
                "killed": killed,
                "staleLockHolder": holder,
                "atKill": at_kill.as_dict(),
                "settle": {k: v for k, v in settled.items() if k != "errors"},
                "final": final.as_dict(),
                "violations": problems,
            }
        )
    return _kill_summary(rows, timing, fleet)


def _kill_at(
    process: subprocess.Popen[str], state: Path, target: int, jitter: float, startup: float
) -> tuple[bool, float]:
    """Wait for ``target`` state files (or ``startup`` seconds when 0), then SIGKILL."""
    began = time.monotonic()
    if target == 0:
        time.sleep(startup)
    else:
        while process.poll() is None and time.monotonic() - began < 60:
            if state.is_dir() and sum(1 for _ in state.glob("*.json")) >= target:
                break
            time.sleep(0.002)
        time.sleep(jitter)
    killed = process.poll() is None
    if killed:
        process.kill()
    return killed, time.monotonic() - began


def _kill_summary(
    rows: list[dict[str, Any]], timing: dict[str, float], fleet: int
) -> dict[str, Any]:
    phases_at_kill: dict[str, int] = {}
    for row in rows:
        for phase, count in row["atKill"]["phases"].items():
            phases_at_kill[phase] = phases_at_kill.get(phase, 0) + count
    killed = [r for r in rows if r["killed"]]
    return {
        "trials": len(rows),
        "fleet": fleet,
        "calibration": timing,
        "delays": [min(r["delay"] for r in rows), max(r["delay"] for r in rows)] if rows else [],
        "killed": len(killed),
        "killedWithIntentOrUnknown": sum(
            1 for r in killed if {"intent", "unknown"} & set(r["atKill"]["phases"])
        ),
        "killedWithRunsInFlight": sum(1 for r in killed if r["atKill"]["submissions"]),
        "statePhasesAtKill": phases_at_kill,
        "staleLockTakenOver": sum(1 for r in killed if r["staleLockHolder"]),
        "submissions": sum(r["final"]["submissions"] for r in rows),
        "duplicates": sum(r["final"]["duplicates"] for r in rows),
        "lost": sum(len(r["final"]["notFinal"]) + len(r["final"]["finalWithoutRun"]) for r in rows),
        "misattributed": sum(len(r["final"]["misattributed"]) for r in rows),
        "unreadableStateFiles": sum(len(r["final"]["unreadable"]) for r in rows)
        + sum(len(r["atKill"]["unreadable"]) for r in rows),
        "strayTempFiles": sum(r["atKill"]["tempFiles"] for r in rows),
        "resubmitsAfterCheckingPlatform": sum(r["settle"]["resubmits"] for r in rows),
        "manualAdopts": sum(r["settle"]["manualAdopts"] for r in rows),
        "appliesToSettle": sum(len(r["settle"]["codes"]) for r in rows),
        "violations": [f"trial {r['trial']}: {v}" for r in rows for v in r["violations"]],
        "rows": rows,
    }


# Every fault kind the simulator has, on the endpoints an apply uses. First match wins, so the
# effective rates are lower than the listed ones; the simulator counts what it really injected.
ALL_FAULTS: tuple[dict[str, Any], ...] = (
    # 503 storm on submits: rejected before any effect, so the client may (and does) retry.
    {"endpoint": "executionRequest", "kind": "error", "status": 503, "rate": 0.3},
    {"endpoint": "executionRequest", "kind": "slow", "delay": 0.3, "rate": 0.15},
    # Processed, then the answer is lost or unreadable: the run exists, the client cannot know.
    {"endpoint": "executionRequest", "kind": "drop", "rate": 0.1},
    {"endpoint": "executionRequest", "kind": "malformed", "rate": 0.1},
    {
        "endpoint": "executionRequest",
        "kind": "error",
        "status": 500,
        "processed": True,
        "rate": 0.1,
    },
    # A 500 before processing: nothing ran, and the client cannot know that either.
    {"endpoint": "executionRequest", "kind": "error", "status": 500, "rate": 0.05},
    {"endpoint": "executionRecordAsync", "kind": "error", "status": 503, "rate": 0.3},
    {"endpoint": "executionRecordAsync", "kind": "error", "status": 500, "rate": 0.1},
    {"endpoint": "executionRecordAsync", "kind": "malformed", "rate": 0.1},
    {"endpoint": "executionRecordAsync", "kind": "drop", "rate": 0.05},
    {"endpoint": "executionRecordAsync", "kind": "slow", "delay": 0.2, "rate": 0.1},
    {"endpoint": "executionRecordQuery", "kind": "error", "status": 503, "rate": 0.3},
    {"endpoint": "executionRecordQuery", "kind": "error", "status": 500, "rate": 0.1},
    {"endpoint": "executionRecordQuery", "kind": "malformed", "rate": 0.1},
    {"endpoint": "executionRecordQuery", "kind": "slow", "delay": 0.2, "rate": 0.1},
    {"endpoint": "*", "kind": "error", "status": 504, "rate": 0.05},
)


# Fired first, one after the other, so every kind happens at least once whatever the random
# rules below draw: the first requests to each endpoint meet these in order.
GUARANTEED: tuple[dict[str, Any], ...] = (
    {"endpoint": "executionRequest", "kind": "error", "status": 503, "count": 2},
    {"endpoint": "executionRequest", "kind": "drop", "count": 1},
    {"endpoint": "executionRequest", "kind": "malformed", "count": 1},
    {"endpoint": "executionRequest", "kind": "error", "status": 500, "processed": True, "count": 1},
    {"endpoint": "executionRequest", "kind": "error", "status": 500, "count": 1},
    {"endpoint": "executionRequest", "kind": "slow", "delay": 0.3, "count": 1},
    {"endpoint": "executionRecordAsync", "kind": "error", "status": 503, "count": 2},
    {"endpoint": "executionRecordAsync", "kind": "malformed", "count": 1},
    {"endpoint": "executionRecordAsync", "kind": "drop", "count": 1},
    {"endpoint": "executionRecordAsync", "kind": "error", "status": 500, "count": 1},
    {"endpoint": "executionRecordQuery", "kind": "error", "status": 503, "count": 1},
    {"endpoint": "executionRecordQuery", "kind": "malformed", "count": 1},
)


def fault_plan(poll_scale: float = 1.0, *, guaranteed: str = "all") -> list[dict[str, Any]]:
    """``GUARANTEED``, then ``ALL_FAULTS`` with the rates on polls and queries times ``poll_scale``.

    The short test scales those down: the client backs off up to 8 times per read, so a long
    streak of poll faults can stretch one apply to half a minute. ``guaranteed`` is ``all``,
    ``submit`` (only the rules on submits) or ``none``.
    """
    plan = [
        dict(rule)
        for rule in GUARANTEED
        if guaranteed == "all"
        or (guaranteed == "submit" and rule["endpoint"] == "executionRequest")
    ]
    for rule in ALL_FAULTS:
        if rule["endpoint"] != "executionRequest":
            rule = {**rule, "rate": round(rule["rate"] * poll_scale, 4)}
        plan.append(dict(rule))
    return plan


def all_faults(
    sim: Simulator,
    workdir: Path,
    *,
    fleet: int,
    seed: int = 0,
    rate_limit: float = 20,
    extra_env: Mapping[str, str] | None = None,
    secret: bool = False,
    record_timeout: float = 10,
    poll_scale: float = 1.0,
    guaranteed: str = "all",
) -> dict[str, Any]:
    """Every fault at once, plus the account's own rate limit (real 503s) under a greedy client.

    Stage 1, faults on: apply, and apply again while runs are left pending. Then every
    execution must be ``final`` or ``unknown``, none submitted twice, none holding another's
    run. Stage 2, faults off: settle as a user would; then every execution is final.
    """
    plan = fault_plan(poll_scale, guaranteed=guaranteed)
    sim.reset(world(fleet, seed=seed, rate_limit=rate_limit, faults=plan))
    checkout = make_checkout(
        workdir / f"faults-{seed}",
        fleet,
        secret=secret,
        rate_limit=100,
        record_timeout=record_timeout,  # also how long a "no run yet" query keeps looking
    )
    env = reconciler_env(sim, extra_env)
    expected = names(fleet)
    codes: list[int] = []
    outputs: list[str] = []
    errors: list[str] = []
    for _ in range(4):
        done = run(checkout, env, "apply")
        codes.append(done.code)
        outputs += [done.out, done.err]
        errors += internal_errors(done.out, done.err)
        # Resume while runs are left pending: exit 5, or exit 3/4 (which outrank 5) with a run
        # still `submitted` (its polls failed 8 times in a row under the fault storm).
        if done.code != 5 and not pending(checkout):
            break
    stats = sim.stats()
    during = audit(checkout, sim, expected)
    problems = _violations(during, errors)
    if codes[-1] not in (0, 3, 4):
        problems.append(f"unexpected exit codes under faults: {codes}")
    if any(code == 1 for code in codes):
        problems.append(f"an apply failed outright under faults: {codes}")
    odd = {n: p for n, p in during.phases.items() if p not in ("final", "unknown")}
    missing = [n for n in expected if n not in during.phases]
    if odd or missing:
        problems.append(f"neither final nor unknown: {odd}, no state: {missing}")
    sim.set_faults([])
    settled = settle(checkout, sim, env)
    after = audit(checkout, sim, expected)
    problems += _violations(after, settled["errors"])
    if after.not_final:
        problems.append(f"not final once faults stopped: {after.not_final}")
    return {
        "fleet": fleet,
        "faultPlan": plan,
        "worldRateLimit": rate_limit,
        "faultsInjected": stats["faultsInjected"],
        "faultsByEndpoint": stats["faults"],
        "rateLimited503": stats["rateLimited"],
        "requests": stats["total"],
        "codesUnderFaults": codes,
        "underFaults": during.as_dict(),
        "settle": {k: v for k, v in settled.items() if k != "errors"},
        "afterSettling": after.as_dict(),
        "duplicates": after.duplicates,
        "lost": len(after.not_final) + len(after.final_without_run),
        "violations": problems,
        "_checkout": str(checkout),
        "_outputs": outputs,
    }


def race(sim: Simulator, workdir: Path, *, rounds: int, fleet: int = 4) -> dict[str, Any]:
    """Two applies started together on one checkout: one runs, the other is refused by the lock."""
    expected = names(fleet)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for index in range(rounds):
        # Runs of 50 simulated seconds (1 s of real time) keep the winner inside its lock well
        # past the moment the loser, started in the same instant, reaches it.
        sim.reset(world(fleet, duration=50.0, seed=index))
        checkout = make_checkout(workdir / f"race-{index}", fleet)
        env = reconciler_env(sim)
        first, second = spawn(checkout, env, "apply"), spawn(checkout, env, "apply")
        results = []
        for process in (first, second):
            out, err = process.communicate(timeout=120)
            results.append((process.pid, process.returncode, out, err))
        refused = [r for r in results if r[1] == 1]
        ran = [r for r in results if r[1] in FINAL_CODES]
        final = audit(checkout, sim, expected)
        row_problems = _violations(final, internal_errors(*(r[2] + r[3] for r in results)))
        if len(refused) != 1 or len(ran) != 1:
            row_problems.append(f"expected one refusal and one apply, got {results}")
        else:
            message = refused[0][3]
            wanted = f"error: state is locked by another apply: pid {ran[0][0]} on "
            if wanted not in message or "reconciler state unlock" not in message:
                row_problems.append(f"the refusal does not name the holder: {message!r}")
            if sim.submissions() and len(final.runs) != fleet:
                row_problems.append(f"not every execution ran once: {final.runs}")
            if final.not_final:
                row_problems.append(f"not final: {final.not_final}")
        rows.append(
            {
                "round": index,
                "codes": sorted(r[1] for r in results),
                "refusal": refused[0][3].strip().splitlines()[:2] if refused else None,
                "submissions": sum(len(v) for v in final.runs.values()),
                "duplicates": final.duplicates,
            }
        )
        problems += [f"round {index}: {p}" for p in row_problems]
    return {
        "rounds": rounds,
        "fleet": fleet,
        "refused": sum(1 for r in rows if 1 in r["codes"] and set(r["codes"]) & {0, 3}),
        "duplicates": sum(r["duplicates"] for r in rows),
        "rows": rows,
        "violations": problems,
    }


def canary(
    sim: Simulator,
    workdir: Path,
    *,
    fleet: int = 8,
    seed: int = 3,
    record_timeout: float = 10,
    poll_scale: float = 1.0,
    guaranteed: str = "all",
) -> dict[str, Any]:
    """A secret with a unique value, used by every spec, through an apply with failures.

    The value must reach the platform (else the check proves nothing) and must appear in no
    file of the checkout (state, artifacts, crash log) and in no line of any command's output.
    """
    value = f"canary-{random.Random(seed).getrandbits(96):024x}"
    extra = {CANARY_VARIABLE: value}
    result = all_faults(
        sim,
        workdir,
        fleet=fleet,
        seed=seed,
        extra_env=extra,
        secret=True,
        record_timeout=record_timeout,
        poll_scale=poll_scale,
        guaranteed=guaranteed,
    )
    checkout = Path(result.pop("_checkout"))
    outputs: list[str] = result.pop("_outputs")
    env = reconciler_env(sim, extra)
    failed: list[str] = []
    # The read-only commands in-process (they never resolve a secret; this saves start-ups).
    with contextlib.chdir(checkout):
        for args in (("plan",), ("status",), ("validate",), ("render", names(fleet)[0])):
            shown = call(list(args))
            outputs += [shown.out, shown.err]
            if shown.code != 0:
                failed.append(f"reconciler {' '.join(args)} exited {shown.code}")
    # One more apply, submitting a new spec after the faults stopped.
    (checkout / "specs" / "new.yaml").write_text(
        (checkout / "specs" / f"{names(fleet)[1]}.yaml")
        .read_text(encoding="utf-8")
        .replace(f"name: {names(fleet)[1]}", "name: new"),
        encoding="utf-8",
    )
    done = run(checkout, env, "apply")
    outputs += [done.out, done.err]
    sent = sum(1 for s in sim.submissions() if s["properties"]["dynamic"].get("API_KEY") == value)
    needle = value.encode()
    leaked_files = [
        str(p.relative_to(checkout))
        for p in sorted(checkout.rglob("*"))
        if p.is_file() and needle in p.read_bytes()
    ]
    leaked_lines = [line for text in outputs for line in text.splitlines() if value in line]
    files = sum(1 for p in checkout.rglob("*") if p.is_file())
    problems = list(result["violations"]) + failed
    if not sent:
        problems.append("the canary never reached the platform: the check proves nothing")
    if leaked_files:
        problems.append(f"canary in files: {leaked_files}")
    if leaked_lines:
        problems.append(f"canary in {len(leaked_lines)} output line(s)")
    return {
        "submissionsCarryingCanary": sent,
        "filesScanned": files,
        "outputLinesScanned": sum(len(t.splitlines()) for t in outputs),
        "leakedFiles": leaked_files,
        "leakedLines": len(leaked_lines),
        "faultsInjected": result["faultsInjected"],
        "violations": problems,
    }


def shared_process_probe(sim: Simulator, workdir: Path, *, trials: int) -> dict[str, Any]:
    """Several executions of one process on one runtime, one submit answered 500 unprocessed.

    Nothing ran for that execution: it must stay ``unknown`` and adopt no sibling's run
    (docs/reliability.md, bug 1a, fixed).
    """
    rows: list[dict[str, Any]] = []
    for trial in range(trials):
        fault = {
            "endpoint": "executionRequest",
            "kind": "error",
            "status": 500,
            "count": 1,
            "after": 1 + trial % 4,
        }
        sim.reset(world(1, duration=(2.0, 4.0), faults=[fault], seed=trial))
        checkout = make_checkout(workdir / f"shared-{trial}", 6, record_timeout=3)
        for path in (checkout / "specs").glob("*.yaml"):
            index = int(path.stem.rsplit("-", 1)[1])
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(_pid(index), _pid(0)), encoding="utf-8")
        done = run(checkout, reconciler_env(sim), "apply")
        found = audit(checkout, sim, names(6))
        rows.append(
            {
                "code": done.code,
                "misattributed": found.misattributed,
                "finalWithoutRun": found.final_without_run,
                "duplicates": found.duplicates,
            }
        )
    figures = {
        "trials": trials,
        "misadopted": sum(1 for r in rows if r["misattributed"]),
        "exitZeroDespiteLoss": sum(1 for r in rows if r["finalWithoutRun"] and r["code"] == 0),
        "duplicates": sum(r["duplicates"] for r in rows),
    }
    violations = [f"{key}: {value}" for key, value in figures.items() if key != "trials" and value]
    return {**figures, "violations": violations, "rows": rows}


def _pid(index: int) -> str:
    from chaos.harness import process_id

    return process_id(index)


def misadoption_repro(sim: Simulator, workdir: Path) -> dict[str, Any]:
    """The deterministic reproduction of adoption bug 1a (docs/reliability.md; fixed).

    ``a`` and ``b`` run the same process on the same runtime. ``a`` is submitted while the
    runtime is offline, so its state keeps a requestId but no executionId. Then ``apply
    --select b`` gets a 500 before processing: nothing ran for ``b``. The query after that
    ambiguous submit finds one run, ``a``'s; before the fix it adopted it, now it looks ``a``
    up by requestId first and leaves ``b`` unknown with "no run".
    """
    sim.reset(world(1))
    checkout = make_checkout(workdir / "misadoption", 2, record_timeout=1)
    for path in (checkout / "specs").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(_pid(1), _pid(0)), encoding="utf-8")
    env = reconciler_env(sim)
    a, b = names(2)
    sim.runtime("OFFLINE")
    first = run(checkout, env, "apply", "--select", a)
    sim.runtime("ONLINE")
    sim.set_faults([{"endpoint": "executionRequest", "kind": "error", "status": 500, "count": 1}])
    time.sleep(0.1)  # let a's run produce its record
    second = run(checkout, env, "apply", "--select", b)
    found = audit(checkout, sim, [a, b])
    return {
        "codes": [first.code, second.code],
        "runs": found.runs,
        "phases": found.phases,
        "executionIds": found.execution_ids,
        "misattributed": found.misattributed,
        "finalWithoutRun": found.final_without_run,
        "stderr": second.err.splitlines(),
    }


def foreign_run_probe(sim: Simulator, workdir: Path, *, trials: int) -> dict[str, Any]:
    """A foreign run of the same process, then our submit processed but its answer dropped.

    Another checkout ran the same process on the same runtime a moment ago (docs/reliability.md,
    bug 1b, fixed). Our run exists, so the query must find it. When the query comes before our
    run's record is visible, the only unexplained run is the other checkout's: it must not be
    adopted (two runs could be ours once both are visible, so the execution stays ``unknown``).
    """
    rows: list[dict[str, Any]] = []
    for trial in range(trials):
        sim.reset(world(1, seed=trial))
        env = reconciler_env(sim)
        other = make_checkout(workdir / f"foreign-other-{trial}", 1)
        first = run(other, env, "apply")
        mine = make_checkout(workdir / f"foreign-mine-{trial}", 2, record_timeout=3)
        (mine / "specs" / "run-000.yaml").unlink()
        spec = mine / "specs" / "run-001.yaml"
        spec.write_text(spec.read_text("utf-8").replace(_pid(1), _pid(0)), encoding="utf-8")
        sim.set_faults([{"endpoint": "executionRequest", "kind": "drop", "count": 1}])
        done = run(mine, env, "apply")
        found = audit(mine, sim, ["run-001"])
        rows.append(
            {
                "codes": [first.code, done.code],
                "phase": found.phases.get("run-001"),
                "adoptedForeignRun": found.misattributed == ["run-001"],
                "ownRunUntracked": bool(found.runs.get("run-001"))
                and found.execution_ids.get("run-001") not in found.runs["run-001"],
            }
        )
    adopted = sum(1 for r in rows if r["adoptedForeignRun"])
    return {
        "trials": trials,
        "adoptedForeignRun": adopted,
        "exitZeroDespiteIt": sum(1 for r in rows if r["adoptedForeignRun"] and r["codes"][1] == 0),
        "leftUnknown": sum(1 for r in rows if r["phase"] == "unknown"),
        "violations": [f"adopted another checkout's run in {adopted} trial(s)"] if adopted else [],
        "rows": rows,
    }
