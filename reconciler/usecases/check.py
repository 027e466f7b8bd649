"""The ``check`` use case: ask the platform, read-only, whether each execution can run.

For every execution of the plan (the specs and the state), when the environment holds credentials:

- **account**: the platform answers at the configured URL and takes the credentials (a 401, or
  a platform that cannot be reached, stops every further question: §3, lockout);
- **privileges**: the user may read what was asked (a 403 names the endpoint and the privilege
  it needs; it is an error when the apply needs it too, ``VIEW_RESULT``, else it leaves that
  check undone);
- **runtime**: ``GET /Atom/{id}`` exists and says ``ONLINE`` (``OFFLINE`` is an error,
  ``WARNING`` and ``UNKNOWN`` are warnings);
- **deployment**: an active DeployedPackage of the process in an environment the runtime is
  attached to (EnvironmentAtomAttachment), as boomi-platform-api.md §13 describes;
- **drift**: runs of the process on the runtime started since the execution's last recorded
  run (or, never run, the environment's last apply) that no state file records: someone or
  something outside git ran it.

Each question is asked once for all executions that share it (one per runtime, one per
environment and process, one runs query per process and runtime), bounded in number, pages and
time (``CheckLimits``); nothing is ever submitted, changed or cancelled. Without credentials
nothing is asked and the report says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.boomi.inspect import Inspector, Refused, Runs, Runtime
from reconciler.clock import Clock
from reconciler.config.secrets import TOKEN_VARIABLE, USERNAME_VARIABLE
from reconciler.config.settings import Settings
from reconciler.errors import ConfigError
from reconciler.model import Action, Phase, Plan, StateEntry
from reconciler.model.check import Check, CheckReport, ExecutionCheck, Finding, Severity
from reconciler.outbound import Redactor
from reconciler.plan.planner import Selection
from reconciler.specs.expand import SpecContext
from reconciler.store.state import StateStore
from reconciler.usecases.inputs import (
    credential_values,
    load_plan,
    make_client,
    plan_requests,
    secret_values,
)

__all__ = ["CheckLimits", "Checked", "check", "check_plan"]

#: What each endpoint family needs besides API, as the official schema names it.
_NEEDS = {
    "Atom": "ATOM_MANAGEMENT or ATOM_MANAGEMENT_READ_ONLY (Runtime Management [Read Access])",
    "EnvironmentAtomAttachment": "ATOM_MANAGEMENT or ATOM_MANAGEMENT_READ_ONLY (Runtime "
    "Management [Read Access])",
    "DeployedPackage": "DEPLOY (Packaged Component Deployment)",
    "ExecutionRecord": "VIEW_RESULT (View Results), which the apply needs too",
}
_STATUS_WORDS = {
    "OFFLINE": (Severity.ERROR, "a run submitted now waits until it is back, or is refused"),
    "WARNING": (Severity.WARNING, "it is online but reports problems"),
    "UNKNOWN": (Severity.WARNING, "the platform has not heard from it lately"),
}
_UNRESOLVED = (Phase.INTENT, Phase.SUBMITTED, Phase.UNKNOWN)
CLOCK_SKEW = timedelta(seconds=120)  # as ``ApplyOptions.clock_skew``


@dataclass(frozen=True)
class CheckLimits:
    """Bounds of one check: seconds in all, requests in all, pages per query, ids per finding."""

    deadline: float = 120.0
    max_requests: int = 2_000
    max_pages: int = 5
    shown_ids: int = 20


@dataclass(frozen=True)
class Checked:
    """A check's plan (its requests name the secrets to scrub) and its report."""

    plan: Plan
    report: CheckReport


def check(
    settings: Settings,
    context: SpecContext,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    cwd: Path,
    selection: Selection | None = None,
    limits: CheckLimits | None = None,
) -> Checked:
    """Load the plan, then check each of its executions on the platform (read-only)."""
    the_plan, _ = load_plan(settings, selection, context, cwd=cwd)
    report = check_plan(the_plan, settings, environ=environ, clock=clock, limits=limits)
    return Checked(the_plan, report)


