"""The world file: what the simulated platform contains and how it behaves.

Owns the validated ``World`` model (pydantic v2, frozen, camelCase keys, unknown keys
rejected), its cross-reference checks, and the two entry points ``load_world`` (a YAML file)
and ``demo_world`` (the packaged ``demo_world.yaml``). Parsing YAML and turning problems into
``file:line:col: message`` lines lives in ``located``; this module never touches HTTP or time.
The format is documented in ``docs/simulator.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from reconciler.sim.faults import FaultRule
from reconciler.sim.located import Problem, WorldError, parse_document, validate_document

__all__ = [
    "Account",
    "Deployment",
    "Documents",
    "Duration",
    "Environment",
    "ExecutionSpeed",
    "Outcome",
    "Privilege",
    "Process",
    "Runtime",
    "Step",
    "Switches",
    "User",
    "World",
    "WorldError",
    "demo_world",
    "load_world",
    "parse_world",
    "world_from_data",
]

FinalStatus = Literal["COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"]
#: Privileges as the official schema's "Required Privileges" name them (OAS tag texts), plus
#: ``EXECUTE`` for the Execute privilege ExecutionRequest needs (named in prose only there).
Privilege = Literal[
    "API", "EXECUTE", "VIEW_RESULT", "ATOM_MANAGEMENT", "ATOM_MANAGEMENT_READ_ONLY", "DEPLOY"
]
StepStatus = Literal["ENQUEUED", "STARTED", "INPROCESS", "ABORTED_RECOVERING"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)


class User(_Model):
    """A user of an account: API token and/or password (Basic auth, §3), and its privileges.

    ``privileges`` None (the default) grants every one; a list grants those only, and an
    endpoint that needs another answers 403 (``app.REQUIRED_PRIVILEGES``).
    """

    name: str = Field(min_length=1)
    token: str | None = None
    password: str | None = None
    privileges: tuple[Privilege, ...] | None = None

    @model_validator(mode="after")
    def _has_secret(self) -> User:
        if self.token is None and self.password is None:
            raise ValueError("a user needs a token or a password")
        return self


class Account(_Model):
    """An account (the ``{accountId}`` path segment), its users and its rate limit."""

    id: str = Field(min_length=1, pattern=r"^[^/\s]+$")
    users: tuple[User, ...] = Field(min_length=1)
    rate_limit: float = Field(default=10.0, ge=0)
    rate_limit_burst: int | None = Field(default=None, ge=1)


class Environment(_Model):
    """An environment that runtimes attach to and processes deploy into."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    classification: Literal["PROD", "TEST"] = "PROD"
    account: str | None = None


