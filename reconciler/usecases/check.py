"""The ``check`` use case: ask the platform, read-only, whether each execution can run.

For every execution of the plan (the specs and the state), or of a plan document (a pull
request's artifact: ``check_plan_file``), when the environment holds credentials (what each
answer means is ``findings``'s):

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
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.boomi import fields
from reconciler.boomi.inspect import Inspector
from reconciler.clock import Clock
from reconciler.config.secrets import TOKEN_VARIABLE, USERNAME_VARIABLE
from reconciler.config.settings import Settings
from reconciler.errors import ConfigError, UserError
from reconciler.model import Location, Plan
from reconciler.model.check import Check, CheckReport, ExecutionCheck, Finding, Severity
from reconciler.outbound import Redactor
from reconciler.plan.document import parse_plan_document
from reconciler.plan.planner import Selection
from reconciler.specs.expand import SpecContext
from reconciler.store.state import StateStore
from reconciler.usecases.findings import Drift, check_one, with_findings
from reconciler.usecases.inputs import (
    credential_values,
    load_plan,
    make_client,
    plan_requests,
    secret_values,
)
from reconciler.usecases.reviewed import read_plan_file

__all__ = [
    "CheckLimits",
    "Checked",
    "check",
    "check_plan",
    "check_plan_file",
    "check_targets",
    "plan_targets",
]

_SOURCE = re.compile(
    r"(?P<file>[^\x00-\x1f]{1,1000}):(?P<line>[1-9][0-9]{0,6}):(?P<col>[1-9][0-9]{0,6})"
)


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


def check_plan_file(
    path: Path,
    settings: Settings,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    limits: CheckLimits | None = None,
) -> CheckReport:
    """The check of the executions a plan document names (``plan --output json``).

    For a pull request's plan artifact in a workflow that holds credentials: no spec is read
    and no code of the pull request runs; the document is untrusted data, read strictly
    (``plan_targets``), and must be for this environment.
    """
    environment, targets = plan_targets(read_plan_file(path, "plan"), str(path))
    if environment != settings.environment:
        raise UserError(f"{path}: the plan is for {environment}, not {settings.environment}")
    return check_targets(
        targets, environment, settings, environ=environ, clock=clock, limits=limits
    )


def plan_targets(data: bytes, source: str) -> tuple[str, tuple[ExecutionCheck, ...]]:
    """The environment of a plan document and each execution it declares: name, spec, ids.

    The document is read as ``plan.document`` reads it (strictly), then each action's
    ``request`` (``processId``, ``atomId``: ids) and ``source`` (``file:line:col``); an
    action without them is an orphan (no spec) and is left out.
    """
    document = parse_plan_document(data, source)
    items = json.loads(data)["actions"]  # a list of objects: the parse above proved it
    targets = []
    for index, (action, item) in enumerate(zip(document.actions, items, strict=True)):
        request, where = item.get("request"), item.get("source")
        if request is None and where is None:
            continue
        at = f"{source}: actions[{index}]"
        if not isinstance(request, dict):
            raise UserError(f"{at}.request: expected an object with processId and atomId")
        ids = {key: request.get(key) for key in ("processId", "atomId")}
        for key, value in ids.items():
            if not isinstance(value, str) or not fields.is_identifier(value):
                raise UserError(f"{at}.request.{key}: expected an id")
        spec = _SOURCE.fullmatch(where) if isinstance(where, str) else None
        if spec is None:
            raise UserError(f"{at}.source: expected file:line:col")
        targets.append(
            ExecutionCheck(
                name=action.name,
                source=Location(file=spec["file"], line=int(spec["line"]), col=int(spec["col"])),
                process_id=str(ids["processId"]),
                atom_id=str(ids["atomId"]),
            )
        )
    return document.environment, tuple(targets)


def check_plan(
    the_plan: Plan,
    settings: Settings,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    limits: CheckLimits | None = None,
) -> CheckReport:
    """The check of every execution ``the_plan`` declares (orphans have no spec: not checked)."""
    targets = [
        ExecutionCheck(
            name=action.name,
            source=action.desired.source,
            process_id=action.desired.request.process_id,
            atom_id=action.desired.request.atom_id,
        )
        for action in the_plan.actions
        if action.desired is not None
    ]
    secrets = secret_values(plan_requests(the_plan), environ)
    return check_targets(
        targets,
        the_plan.environment,
        settings,
        environ=environ,
        clock=clock,
        limits=limits,
        secrets=secrets,
    )


def check_targets(
    targets: Sequence[ExecutionCheck],
    environment: str,
    settings: Settings,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    limits: CheckLimits | None = None,
    secrets: Mapping[str, str] | None = None,
) -> CheckReport:
    """The check of each execution of ``targets`` (findings and passed checks still empty).

    ``secrets`` (name → value) are scrubbed from the platform's answers, with the credentials.
    """
    limits = limits or CheckLimits()
    missing = [name for name in (USERNAME_VARIABLE, TOKEN_VARIABLE) if not environ.get(name)]
    if missing:
        notice = (
            f"no platform credentials ({' and '.join(missing)} not set): nothing was asked; "
            "not checked: account, privileges, runtime status, deployment, drift"
        )
        return CheckReport(
            environment=environment,
            executions=tuple(targets),
            credentials=False,
            notices=(notice,),
        )
    redactor = Redactor({**credential_values(environ), **(secrets or {})})
    # Every recorded run of the environment, not only the selected ones': a run of another
    # execution on the same process and runtime is git's too.
    entries = list(StateStore(settings.state_dir, environment).snapshot().values())
    try:
        client = make_client(settings, environ, clock, redactor=redactor)
    except ConfigError as exc:  # the account id or the URL cannot work: no request is made
        finding = Finding(
            check=Check.ACCOUNT, severity=Severity.ERROR, message=exc.message, hint=exc.hint
        )
        executions = tuple(with_findings(target, (finding,)) for target in targets)
        return CheckReport(environment=environment, executions=executions)
    inspector = Inspector(client, max_requests=limits.max_requests, max_pages=limits.max_pages)
    drift = Drift(targets, entries, limits.shown_ids)

    async def run() -> dict[str, ExecutionCheck]:
        done: dict[str, ExecutionCheck] = {}

        async def one(target: ExecutionCheck) -> None:
            done[target.name] = await check_one(target, inspector, drift)

        try:
            async with asyncio.timeout(limits.deadline):
                # The first execution alone: wrong credentials are then one refused request,
                # not one per runtime asked at once (§3: failed logins can lock the account).
                for target in targets[:1]:
                    await one(target)
                await asyncio.gather(*(one(target) for target in targets[1:]))
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
    executions = tuple(done.get(t.name) or with_findings(t, (late,)) for t in targets)
    return CheckReport(
        environment=environment,
        executions=executions,
        requests=inspector.requests,
    )