def check_plan(
    the_plan: Plan,
    settings: Settings,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    limits: CheckLimits | None = None,
) -> CheckReport:
    """The check of every execution ``the_plan`` declares (orphans have no spec: not checked)."""
    limits = limits or CheckLimits()
    targets = [a for a in the_plan.actions if a.desired is not None]
    missing = [name for name in (USERNAME_VARIABLE, TOKEN_VARIABLE) if not environ.get(name)]
    if missing:
        notice = (
            f"no platform credentials ({' and '.join(missing)} not set): nothing was asked; "
            "not checked: account, privileges, runtime status, deployment, drift"
        )
        executions = tuple(_execution(action) for action in targets)
        return CheckReport(
            environment=the_plan.environment,
            executions=executions,
            credentials=False,
            notices=(notice,),
        )
    redactor = Redactor(
        {**credential_values(environ), **secret_values(plan_requests(the_plan), environ)}
    )
    # Every recorded run of the environment, not only the selected ones': a run of another
    # execution on the same process and runtime is git's too.
    entries = list(StateStore(settings.state_dir, the_plan.environment).snapshot().values())
    try:
        client = make_client(settings, environ, clock, redactor=redactor)
    except ConfigError as exc:  # the account id or the URL cannot work: no request is made
        finding = Finding(
            check=Check.ACCOUNT, severity=Severity.ERROR, message=exc.message, hint=exc.hint
        )
        executions = tuple(_execution(action, (finding,)) for action in targets)
        return CheckReport(environment=the_plan.environment, executions=executions)
    inspector = Inspector(client, max_requests=limits.max_requests, max_pages=limits.max_pages)
    drift = _Drift(targets, entries, limits.shown_ids)

    async def run() -> dict[str, ExecutionCheck]:
        done: dict[str, ExecutionCheck] = {}

        async def one(action: Action) -> None:
            done[action.name] = await _check_one(action, inspector, drift)

        try:
            async with asyncio.timeout(limits.deadline):
                # The first execution alone: wrong credentials are then one refused request,
                # not one per runtime asked at once (§3: failed logins can lock the account).
                for action in targets[:1]:
                    await one(action)
                await asyncio.gather(*(one(action) for action in targets[1:]))
        except TimeoutError:
            inspector.cancel()
        finally:
            await client.aclose()
        return done

    done = asyncio.run(run())
    late = Finding(
        check=Check.ACCOUNT,
        severity=Severity.UNCHECKED,
        message=f"not checked: the check's time limit ({limits.deadline:g} s) ran out first",
        hint="check fewer executions at a time (--select), or allow more time (--timeout)",
    )
    executions = tuple(done.get(a.name) or _execution(a, (late,)) for a in targets)
    return CheckReport(
        environment=the_plan.environment,
        executions=executions,
        requests=inspector.requests,
    )


def _execution(
    action: Action, findings: tuple[Finding, ...] = (), passed: tuple[Check, ...] = ()
) -> ExecutionCheck:
    desired = action.desired
    assert desired is not None  # noqa: S101 - targets are the actions with a spec
    return ExecutionCheck(
        name=action.name,
        source=desired.source,
        process_id=desired.request.process_id,
        atom_id=desired.request.atom_id,
        passed=passed,
        findings=findings,
    )


async def _check_one(action: Action, inspector: Inspector, drift: _Drift) -> ExecutionCheck:
    """Every check of one execution; questions shared with others are asked once."""
    desired = action.desired
    assert desired is not None  # noqa: S101 - targets are the actions with a spec
    process, atom = desired.request.process_id, desired.request.atom_id
    findings: list[Finding] = []
    asked: list[Refused] = []
    undone: set[Check] = set()  # left undone: the platform refused, or it could not be asked
    runtime = await inspector.runtime(atom)
    if isinstance(runtime, Refused) and runtime.final:
        return _execution(action, (_account(runtime),))
    findings += _runtime_findings(runtime, atom, asked, undone)
    findings += await _deployment_findings(inspector, runtime, process, atom, asked, undone)
    findings += await drift.findings(inspector, action, asked, undone)
    failed = undone | {f.check for f in findings}
    passed = [Check.ACCOUNT] if not any(r.rejected for r in asked) else []
    if not any(r.denied for r in asked):
        passed.append(Check.PRIVILEGES)
    passed += [c for c in (Check.RUNTIME, Check.DEPLOYMENT, Check.DRIFT) if c not in failed]
    return _execution(action, tuple(findings), tuple(passed))