class Runtime(_Model):
    """A runtime (Atom object, §13): online or not, attached to at most one environment."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    type: Literal["ATOM", "MOLECULE", "CLOUD"] = "ATOM"
    status: Literal["ONLINE", "OFFLINE", "WARNING", "UNKNOWN"] = "ONLINE"
    online_after: float | None = Field(default=None, ge=0)
    environment: str | None = None
    host_name: str = "sim-host"
    nodes: tuple[str, ...] = ()
    account: str | None = None


class Duration(_Model):
    """How long a run takes, in simulated seconds; a bare number means ``fixed``."""

    distribution: Literal["uniform", "lognormal", "fixed"] = "uniform"
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)
    median: float | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, ge=0)
    value: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _number_is_fixed(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"distribution": "fixed", "value": data}
        return data

    @model_validator(mode="after")
    def _complete(self) -> Duration:
        needs = {"uniform": ("min", "max"), "lognormal": ("median", "sigma"), "fixed": ("value",)}
        missing = [name for name in needs[self.distribution] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.distribution} duration needs {' and '.join(missing)}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Documents(_Model):
    """Document counts and sizes reported on a final record."""

    inbound: int = Field(default=0, ge=0)
    outbound: int = Field(default=0, ge=0)
    inbound_errors: int = Field(default=0, ge=0)
    inbound_size: int = Field(default=0, ge=0)
    outbound_size: int = Field(default=0, ge=0)


class Step(_Model):
    """One non-final status held for ``seconds`` in a scripted timeline."""

    status: StepStatus
    seconds: float = Field(ge=0)


class Outcome(_Model):
    """How one submission ends; a bare status string means ``{status: <it>}``."""

    status: FinalStatus
    message: str | None = None
    duration: Duration | None = None
    steps: tuple[Step, ...] | None = None
    never_records: bool = False
    documents: Documents | None = None

    @model_validator(mode="before")
    @classmethod
    def _string_is_status(cls, data: Any) -> Any:
        return {"status": data} if isinstance(data, str) else data


class ExecutionSpeed(_Model):
    """Each execution of a process keeps its own speed: a factor on every duration drawn for it.

    The factor is lognormal around 1 (``sigma``), drawn once per execution from the world seed,
    the process id and the execution's identity: the value of the dynamic property ``key``, or
    all its dynamic properties when ``key`` is not given or the request lacks it. So the same
    execution submitted again (in a later apply) is as fast or as slow as before.
    """

    sigma: float = Field(gt=0, le=3)
    key: str | None = Field(default=None, min_length=1)


class Deployment(_Model):
    """A DeployedPackage of the process in an environment (given by name or id)."""

    environment: str = Field(min_length=1)
    active: bool = True
    version: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _string_is_environment(cls, data: Any) -> Any:
        return {"environment": data} if isinstance(data, str) else data


class Process(_Model):
    """A process component: where it is deployed and how its runs behave."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    account: str | None = None
    deployments: tuple[Deployment, ...] = ()
    duration: Duration = Duration(distribution="uniform", min=1.0, max=3.0)
    record_delay: float = Field(default=1.0, ge=0)
    execution_speed: ExecutionSpeed | None = None
    enqueued: float = Field(default=0.0, ge=0)
    outcome: tuple[Outcome, ...] = Field(default=(Outcome(status="COMPLETE"),), min_length=1)
    message: str | None = None
    documents: Documents = Documents()
    execution_type: str = "exec_manual"

    @field_validator("outcome", mode="before")
    @classmethod
    def _single_is_sequence(cls, data: Any) -> Any:
        return [data] if isinstance(data, str | Mapping) else data


class Switches(_Model):
    """Response-shape and behaviour switches for the places the reference is unsure about.

    Each default is the reference's *simulator default* (or, where it names none, the reading
    ``docs/simulator.md`` gives a reason for); the other values are the variants it lists.
    """

    async_pending: Literal["wrapper", "empty"] = "wrapper"
    async_record: Literal["wrapper", "lean", "bare"] = "wrapper"
    error_body: Literal["typed", "untyped", "nested"] = "typed"
    xml_errors: bool = False
    offline_runtime: Literal["queue", "reject"] = "queue"
    number_of_results: Literal["page", "total"] = "page"
    page_size: int = Field(default=100, ge=1, le=1000)
    empty_query: Literal["all", "reject"] = "all"
    empty_result: Literal["omit", "empty"] = "omit"
    recorded_date: Literal["final", "always"] = "final"
    long_fields: Literal["tuple", "number"] = "tuple"


