"""Dependents and their upstream: who follows a new run, who waits for it, who is held back.

Pure. Two passes over the executions in dependency order (``model.order``), so a chain
a → b → c resolves in one walk each.

``follow`` makes an execution re-run when one it ``dependsOn`` has a new run (issue 17, case
5; ``policy.followUpstream``, default on): an ``onChange`` execution otherwise up to date
becomes a ``rerun`` whose reason names the upstream. The rule is read from the state, not
remembered from one apply to the next, so a crash or an interrupted apply between the two
runs never loses the follow: an upstream has a new run when it

* starts one in this plan (``submit``, ``rerun``, ``retry``, or it follows its own upstream),
  or
* has started one since this execution's last run (still in flight, or final: the follow
  that an earlier apply did not get to). Each attempt records the run of each dependency it
  followed (``StateEntry.upstream``, by attempt id: timestamps are to the second, and two
  runs of one apply often share one); a dependency whose last run is another has run since.

A dependent is held back while that run has not succeeded (``order``), and the plan shows
it as ``skip`` with its upstream's reason until it has. A ``manual`` dependent does not
follow (a notice says so), a ``once`` one ignores it as it ignores its own changes; one
that runs anyway (its own change, ``always``, a retry) runs after its upstream as before.

``order`` turns runs behind a running dependency into ``wait`` and behind a failed one into
``skip``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Phase,
    RunMode,
    RunPolicy,
    StateEntry,
)
from reconciler.model.order import dependency_order
from reconciler.plan.promotion import promote

#: How the reason of every follow-up run starts.
UPSTREAM = "upstream"


def follow(
    actions: Mapping[str, Action],
    wanted: Mapping[str, DesiredRun],
    state: Mapping[str, StateEntry],
    *,
    environment: str,
    promotion: Mapping[str, Mapping[str, StateEntry]],
    explicit: Callable[[str], bool],
) -> tuple[dict[str, Action], dict[str, str]]:
    """``actions`` with every dependent that follows an upstream run turned into a ``rerun``.

    Also returns, by name, the notices of dependents that do not follow: a ``manual`` one that
    ``explicit`` (selected by name) does not release. A follow-up run passes the promotion
    gate like any other (``plan.promotion``).
    """
    result = dict(actions)
    notices: dict[str, str] = {}
    ordered, _ = dependency_order({name: run.depends_on for name, run in wanted.items()})
    for name in ordered:
        run = wanted[name]
        action = result.get(name)
        if action is None or not run.depends_on or not run.policy.follow_upstream:
            continue
        now, since = _new_runs(run, result, state)
        if not now and not since:
            continue
        if action.kind is ActionKind.NOOP and run.policy.run is RunMode.ON_CHANGE:
            reason = _reason(now, since)
            followed = action.model_copy(
                update={"kind": ActionKind.RERUN, "reason": reason, "follows": (*now, *since)}
            )
            result[name] = promote({name: followed}, environment, promotion)[name]
        elif run.policy.run is RunMode.MANUAL and name in state and not explicit(name):
            upstream = ", ".join((*now, *since))
            notices[name] = (
                f"{name} does not follow upstream {upstream}, which has a new run: its policy "
                f"is manual; select it by name to run it (--select {name})"
            )
    return result, notices


def _new_runs(
    run: DesiredRun, actions: Mapping[str, Action], state: Mapping[str, StateEntry]
) -> tuple[list[str], list[str]]:
    """The upstream of ``run`` that run now, and those that ran since ``run`` last ran."""
    now: list[str] = []
    since: list[str] = []
    for dep in dict.fromkeys(run.depends_on):
        dep_action = actions.get(dep)
        if dep_action is not None and dep_action.kind.submits:
            now.append(dep)
            continue
        if not _ran_since(run.name, dep, state):
            continue
        if dep_action is not None and dep_action.kind.changes:
            now.append(dep)  # its run is in flight (resume, or an unknown submit to resolve)
        else:
            since.append(dep)
    return now, since


def _reason(now: list[str], since: list[str]) -> str:
    parts = []
    if now:
        parts.append(f"{UPSTREAM} {', '.join(now)} {'re-runs' if len(now) == 1 else 're-run'}")
    if since:
        parts.append(f"{UPSTREAM} {', '.join(since)} re-ran since this last ran")
    return "; ".join(parts)


def order(
    actions: Mapping[str, Action],
    planned: Mapping[str, Action],
    wanted: Mapping[str, DesiredRun],
    state: Mapping[str, StateEntry],
) -> dict[str, Action]:
    """Turn runs behind a running dependency into ``wait``, behind a failed one into ``skip``.

    ``actions`` are the selected ones, ``planned`` every action before the selection (an
    upstream left out of the selection may still have a new run to come). Names are visited
    in dependency order, so a name reads only its dependencies' settled actions and any such
    order gives the same plan. Cycles are a validation error upstream and are only guarded
    against here: a dependency met again on its own walk is passed over.
    """
    result = dict(actions)
    ordered, _ = dependency_order({name: run.depends_on for name, run in wanted.items()})
    for name in ordered:
        action = result.get(name)
        run = wanted[name]
        if action is None or not action.kind.submits or not run.depends_on:
            continue
        running: list[str] = []
        blocked: list[str] = []
        held: list[str] = []  # upstream this follow-up needs that does not run in this apply
        for dep in run.depends_on:
            dep_action = result.get(dep)
            if dep_action is not None and dep_action.kind.changes:
                running.append(dep)
            elif not succeeded(state.get(dep), wanted.get(dep)):
                entry = state.get(dep)
                last = f"last ended {entry.status}" if entry and entry.status else "has not run"
                blocked.append(f"{dep} {last}")
            elif dep in action.follows and not _ran_since(name, dep, state):
                # It follows a run that was to start in this apply, and that run does not.
                elsewhere = planned.get(dep)
                held.append(
                    f"{dep} is not selected"
                    if dep_action is None and elsewhere is not None and elsewhere.kind.changes
                    else f"{dep} does not run in this apply"
                )
        if blocked:
            reason = f"waits for dependencies that have not succeeded: {'; '.join(blocked)}"
            result[name] = action.model_copy(update={"kind": ActionKind.SKIP, "reason": reason})
        elif held:
            reason = f"{action.reason}, but {'; '.join(held)}: follows once it has run"
            result[name] = action.model_copy(update={"kind": ActionKind.SKIP, "reason": reason})
        elif running:
            reason = action.reason
            if set(running) - set(action.follows):  # a follow-up's reason says it already
                reason += f"; runs after {', '.join(running)} succeed"
            result[name] = action.model_copy(
                update={"kind": ActionKind.WAIT, "reason": reason, "after": tuple(running)}
            )
    return result


def _ran_since(name: str, dep: str, state: Mapping[str, StateEntry]) -> bool:
    """Whether ``dep`` has started a run since ``name``'s last run began (from the state alone).

    ``name``'s entry records the attempt of ``dep``'s run it followed (``upstream``); its
    last run is another one when ``dep`` ran since. An entry that recorded none (written
    before it was, or ``dep`` had not run) compares when the runs began: later, to the
    second, is since.
    """
    mine, theirs = state.get(name), state.get(dep)
    last = theirs.last_run() if theirs is not None else None
    if mine is None or last is None:
        return False
    attempt, began = last
    if mine.upstream is not None and dep in mine.upstream:
        return mine.upstream[dep] != attempt
    return began > mine.intent_at


def succeeded(entry: StateEntry | None, run: DesiredRun | None) -> bool:
    """Whether the last run recorded in ``entry`` ended in success, as ``run``'s policy counts."""
    if entry is None or entry.phase is not Phase.FINAL:
        return False
    return (run.policy if run is not None else RunPolicy()).succeeded(entry.status)
