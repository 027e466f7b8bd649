"""Value types shared by every layer.

A leaf: imports nothing from ``reconciler``. Models are frozen and forbid unknown fields; the
lenient parsing of what arrives over the wire lives in ``boomi/wire.py``, which converts into
the types here. Names are snake_case; camelCase wire names never appear in this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

PathPart = str | int

#: An execution name (``metadata.name``, the file name of its state and artifacts): lower-case
#: letters, digits and dashes, starting with a letter, at most 63 characters. In the JSON Schema
#: a pattern that matches a line break stands beside it, under "not", since Python's ``$`` also
#: matches before a final line break (``specs.language``).
EXECUTION_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
_EXECUTION_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


def is_execution_name(value: object) -> bool:
    """Whether ``value`` is a valid execution name: the whole text, no line break after it."""
    return isinstance(value, str) and _EXECUTION_NAME.fullmatch(value) is not None


def dotted(path: tuple[PathPart, ...] | list[PathPart]) -> str:
    """Render a JSON path as a field name a user reads: ``spec.processProperties[0].values``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def json_path(path: tuple[PathPart, ...] | list[PathPart]) -> str:
    """Render a path as a JSON path: ``$.spec.processProperties[0]``."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class Frozen(BaseModel):
    """Base for internal value types: immutable, strict about unknown fields.

    Every instance shares its set of explicitly set field names with the others that set the
    same names (``_shared_fields``): pydantic keeps one ``set`` per instance, a kilobyte for a
    state entry, the largest part of what an apply keeps per execution. Nothing changes the
    set of a frozen model in place (pydantic copies it for ``model_copy``), so sharing it only
    saves memory.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def model_post_init(self, context: Any, /) -> None:  # noqa: ARG002 - pydantic's hook
        """After validation: share the set of field names given."""
        _share_fields(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see ``BaseModel.model_copy``) whose set of field names is shared."""
        copied = super().model_copy(update=update, deep=deep)
        _share_fields(copied)
        return copied

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Unpickled (a plan's desired runs come from worker processes so): share the set."""
        super().__setstate__(state)
        _share_fields(self)


#: One set per distinct collection of field names (``Frozen``); bounded, past the bound a
#: model keeps its own set.
_shared_fields: dict[frozenset[str], set[str]] = {}
_SHARED_FIELDS_LIMIT = 4096


def _share_fields(model: BaseModel) -> None:
    given = model.__pydantic_fields_set__
    key = frozenset(given)
    shared = _shared_fields.get(key)
    if shared is None:
        if len(_shared_fields) >= _SHARED_FIELDS_LIMIT:
            return
        shared = _shared_fields.setdefault(key, set(key))
    object.__setattr__(model, "__pydantic_fields_set__", shared)


