"""What every use case starts from: the template context, the plan, the platform client.

Plain functions over settings and an environment mapping (never ``os.environ`` itself), so a
test or a benchmark builds the same inputs the CLI does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.config.settings import (
    DEFAULT_ENVIRONMENT,
    MAX_CONFIG_BYTES,
    Settings,
    parse_overrides,
)
from reconciler.errors import InvalidSpecs, StateError
from reconciler.git.facts import git_facts
from reconciler.github.context import GitHubContext

if TYPE_CHECKING:
    from reconciler.boomi.client import BoomiClient
    from reconciler.clock import Clock
    from reconciler.config.secrets import Preflight
    from reconciler.model import DesiredRun, Plan, RunRequest, StateEntry
    from reconciler.outbound import Redactor
    from reconciler.plan.planner import Selection
    from reconciler.specs.expand import SpecContext
    from reconciler.store.state import StateStore


def spec_context(
    settings: Settings, environ: Mapping[str, str], overrides: tuple[str, ...] = ()
) -> SpecContext:
    """Template context: the settings' vars, git facts and ``--var KEY=VALUE`` overrides.

    It also carries the environments reconciler.yaml defines, which ``policy.promote`` may
    name, and this user's cache of compiled templates and loaded files (``store.cache``; off
    with ``RECONCILER_NO_CACHE=1``).
    """
    from reconciler.store.cache import open_cache

    parsed = parse_overrides(overrides)
    actions = GitHubContext.from_environ(environ).git_facts()
    git = git_facts(settings.root, actions=actions).as_context()
    context = settings.spec_context(environ, git=git, overrides=parsed)
    return dataclasses.replace(
        context,
        environments=defined_environments(settings),
        cache=open_cache(environ, settings.root),
    )


def defined_environments(settings: Settings) -> tuple[str, ...]:
    """The environments of reconciler.yaml; only ``default`` when it defines none.

    ``Settings.environments`` when the settings carry it; otherwise read from the config file,
    which ``load_settings`` has validated already (so a problem here means it changed since,
    and is left to the next command to report).
    """
    names = getattr(settings, "environments", None)
    if names is None:
        names = _config_environments(settings.config_file)
    return tuple(sorted(names)) if names else (DEFAULT_ENVIRONMENT,)


def _config_environments(config: Path | None) -> tuple[str, ...]:
    from reconciler.files import read_bounded
    from reconciler.specs.documents import load_bytes

    if config is None:
        return ()
    try:
        raw = read_bounded(config, limit=MAX_CONFIG_BYTES, root=config.absolute().parent.resolve())
    except OSError:
        return ()
    documents, problems = load_bytes(raw, str(config))
    data = documents[0].data if documents and not problems else None
    environments = data.get("environments") if isinstance(data, dict) else None
    return tuple(str(name) for name in environments) if isinstance(environments, dict) else ()


def load_plan(
    settings: Settings,
    selection: Selection | None = None,
    context: SpecContext | None = None,
    *,
    cwd: Path,
    store: StateStore | None = None,
) -> tuple[Plan, StateStore]:
    """Load and validate the specs, then diff them against the state (``store``'s, if given).

    The state is read while other processes load the spec files; its errors are reported after
    the specs' own problems.
    """
    from reconciler.plan.planner import build_plan
    from reconciler.specs.load import load_desired
    from reconciler.store.state import StateStore

    if store is None:
        store = StateStore(settings.state_dir, settings.environment)
    state: list[Mapping[str, StateEntry] | StateError] = []

    def read_state() -> None:
        try:
            state.append(store.snapshot())
        except StateError as exc:
            state.append(exc)

    loaded = load_desired([settings.specs_dir], root=cwd, context=context, meanwhile=read_state)
    if loaded.diagnostics:
        raise InvalidSpecs(loaded.diagnostics)
    if isinstance(state[0], StateError):
        raise state[0]
    the_plan = build_plan(
        loaded.runs,
        state[0],
        environment=store.environment,
        selection=selection,
        promotion=promotion_state(settings.state_dir, loaded.runs, store.environment),
    )
    if loaded.notices:  # property values taken as written: said with the plan, outside its digest
        said = (*(str(notice) for notice in loaded.notices), *the_plan.notices)
        the_plan = the_plan.model_copy(update={"notices": said})
    return the_plan, store


def promotion_state(
    state_dir: Path, runs: Iterable[DesiredRun], environment: str
) -> dict[str, Mapping[str, StateEntry]]:
    """The recorded state of every environment a ``policy.promote`` rule names (read-only).

    Read without the lock: an apply there may be writing, and a file is replaced whole, so
    this sees each execution before or after its write. A folder not there yet is no runs.
    """
    from reconciler.store.state import StateStore

    names = sorted({name for run in runs for name in run.policy.promote_after} - {environment})
    return {name: StateStore(state_dir, name).snapshot() for name in names}


def secret_values(requests: Iterable[RunRequest], environ: Mapping[str, str]) -> dict[str, str]:
    """Name → value of every secret ``requests`` use that the environment sets."""
    from reconciler.config.secrets import EnvSecrets

    secrets = EnvSecrets(environ)
    named: dict[str, str] = {}
    for request in requests:
        named.update(secrets.named(request))
    return named


def runs_to_send(plan: Plan) -> Iterator[DesiredRun]:
    """The runs an apply of ``plan`` may submit: submit, rerun, retry and wait actions.

    A ``wait`` is sent once its dependencies succeed, so it counts; ``noop``, ``skip``,
    ``resume``, ``unknown`` and ``orphan`` send nothing.
    """
    for action in plan.actions:
        if action.kind.submits and action.desired is not None:
            yield action.desired


def check_secrets(settings: Settings, plan: Plan, environ: Mapping[str, str]) -> Preflight:
    """Every secret the runs ``plan`` sends cannot have from ``environ`` (names, never values).

    What ``apply`` checks before its first submit, and ``plan --check-secrets`` reports.
    """
    from reconciler.config.secrets import EnvSecrets, preflight

    return preflight(runs_to_send(plan), EnvSecrets(environ, reserved=settings.reserved_secrets))


def plan_requests(plan: Plan) -> Iterator[RunRequest]:
    """Every request a plan names: the desired ones and the recorded ones."""
    for action in plan.actions:
        if action.desired is not None:
            yield action.desired.request
        if action.current is not None:
            yield action.current.request


#: Credentials the runner may hand the process besides the platform's and GitHub's tokens.
RUNNER_CREDENTIALS = ("ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


def credential_values(environ: Mapping[str, str]) -> dict[str, str]:
    """Every credential in the environment, by name: the platform's, GitHub's, the runner's.

    The one set every redactor starts from (the apply's, and the CLI's from its first line).
    """
    from reconciler.config.secrets import TOKEN_VARIABLE

    names = (TOKEN_VARIABLE, *GitHubContext.TOKEN_VARIABLES, *RUNNER_CREDENTIALS)
    return {name: environ[name] for name in names if environ.get(name)}


def make_client(
    settings: Settings,
    environ: Mapping[str, str],
    clock: Clock,
    shards: int = 1,
    *,
    redactor: Redactor | None = None,
    waiting: Callable[[str], None] | None = None,
) -> BoomiClient:
    """A platform client from the environment's credentials, with its share of the rate limit.

    Whatever the platform answers is scrubbed of ``redactor``'s secrets on arrival (default:
    the credentials' own token). The account id, the URL's shape and the credentials are
    checked first, so a configuration that cannot work fails before any request. ``waiting``
    hears a line while a request waits long for its answer (``platform.readTimeout``).
    """
    from reconciler.boomi.client import BoomiClient, ClientOptions, check_address
    from reconciler.config.secrets import credentials_from_env
    from reconciler.outbound import Redactor
    from reconciler.retry import Backoff

    check_address(settings.api_url, settings.account_id)
    credentials = credentials_from_env(environ)
    if redactor is None:
        redactor = Redactor(credential_values(environ))
    return BoomiClient(
        settings.api_url,
        settings.account_id,
        credentials.username.get_secret_value(),
        credentials.token.get_secret_value(),
        clock=clock,
        # Shards run in parallel against one account: each gets its share of the budget.
        options=ClientOptions(
            rate_limit=settings.apply.rate_limit / shards,
            backoff=Backoff(),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        ),
        redactor=redactor,
        waiting=waiting,
    )