def _account(refused: Refused) -> Finding:
    if refused.rejected:
        return Finding(
            check=Check.ACCOUNT,
            severity=Severity.ERROR,
            message=f"{refused.message}; nothing more was asked (repeated failed logins can "
            "lock the account)",
        )
    return Finding(check=Check.ACCOUNT, severity=Severity.ERROR, message=refused.message)


def _denied(refused: Refused, what: str) -> Finding:
    """A 403: which endpoint, the privilege it needs, and whether the apply needs it too."""
    family = refused.endpoint.split(" /", 1)[-1].split("/", 1)[0]
    apply_needs = family == "ExecutionRecord"
    return Finding(
        check=Check.PRIVILEGES,
        severity=Severity.ERROR if apply_needs else Severity.UNCHECKED,
        message=f"{what} not checked: access denied to {refused.endpoint} (HTTP 403)"
        if not apply_needs
        else f"access denied to {refused.endpoint} (HTTP 403): the apply reads run records "
        "there too",
        hint=f"the user needs API and {_NEEDS.get(family, 'a privilege it lacks')} in the "
        "environment, or the account id (BOOMI_ACCOUNT_ID / platform.accountId) is not one this "
        "user may use",
    )


def _runtime_findings(
    runtime: Runtime | Refused, atom: str, asked: list[Refused], undone: set[Check]
) -> list[Finding]:
    if isinstance(runtime, Refused):
        asked.append(runtime)
        undone.add(Check.RUNTIME)
        if runtime.denied:
            return [_denied(runtime, "runtime status")]
        if runtime.status == 404:
            return [
                Finding(
                    check=Check.RUNTIME,
                    severity=Severity.ERROR,
                    message=f"runtime {atom} does not exist in this account (GET /Atom/{{id}}: "
                    "HTTP 404)",
                    hint="check spec.atomId: the id is on the runtime's page in Runtime Management",
                )
            ]
        return [_unchecked(Check.RUNTIME, "runtime status", runtime)]
    severity, why = _STATUS_WORDS.get(
        runtime.status, (Severity.WARNING, "the platform reports a status not documented")
    )
    if runtime.status == "ONLINE":
        return []
    return [
        Finding(
            check=Check.RUNTIME,
            severity=severity,
            message=f"runtime {runtime.label} is {runtime.status}: {why}",
            hint="start the runtime, or point spec.atomId at one that is online"
            if severity is Severity.ERROR
            else "",
        )
    ]


async def _deployment_findings(
    inspector: Inspector,
    runtime: Runtime | Refused,
    process: str,
    atom: str,
    asked: list[Refused],
    undone: set[Check],
) -> list[Finding]:
    if isinstance(runtime, Refused) and not runtime.denied:
        undone.add(Check.DEPLOYMENT)
        return []  # no such runtime, or no answer: said by the runtime check
    label = runtime.label if isinstance(runtime, Runtime) else atom
    environments = await inspector.environments(atom)
    if isinstance(environments, Refused):
        asked.append(environments)
        undone.add(Check.DEPLOYMENT)
        if environments.denied:
            return [_denied(environments, "deployment")]
        return [_unchecked(Check.DEPLOYMENT, "deployment", environments)]
    if not environments:
        return [
            Finding(
                check=Check.DEPLOYMENT,
                severity=Severity.ERROR,
                message=f"runtime {label} is attached to no environment: no process can run on it",
                hint="attach the runtime to the environment the process is deployed to "
                "(Runtime Management > Environments)",
            )
        ]
    answers = await asyncio.gather(*(inspector.deployed(env, process) for env in environments))
    if any(answer is True for answer in answers):
        return []
    refused = [answer for answer in answers if isinstance(answer, Refused)]
    asked.extend(refused)
    if refused:
        undone.add(Check.DEPLOYMENT)
        first = refused[0]
        if first.denied:
            return [_denied(first, "deployment")]
        return [_unchecked(Check.DEPLOYMENT, "deployment", first)]
    where = ", ".join(environments)
    return [
        Finding(
            check=Check.DEPLOYMENT,
            severity=Severity.ERROR,
            message=f"process {process} is not deployed to an environment attached to runtime "
            f"{label} (environment{'s' if len(environments) > 1 else ''} {where}); the apply "
            "would be refused (HTTP 400)",
            hint="deploy the process's packaged component to that environment, or point "
            "spec.atomId at a runtime of an environment where it is deployed",
        )
    ]


