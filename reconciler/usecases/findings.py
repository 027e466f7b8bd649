"""What the platform's answers mean for one execution: the findings of ``reconciler check``.

``check_one`` asks the ``Inspector`` (read-only, each question once for every execution that
shares it) about one execution and words each answer as a ``Finding``: the account, the
privileges a 403 shows missing (an error when the apply needs them too), the runtime's status,
the deployment in an environment attached to the runtime (boomi-platform-api.md §13), and
``Drift``: runs that no state file records, since the execution's last run from git.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from reconciler.boomi.inspect import Inspector, Refused, Runs, Runtime
from reconciler.model import Phase, StateEntry
from reconciler.model.check import Check, ExecutionCheck, Finding, Severity

__all__ = ["CLOCK_SKEW", "Drift", "check_one", "with_findings"]

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


def with_findings(
    target: ExecutionCheck, findings: tuple[Finding, ...] = (), passed: tuple[Check, ...] = ()
) -> ExecutionCheck:
    """``target`` with what was found and which checks passed."""
    return target.model_copy(update={"findings": findings, "passed": passed})


async def check_one(target: ExecutionCheck, inspector: Inspector, drift: Drift) -> ExecutionCheck:
    """Every check of one execution; questions shared with others are asked once."""
    process, atom = target.process_id, target.atom_id
    findings: list[Finding] = []
    asked: list[Refused] = []
    undone: set[Check] = set()  # left undone: the platform refused, or it could not be asked
    runtime = await inspector.runtime(atom)
    if isinstance(runtime, Refused) and runtime.final:
        return with_findings(target, (_account(runtime),))
    findings += _runtime_findings(runtime, atom, asked, undone)
    findings += await _deployment_findings(inspector, runtime, process, atom, asked, undone)
    findings += await drift.findings(inspector, target, asked, undone)
    failed = undone | {f.check for f in findings}
    answered = inspector.answered > 0  # by this execution's questions or another's
    passed = [Check.ACCOUNT] if answered and not any(r.rejected for r in asked) else []
    if answered and not any(r.denied for r in asked):
        passed.append(Check.PRIVILEGES)
    passed += [c for c in (Check.RUNTIME, Check.DEPLOYMENT, Check.DRIFT) if c not in failed]
    return with_findings(target, tuple(findings), tuple(passed))


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


class Drift:
    """Runs outside git: since when each execution is asked about, and what state knows."""

    def __init__(
        self, targets: Sequence[ExecutionCheck], entries: Sequence[StateEntry], shown: int
    ) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._known = frozenset(_execution_ids(entries))
        self._shown = shown
        self._last_apply = max((entry.intent_at for entry in entries), default=None)
        # One runs query per process and runtime, from the earliest moment any of its
        # executions asks about.
        self._group: dict[tuple[str, str], datetime] = {}
        for target in targets:
            since = self.since(target)
            if since is not None:
                key = (target.process_id, target.atom_id)
                self._group[key] = min(self._group.get(key, since), since)
        self._unresolved: dict[tuple[str, str], int] = {}
        for entry in entries:
            if entry.phase in _UNRESOLVED and entry.execution_id is None:
                key = (entry.request.process_id, entry.request.atom_id)
                self._unresolved[key] = self._unresolved.get(key, 0) + 1

    def since(self, target: ExecutionCheck) -> datetime | None:
        """The execution's last recorded run; never run: the environment's last apply.

        Less ``CLOCK_SKEW``: the platform's clock is not this machine's, and its times are
        whole seconds (adoption allows the same).
        """
        entry = self._entries.get(target.name)
        last = entry.intent_at if entry is not None else self._last_apply
        return None if last is None else last - CLOCK_SKEW

    async def findings(
        self, inspector: Inspector, target: ExecutionCheck, asked: list[Refused], undone: set[Check]
    ) -> list[Finding]:
        """The drift finding of ``target``, if runs outside git are found (one query per pair)."""
        since = self.since(target)
        if since is None:
            undone.add(Check.DRIFT)
            return []  # no apply recorded yet: nothing to compare with
        key = (target.process_id, target.atom_id)
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


def _execution_ids(entries: Iterable[StateEntry]) -> Iterable[str]:
    for entry in entries:
        if entry.execution_id:
            yield entry.execution_id
        for attempt in entry.history:
            if attempt.execution_id:
                yield attempt.execution_id