class Location(Frozen):
    """A position in a user's file, 1-based, as editors and compilers print it."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


#: Where the value (or the key) at a JSON path of a document is: the spec language's and the
#: template sandbox's way to point a diagnostic at the source.
Locator = Callable[[Sequence[PathPart]], Location]


class Diagnostic(Frozen):
    """One located problem: where, what is wrong, and at which JSON path."""

    location: Location
    message: str
    path: str = "$"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class RunStatus(StrEnum):
    """ExecutionRecord status values (boomi-platform-api.md §8); unknown values stay strings."""

    ENQUEUED = "ENQUEUED"
    STARTED = "STARTED"
    INPROCESS = "INPROCESS"
    ABORTED_RECOVERING = "ABORTED_RECOVERING"
    COMPLETE = "COMPLETE"
    COMPLETE_WARN = "COMPLETE_WARN"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    DISCARDED = "DISCARDED"

    @property
    def is_final(self) -> bool:
        """True for statuses after which the platform never changes the record."""
        return self in _FINAL

    @classmethod
    def of(cls, status: str | None) -> RunStatus | None:
        """The member named by ``status``, or None (no status yet, or one this version lacks)."""
        return cls(status) if status is not None and status in cls.__members__ else None


_FINAL = frozenset(
    {
        RunStatus.COMPLETE,
        RunStatus.COMPLETE_WARN,
        RunStatus.ERROR,
        RunStatus.ABORTED,
        RunStatus.DISCARDED,
    }
)


def is_final_status(status: str | None) -> bool:
    """Whether a status string (possibly a value this version does not know) is final."""
    known = RunStatus.of(status)
    return known is not None and known.is_final


class SecretRef(Frozen):
    """A secret named in a spec; its value is read from the environment at submit time only."""

    secret: str


PropertyValue = str | SecretRef


class SecretUse(Frozen):
    """Where a run's property value names a secret: for the preflight's messages.

    ``path`` is the dotted spec path of the value (``spec.dynamicProperties.API_KEY``) and
    ``at`` where it is written. Never in a digest: moving a line changes nothing sent.
    """

    secret: str
    path: str
    at: Location


class RunRequest(Frozen):
    """The ExecutionRequest a spec renders to, with secrets still as references."""

    process_id: str
    atom_id: str
    dynamic_properties: dict[str, PropertyValue] = Field(default_factory=dict)
    process_properties: dict[str, dict[str, PropertyValue]] = Field(default_factory=dict)


class ResolvedRequest(Frozen):
    """A RunRequest with every secret replaced by its value; lives in memory only, never saved."""

    process_id: str
    atom_id: str
    dynamic_properties: dict[str, str] = Field(default_factory=dict)
    process_properties: dict[str, dict[str, str]] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"ResolvedRequest(process_id={self.process_id!r}, atom_id={self.atom_id!r}, "
            "properties=[redacted])"
        )

    __str__ = __repr__


class RunMode(StrEnum):
    """When a spec needs a run (architecture.md, "Run policy")."""

    ON_CHANGE = "onChange"  # once per digest
    ONCE = "once"  # once ever; later changes are ignored
    ALWAYS = "always"  # on every apply
    MANUAL = "manual"  # only when selected explicitly


class RetryPolicy(Frozen):
    """Which final statuses are retried, and how many times."""

    count: int = 0
    on: tuple[str, ...] = (RunStatus.ERROR, RunStatus.ABORTED, RunStatus.DISCARDED)


class RunPolicy(Frozen):
    """How and when one execution runs."""

    run: RunMode = RunMode.ON_CHANGE
    timeout: float | None = None  # seconds; None means the configured apply.timeout
    retries: RetryPolicy = RetryPolicy()
    warn_is_success: bool = True  # whether COMPLETE_WARN counts as success
    #: ``promote.after``: the environments, in order, a revision must succeed in before it runs
    #: here (one named here waits only for those before it; any other, for all of them).
    promote_after: tuple[str, ...] = ()
    #: ``followUpstream``: re-run when an execution this one depends on has a new run.
    follow_upstream: bool = True

    def promotion_sources(self, environment: str) -> tuple[str, ...]:
        """The environments a revision must have succeeded in before it runs in ``environment``."""
        stages = self.promote_after
        return stages[: stages.index(environment)] if environment in stages else stages

    def succeeded(self, status: str | None) -> bool:
        """Whether a final status counts as success under this policy."""
        known = RunStatus.of(status)
        return known is RunStatus.COMPLETE or (
            known is RunStatus.COMPLETE_WARN and self.warn_is_success
        )


class DesiredRun(Frozen):
    """One execution as the specs want it: the rendered request, its digest, where it came from.

    ``revision`` names the spec as written (``model.digest.compute_revision``): unlike the
    digest it is the same in every environment, so a run in one can be promoted to another.
    ``on_demand`` is set by the planner only, on a re-run asked with ``apply --rerun``: the
    reason, which the submit records on the new attempt (``StateEntry.on_demand``).
    """

    name: str
    request: RunRequest
    digest: str
    source: Location
    revision: str = ""
    policy: RunPolicy = RunPolicy()
    depends_on: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    on_demand: str | None = None
    secret_uses: tuple[SecretUse, ...] = ()  # where each secret the request names is written


class Phase(StrEnum):
    """Where an execution is in the never-twice protocol."""

    INTENT = "intent"  # about to POST; no requestId recorded yet
    SUBMITTED = "submitted"  # requestId recorded; polling
    FINAL = "final"  # final status recorded
    REJECTED = "rejected"  # the platform refused the request; nothing ran
    UNKNOWN = "unknown"  # a submit may or may not have started a run


class Attempt(Frozen):
    """One earlier attempt of an execution, kept in a bounded history."""

    attempt_id: str
    digest: str
    intent_at: datetime
    request_id: str | None = None
    execution_id: str | None = None
    status: str | None = None
    message: str | None = None
    finished_at: datetime | None = None
    on_demand: str | None = None  # a deliberate re-run (apply --rerun): why


HISTORY_LIMIT = 10


class StateEntry(Frozen):
    """What the platform did for one execution name, as saved in the state directory.

    ``attempts`` counts the attempts made for the current digest (a changed spec starts again
    at 1); ``history`` keeps the last ``HISTORY_LIMIT`` earlier attempts, newest first.
    ``revision`` is the spec revision the run was submitted for (``DesiredRun.revision``);
    entries written before revisions were recorded have none. ``on_demand`` marks an attempt
    made deliberately with ``apply --rerun`` (its reason); every other attempt has none.
    ``upstream`` maps each dependency (``dependsOn``) to the attempt of its last run
    (``last_run``) when this attempt began: a dependency whose last run is another one has
    run since, and this execution follows it (``plan.dependents``). Entries of executions
    with no dependency, and those written before it was recorded, have none.
    """

    name: str
    digest: str
    request: RunRequest
    phase: Phase
    attempt_id: str
    request_id: str | None = None
    execution_id: str | None = None
    status: str | None = None
    message: str | None = None
    intent_at: datetime
    submitted_at: datetime | None = None
    execution_time: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    attempts: int = 1
    adopted: bool = False
    history: tuple[Attempt, ...] = ()
    revision: str | None = None
    on_demand: str | None = None
    upstream: dict[str, str] | None = None

    def last_run(self) -> tuple[str, datetime] | None:
        """The id and start of the last attempt that may have started a run; None if none.

        Any attempt but a rejected one (nothing ran): an earlier attempt of the history then
        counts if it reached the platform (a requestId, an executionId or a status).
        """
        if self.phase is not Phase.REJECTED:
            return self.attempt_id, self.intent_at
        for attempt in self.history:
            if attempt.request_id or attempt.execution_id or attempt.status:
                return attempt.attempt_id, attempt.intent_at
        return None

    def as_attempt(self) -> Attempt:
        """This entry's attempt, for the history of the next one."""
        return Attempt(
            attempt_id=self.attempt_id,
            digest=self.digest,
            intent_at=self.intent_at,
            request_id=self.request_id,
            execution_id=self.execution_id,
            status=self.status,
            message=self.message,
            finished_at=self.finished_at,
            on_demand=self.on_demand,
        )


