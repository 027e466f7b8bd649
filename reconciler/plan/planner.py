"""Desired runs + state → a plan: one action per execution name, each with its reason.

Pure. No clock, no files, no network: the state arrives as a read-only mapping and the plan is
a value that ``plan`` renders and ``apply`` executes unchanged. Every action carries a reason a
human can act on, ``noop`` included, of at most ``REASON_LIMIT`` characters (the plan digest
covers it, and a plan document read back is held to that bound). Dependencies order the plan
(``plan.dependents``): an execution whose dependency has a new run follows it (re-runs after
it, ``policy.followUpstream``); one whose dependency runs in the same apply ``wait``s for it;
one whose dependency has not succeeded and will not run is ``skip``ped with that reason, and
so is a run whose revision has not yet succeeded where its promotion rule says it must first
(``plan.promotion``).
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.errors import UserError
from reconciler.model import (
    Action,
    ActionKind,
    DesiredRun,
    Phase,
    Plan,
    RunMode,
    StateEntry,
    is_final_status,
)
from reconciler.model.digest import REASON_LIMIT, cut, diff_requests
from reconciler.plan.dependents import follow, order, succeeded
from reconciler.plan.promotion import promote


@dataclass(frozen=True)
class Selection:
    """Which executions a command is about: names, globs, ``label:k=v``, ``state:...``.

    Empty means everything. ``state:changed`` picks executions with work to do,
    ``state:failed`` those whose last run did not succeed. A name or selector that matches no
    execution is an error (``check``), unless ``allow_empty`` makes it a notice; a
    ``state:`` selector that picks nothing is only a notice (nothing to do is an answer).
    """

    patterns: tuple[str, ...] = ()
    adopt: tuple[tuple[str, str], ...] = ()  # (name, executionId) given with --adopt
    resubmit: tuple[str, ...] = ()  # names given with --resubmit
    shard: tuple[int, int] | None = None  # (K, N): only the executions of shard K of N
    rerun: tuple[str, ...] = ()  # names or selectors given with --rerun
    allow_empty: bool = False  # --allow-empty-select: a selector matching nothing is a notice

    def explicit(self, name: str) -> bool:
        """Whether ``name`` is selected by name or glob (what releases a manual execution)."""
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns if ":" not in p or "*" in p)

    def matches(self, run: DesiredRun | None, entry: StateEntry | None, action: Action) -> bool:
        """Whether one planned action is selected."""
        return not self.patterns or any(self._one(p, run, entry, action) for p in self.patterns)

    @staticmethod
    def _one(
        pattern: str, run: DesiredRun | None, entry: StateEntry | None, action: Action
    ) -> bool:
        if pattern.startswith("label:"):
            key, _, wanted = pattern.removeprefix("label:").partition("=")
            labels = run.labels if run is not None else {}
            return key in labels and (not wanted or labels[key] == wanted)
        if pattern == "state:changed":
            return action.kind.changes
        if pattern == "state:failed":
            return _failed(entry, run)
        return fnmatch.fnmatchcase(action.name, pattern)


#: The selectors that are not names or globs, offered when a ``state:`` selector is misspelt.
STATE_SELECTORS = ("state:changed", "state:failed")


def _is_name(pattern: str) -> bool:
    """Whether ``pattern`` names one execution (no glob, no ``label:``/``state:`` prefix)."""
    return not any(c in pattern for c in "*?[:")


def no_such(name: str, names: Iterable[str], what: str = "no such execution") -> str:
    """``no such execution: NAME; did you mean A or B?`` (difflib's close matches)."""
    close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
    if not close:
        return f"{what}: {name}"
    return f"{what}: {name}; did you mean {' or '.join(close)}?"


def _rerunnable(entry: StateEntry | None, run: DesiredRun) -> str | None:
    """Why the last run of ``run`` may be re-run on demand, or ``None`` when it may not."""
    if entry is None:
        return None
    if entry.phase is Phase.REJECTED:
        return "the last submit was rejected"
    if entry.phase is Phase.FINAL and entry.status and not run.policy.succeeded(entry.status):
        return f"last run ended {entry.status}"
    return None


def _not_rerunnable(name: str, entry: StateEntry | None, run: DesiredRun | None) -> str:
    """Why ``--rerun NAME`` is refused, and what to do instead."""
    head = f"--rerun {name}: "
    if run is None:
        return head + "no spec defines it any more (it is only in state); nothing to re-run"
    if entry is None:
        return head + "it has never run; apply submits it without --rerun"
    if entry.phase is Phase.SUBMITTED:
        return (
            head + f"its run ({entry.execution_id or entry.request_id}) is still running; "
            f"wait for it to finish, or stop it with: reconciler cancel {name}"
        )
    if entry.phase in (Phase.INTENT, Phase.UNKNOWN):
        return (
            head + "its last submit is unresolved (it may have started a run); use "
            f"--adopt {name}=EXECUTION_ID or --resubmit {name}"
        )
    return (
        head + f"its last run ended {entry.status}, which succeeded; --rerun re-runs only a "
        "run that failed, was aborted or discarded, or was rejected (change the spec, or use "
        "policy run: always, to run it again)"
    )


@dataclass(frozen=True)
class _Checked:
    """What ``_check`` found: the names to re-run (with why) and the notices to show."""

    rerun: dict[str, str]
    notices: tuple[str, ...]


def _check(
    selection: Selection,
    wanted: Mapping[str, DesiredRun],
    state: Mapping[str, StateEntry],
    decided: Mapping[str, Action],
) -> _Checked:
    """Every name and selector of ``selection`` against the executions; raises ``UserError``.

    All problems are listed at once, one a line; nothing is applied when there is any.
    """
    names = sorted(wanted.keys() | state.keys())
    problems: list[str] = []
    notices: list[str] = []

    def matching(pattern: str) -> list[str]:
        return [
            name
            for name in names
            if Selection._one(pattern, wanted.get(name), state.get(name), decided[name])
        ]

    def empty(flag: str, pattern: str) -> None:
        if _is_name(pattern):
            message = no_such(pattern, names)
        elif pattern.startswith("state:") and pattern not in STATE_SELECTORS:
            message = no_such(pattern, STATE_SELECTORS, "no such selector")
        else:
            message = f"{flag} {pattern} matches no execution"
            close = difflib.get_close_matches(pattern, names, n=3, cutoff=0.6)
            if close:
                message += f"; did you mean {' or '.join(close)}?"
        if not message.startswith(flag):
            message = f"{flag} {message}"
        if pattern in STATE_SELECTORS:
            notices.append(f"{flag} {pattern}: no execution is {pattern.removeprefix('state:')}")
        elif selection.allow_empty:
            notices.append(f"{message} (allowed by --allow-empty-select)")
        else:
            problems.append(message)

    for pattern in selection.patterns:
        if not matching(pattern):
            empty("--select", pattern)
    for flag, name in (
        *(("--adopt", name) for name, _ in selection.adopt),
        *(("--resubmit", name) for name in selection.resubmit),
    ):
        entry = state.get(name)
        if name not in wanted and entry is None:
            problems.append(f"{flag} {no_such(name, names)}")
        elif name not in wanted:
            problems.append(f"{flag} {name}: no spec defines it any more; nothing to {flag[2:]}")
        elif entry is None or entry.phase not in (Phase.INTENT, Phase.UNKNOWN):
            now = "it has never run" if entry is None else _last(entry)
            problems.append(
                f"{flag} {name}: nothing is unresolved ({now}); {flag} applies only to a "
                "submit whose outcome is unknown (plan shows it as unknown)"
            )
    rerun: dict[str, str] = {}
    for pattern in selection.rerun:
        if _is_name(pattern):
            run, entry = wanted.get(pattern), state.get(pattern)
            if run is None and entry is None:
                problems.append(f"--rerun {no_such(pattern, names)}")
                continue
            why = _rerunnable(entry, run) if run is not None else None
            if why is None:
                problems.append(_not_rerunnable(pattern, entry, run))
            else:
                rerun[pattern] = why
            continue
        found = [name for name in matching(pattern) if name in wanted]
        if not found:
            empty("--rerun", pattern)
            continue
        picked = {
            name: why
            for name in found
            if (why := _rerunnable(state.get(name), wanted[name])) is not None
        }
        if not picked:
            problems.append(
                f"--rerun {pattern}: none of the {len(found)} execution(s) it selects has a "
                f"last run that failed, was aborted or discarded, or was rejected ({found[0]}: "
                f"{_last(state[found[0]]) if found[0] in state else 'never run'})"
            )
        rerun.update(picked)
    if problems:
        head = (
            problems[0] if len(problems) == 1 else f"{len(problems)} problems with the names given"
        )
        rest = "".join(f"\n  {problem}" for problem in problems) if len(problems) > 1 else ""
        raise UserError(f"{head}{rest}")
    return _Checked(rerun=rerun, notices=tuple(notices))


def _last(entry: StateEntry) -> str:
    if entry.phase is Phase.FINAL:
        return f"its last run ended {entry.status}"
    if entry.phase is Phase.SUBMITTED:
        return "its run is still running"
    if entry.phase is Phase.REJECTED:
        return "its last submit was rejected"
    return f"its last submit is {entry.phase.value}"


def build_plan(
    desired: Iterable[DesiredRun],
    state: Mapping[str, StateEntry],
    *,
    environment: str = "default",
    selection: Selection | None = None,
    promotion: Mapping[str, Mapping[str, StateEntry]] | None = None,
) -> Plan:
    """Decide what to do for every name found in the specs or in the state.

    ``promotion`` holds the recorded state of the environments named by ``policy.promote``
    rules (``plan.promotion``); one that is missing has no runs.
    """
    chosen = selection or Selection()
    wanted = {run.name: run for run in desired}
    decided: dict[str, Action] = {}
    for name in sorted(wanted.keys() | state.keys()):
        run = wanted.get(name)
        entry = state.get(name)
        if run is None:
            assert entry is not None  # noqa: S101 - the name came from one of the two maps
            decided[name] = _orphan(entry)
        else:
            decided[name] = _decide(run, entry, chosen)
    checked = _check(chosen, wanted, state, decided)
    for name, why in checked.rerun.items():
        decided[name] = _on_demand(wanted[name], state.get(name), why)
    decided = promote(decided, environment, promotion or {})
    decided, following = follow(
        decided,
        wanted,
        state,
        environment=environment,
        promotion=promotion or {},
        explicit=chosen.explicit,
    )
    shards = shard_of(wanted, chosen.shard[1]) if chosen.shard else {}
    selected = {
        name: action
        for name, action in decided.items()
        if chosen.matches(wanted.get(name), state.get(name), action)
        and (
            chosen.shard is None
            or shards.get(name, _bucket(name, chosen.shard[1])) == chosen.shard[0]
        )
    }
    ordered = order(selected, decided, wanted, state)
    return Plan(
        actions=tuple(_bounded(ordered[name]) for name in sorted(ordered)),
        environment=environment,
        notices=(*checked.notices, *(text for name, text in following.items() if name in selected)),
    )


def _on_demand(run: DesiredRun, entry: StateEntry | None, why: str) -> Action:
    """A deliberate re-run (``apply --rerun``): retries spent and an unchanged digest or not."""
    reason = f"re-run on demand (--rerun): {why}"
    return _action(run.model_copy(update={"on_demand": reason}), entry, ActionKind.RERUN, reason)


def _bounded(action: Action) -> Action:
    """``action`` with its reason cut at ``REASON_LIMIT`` (a platform message can be long)."""
    if len(action.reason) <= REASON_LIMIT:
        return action
    return action.model_copy(update={"reason": cut(action.reason, REASON_LIMIT)})


def _decide(run: DesiredRun, entry: StateEntry | None, selection: Selection) -> Action:
    policy = run.policy
    if policy.run is RunMode.MANUAL and not selection.explicit(run.name):
        return _action(
            run, entry, ActionKind.SKIP, "manual policy: runs only when selected by name"
        )
    if entry is None:
        return _action(run, None, ActionKind.SUBMIT, "never run")
    changed = entry.digest != run.digest
    if entry.phase in (Phase.INTENT, Phase.UNKNOWN):
        adopted = dict(selection.adopt).get(run.name)
        if adopted:
            reason = f"adopting {adopted} as the run of the unresolved submit (--adopt)"
            action = _action(run, entry, ActionKind.RESUME, reason)
            return action.model_copy(update={"adopt": adopted})
        if run.name in selection.resubmit:
            reason = "submitting again as asked (--resubmit); the earlier submit stays unresolved"
            return _action(run, entry, ActionKind.SUBMIT, reason)
        return _action(run, entry, ActionKind.UNKNOWN, _unknown_reason(entry))
    if entry.phase is Phase.SUBMITTED:
        reason = f"submitted {_when(entry.submitted_at)} as {entry.request_id}; not final yet"
        if changed and policy.run is not RunMode.ONCE:
            reason += "; the spec changed since, so it runs again once this run has finished"
        return _action(run, entry, ActionKind.RESUME, reason)
    if entry.phase is Phase.REJECTED:
        reason = f"the last submit was rejected, nothing ran: {entry.message}; submitting again"
        return _action(run, entry, ActionKind.SUBMIT, reason)
    ran = f"ran {_when(entry.execution_time or entry.submitted_at)}, ended {entry.status}"
    if policy.run is RunMode.ONCE:
        note = "; the spec changed since, which a once policy ignores" if changed else ""
        return _action(run, entry, ActionKind.NOOP, f"once policy: {ran}{note}")
    if policy.run is RunMode.ALWAYS:
        return _action(run, entry, ActionKind.RERUN, f"always policy: runs on every apply ({ran})")
    if policy.run is RunMode.MANUAL:
        return _action(run, entry, ActionKind.RERUN, f"manual policy, selected ({ran})")
    if changed:
        changes = diff_requests(entry.request, run.request)
        what = ", ".join(c.split(":", 1)[0] for c in changes) or "request"
        action = _action(
            run, entry, ActionKind.RERUN, f"request changed since the last run ({what})"
        )
        return action.model_copy(update={"changes": changes})
    retries = policy.retries
    if entry.status in retries.on and entry.attempts <= retries.count:
        reason = (
            f"{ran}; retry {entry.attempts} of {retries.count} "
            f"(the policy retries {', '.join(retries.on)})"
        )
        return _action(run, entry, ActionKind.RETRY, reason)
    reason = f"up to date: {ran}"
    if entry.execution_id:
        reason += f" ({entry.execution_id})"
    return _action(run, entry, ActionKind.NOOP, reason)


def shard_of(wanted: Mapping[str, DesiredRun], count: int) -> dict[str, int]:
    """Assign every execution to one of ``count`` shards (1-based), deterministically.

    Executions linked by ``dependsOn`` (in either direction) form one group, and a group
    always lands in one shard, chosen by a hash of its first name: the same specs give the same
    split on every runner, and a dependency never waits on another shard.
    """
    parent = {name: name for name in wanted}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for name, run in wanted.items():
        for dep in run.depends_on:
            if dep in parent:
                a, b = sorted((find(name), find(dep)))
                parent[b] = a
    return {name: _bucket(find(name), count) for name in wanted}


def _bucket(name: str, count: int) -> int:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def _failed(entry: StateEntry | None, run: DesiredRun | None) -> bool:
    if entry is None:
        return False
    if entry.phase in (Phase.REJECTED, Phase.UNKNOWN):
        return True
    return is_final_status(entry.status) and not succeeded(entry, run)


def _action(run: DesiredRun, entry: StateEntry | None, kind: ActionKind, reason: str) -> Action:
    return Action(name=run.name, kind=kind, reason=reason, desired=run, current=entry)


def _unknown_reason(entry: StateEntry) -> str:
    if entry.phase is Phase.INTENT:
        what = (
            f"a submit began {_when(entry.intent_at)} but its requestId was never recorded; it "
            "may or may not have started a run"
        )
    else:
        detail = f" ({entry.message})" if entry.message else ""
        what = f"the submit of {_when(entry.intent_at)} may or may not have started a run{detail}"
    return (
        f"{what}; apply looks for the run by query and adopts a single match, otherwise it "
        "waits for --adopt NAME=EXECUTION_ID or --resubmit NAME"
    )


def _orphan(entry: StateEntry) -> Action:
    return Action(
        name=entry.name,
        kind=ActionKind.ORPHAN,
        reason="in state but no spec defines it; left alone (delete its state file to forget it)",
        current=entry,
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "at an unknown time"