class World(_Model):
    """A validated world: the whole simulated platform."""

    seed: int = 0
    epoch: datetime | None = None
    accounts: tuple[Account, ...] = Field(min_length=1)
    environments: tuple[Environment, ...] = ()
    runtimes: tuple[Runtime, ...] = ()
    processes: tuple[Process, ...] = ()
    faults: tuple[FaultRule, ...] = ()
    switches: Switches = Switches()

    def account_of(self, entity: Environment | Runtime | Process) -> str:
        """The account an entity belongs to (the first account when not given)."""
        return entity.account or self.accounts[0].id

    def environment(self, account: str, ref: str) -> Environment | None:
        """Find an environment of ``account`` by id, then by name."""
        found = [e for e in self.environments if self.account_of(e) == account]
        return next((e for e in found if e.id == ref), None) or next(
            (e for e in found if e.name == ref), None
        )

    def runtime(self, account: str, atom_id: str) -> Runtime | None:
        """Find a runtime of ``account`` by id."""
        return next(
            (r for r in self.runtimes if r.id == atom_id and self.account_of(r) == account), None
        )

    def process(self, account: str, process_id: str) -> Process | None:
        """Find a process of ``account`` by id."""
        return next(
            (p for p in self.processes if p.id == process_id and self.account_of(p) == account),
            None,
        )

    def is_deployed(self, account: str, process: Process, runtime: Runtime) -> bool:
        """True when an active deployment of ``process`` is in the runtime's environment (§13)."""
        if runtime.environment is None:
            return False
        env = self.environment(account, runtime.environment)
        return env is not None and any(
            d.active and self.environment(account, d.environment) == env
            for d in process.deployments
        )


def load_world(path: Path) -> World:
    """Load and validate a world file.

    Raises:
        WorldError: listing every problem as ``file:line:col: message`` lines.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError([Problem(str(path), 1, 1, f"cannot read world file: {exc}")]) from None
    return _from_text(text, str(path))


@functools.cache
def demo_world() -> World:
    """The built-in world used by the demo, the example specs and the tests."""
    text = resources.files("reconciler.sim").joinpath("demo_world.yaml").read_text("utf-8")
    return _from_text(text, "demo_world.yaml")


def world_from_data(data: Any, source: str = "<world>") -> World:
    """Validate an already-parsed world document (e.g. JSON posted to ``/_sim/reset``).

    Raises:
        WorldError: problems located by path only (there are no line numbers).
    """
    return validate_document(World, data, None, source, _check_references)


def parse_world(text: str, file: str = "<world>") -> World:
    """Validate world YAML text that claims to come from ``file``.

    Raises:
        WorldError: listing every problem as ``file:line:col: message`` lines.
    """
    return _from_text(text, file)


def _from_text(text: str, file: str) -> World:
    data, node = parse_document(text, file)
    return validate_document(World, data, node, file, _check_references)


def _check_references(world: World) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Cross-reference checks pydantic cannot express: (path, message) pairs."""
    accounts = {a.id for a in world.accounts}
    seen: dict[str, set[str]] = {}
    for i, account in enumerate(world.accounts):
        if account.id in seen:
            yield ("accounts", i, "id"), f"duplicate account id {account.id!r}"
        seen[account.id] = set()
        names: set[str] = set()
        for j, user in enumerate(account.users):
            if user.name in names:
                yield ("accounts", i, "users", j, "name"), f"duplicate user {user.name!r}"
            names.add(user.name)
    groups: tuple[tuple[str, tuple[Environment | Runtime | Process, ...]], ...] = (
        ("environments", world.environments),
        ("runtimes", world.runtimes),
        ("processes", world.processes),
    )
    for key, items in groups:
        ids: set[tuple[str, str]] = set()
        for i, item in enumerate(items):
            owner = world.account_of(item)
            if item.account is not None and item.account not in accounts:
                yield (key, i, "account"), f"unknown account {item.account!r}"
            if (owner, item.id) in ids:
                yield (key, i, "id"), f"duplicate id {item.id!r}"
            ids.add((owner, item.id))
    for i, runtime in enumerate(world.runtimes):
        ref = runtime.environment
        if ref is not None and world.environment(world.account_of(runtime), ref) is None:
            yield ("runtimes", i, "environment"), f"unknown environment {ref!r}"
    for i, process in enumerate(world.processes):
        for j, deployment in enumerate(process.deployments):
            ref = deployment.environment
            if world.environment(world.account_of(process), ref) is None:
                path = ("processes", i, "deployments", j, "environment")
                yield path, f"unknown environment {ref!r}"