class ActionKind(StrEnum):
    """What the plan does for one execution name."""

    SUBMIT = "submit"  # never run
    RERUN = "rerun"  # the request changed, or the policy runs it again
    RETRY = "retry"  # the last run ended in a status the policy retries, attempts left
    RESUME = "resume"  # submitted, not final: keep polling
    WAIT = "wait"  # runs once its dependencies have succeeded in this apply
    NOOP = "noop"  # up to date
    SKIP = "skip"  # not run now: manual policy not selected, or a dependency has not succeeded
    ORPHAN = "orphan"  # in state, no longer in specs
    UNKNOWN = "unknown"  # a submit may have started a run: resolved by query at apply, or by hand

    @property
    def changes(self) -> bool:
        """Whether applying the action may do work on the platform."""
        return self in (
            ActionKind.SUBMIT,
            ActionKind.RERUN,
            ActionKind.RETRY,
            ActionKind.RESUME,
            ActionKind.WAIT,
            ActionKind.UNKNOWN,
        )

    @property
    def submits(self) -> bool:
        """Whether the action starts a new run."""
        return self in (ActionKind.SUBMIT, ActionKind.RERUN, ActionKind.RETRY, ActionKind.WAIT)


class Action(Frozen):
    """One decision of the plan, with the reason a human reads."""

    name: str
    kind: ActionKind
    reason: str
    desired: DesiredRun | None = None
    current: StateEntry | None = None
    changes: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # dependencies that must succeed first, in this apply
    follows: tuple[str, ...] = ()  # the upstream whose new run this one follows (a follow-up)
    adopt: str | None = None  # an executionId to adopt for an unresolved submit (--adopt)


class Plan(Frozen):
    """Every decision for every execution name, in a stable order.

    ``notices`` are what the planner tells the operator besides the actions (a selector that
    matched nothing under ``--allow-empty-select``); outside the plan digest.
    """

    actions: tuple[Action, ...]
    environment: str = "default"
    notices: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan would do anything on the platform."""
        return any(action.kind.changes for action in self.actions)

    def count(self, kind: ActionKind) -> int:
        """Number of actions of one kind."""
        return sum(1 for action in self.actions if action.kind is kind)


class PlatformRecord(Frozen):
    """An ExecutionRecord as the engine needs it, whatever shape it arrived in."""

    execution_id: str
    status: str
    process_id: str | None = None
    atom_id: str | None = None
    process_name: str | None = None
    atom_name: str | None = None
    execution_time: datetime | None = None
    recorded_date: datetime | None = None
    duration_ms: int | None = None
    message: str | None = None


Outcome = Literal["success", "failure", "rejected", "unknown", "pending", "unsent", "skipped"]


class RunResult(Frozen):
    """How one execution ended during an apply (or why it did not)."""

    name: str
    outcome: Outcome
    status: str | None = None
    message: str | None = None
    request_id: str | None = None
    execution_id: str | None = None
    duration_ms: int | None = None
    polls: int = 0
    http_calls: int = 0
    waited_for_record_s: float = 0.0
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ApplyResult(Frozen):
    """Everything an apply did, for reports and artifacts."""

    environment: str
    results: tuple[RunResult, ...]
    started_at: datetime
    finished_at: datetime

    def count(self, outcome: Outcome) -> int:
        """Number of results with one outcome."""
        return sum(1 for result in self.results if result.outcome == outcome)


@dataclass
class Meter:
    """HTTP calls made on behalf of one run (or one command); mutable, never saved."""

    calls: int = 0
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def record(self, status: int) -> None:
        """Count one response (0 for a failure before any response)."""
        self.calls += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