def _unchecked(check: Check, what: str, refused: Refused) -> Finding:
    return Finding(
        check=check,
        severity=Severity.UNCHECKED,
        message=f"{what} not checked: {refused.message}",
    )


class _Drift:
    """Runs outside git: since when each execution is asked about, and what state knows."""

    def __init__(
        self, targets: Sequence[Action], entries: Sequence[StateEntry], shown: int
    ) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._known = frozenset(_execution_ids(entries))
        self._shown = shown
        self._last_apply = max((entry.intent_at for entry in entries), default=None)
        # One runs query per process and runtime, from the earliest moment any of its
        # executions asks about.
        self._group: dict[tuple[str, str], datetime] = {}
        for action in targets:
            since = self.since(action)
            if action.desired is not None and since is not None:
                key = _key(action)
                self._group[key] = min(self._group.get(key, since), since)
        self._unresolved: dict[tuple[str, str], int] = {}
        for entry in entries:
            if entry.phase in _UNRESOLVED and entry.execution_id is None:
                key = (entry.request.process_id, entry.request.atom_id)
                self._unresolved[key] = self._unresolved.get(key, 0) + 1

    def since(self, action: Action) -> datetime | None:
        """The execution's last recorded run; never run: the environment's last apply.

        Less ``CLOCK_SKEW``: the platform's clock is not this machine's, and its times are
        whole seconds (adoption allows the same).
        """
        entry = self._entries.get(action.name)
        last = entry.intent_at if entry is not None else self._last_apply
        return None if last is None else last - CLOCK_SKEW

    async def findings(
        self, inspector: Inspector, action: Action, asked: list[Refused], undone: set[Check]
    ) -> list[Finding]:
        since = self.since(action)
        if since is None:
            undone.add(Check.DRIFT)
            return []  # no apply recorded yet: nothing to compare with
        key = _key(action)
        runs = await inspector.runs(*key, self._group.get(key, since))
        if isinstance(runs, Refused):
            asked.append(runs)
            undone.add(Check.DRIFT)
            if runs.denied:
                return [_denied(runs, "drift")]
            return [_unchecked(Check.DRIFT, "drift", runs)]
        return self._found(runs, since, key)

    def _found(self, runs: Runs, since: datetime, key: tuple[str, str]) -> list[Finding]:
        outside = [
            record.execution_id
            for record in runs.records
            if record.execution_id not in self._known
            and (record.execution_time is None or record.execution_time >= since)
        ]
        if not outside:
            return []
        count = f"{len(outside)}" if runs.complete else f"at least {len(outside)}"
        shown = outside[: self._shown]
        more = f" and {len(outside) - len(shown)} more" if len(outside) > len(shown) else ""
        unresolved = self._unresolved.get(key, 0)
        maybe = (
            f"; {unresolved} submit(s) of git on this process and runtime are unresolved and "
            "may be among them (apply resolves them)"
            if unresolved
            else ""
        )
        plural = "run" if count == "1" else "runs"
        return [
            Finding(
                check=Check.DRIFT,
                severity=Severity.WARNING,
                message=f"{count} {plural} of process {key[0]} on runtime {key[1]} started "
                f"outside git since the last apply ({since + CLOCK_SKEW:%Y-%m-%dT%H:%M:%SZ}, "
                f"less {CLOCK_SKEW.seconds // 60} minutes of clock skew): "
                f"{', '.join(shown)}{more}{maybe}",
                hint="a run started by hand or by a schedule; git's own runs are in "
                "`reconciler history NAME`",
                execution_ids=tuple(shown),
            )
        ]


def _key(action: Action) -> tuple[str, str]:
    """The process and the runtime of an action's run (its spec's; else its state's)."""
    request = action.desired.request if action.desired is not None else None
    if request is None and action.current is not None:
        request = action.current.request
    assert request is not None  # noqa: S101 - an action has a spec or a state entry
    return request.process_id, request.atom_id


def _execution_ids(entries: Iterable[StateEntry]) -> Iterable[str]:
    for entry in entries:
        if entry.execution_id:
            yield entry.execution_id
        for attempt in entry.history:
            if attempt.execution_id:
                yield attempt.execution_id
