"""Shared pieces of the command line: the root group, common options, settings and wiring."""

from __future__ import annotations

import os
from enum import IntEnum
from pathlib import Path

import click

from reconciler import __version__
from reconciler.backoff import Backoff
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.clock import SystemClock
from reconciler.config import Settings, load_settings, parse_overrides
from reconciler.errors import InvalidSpecs
from reconciler.gitctx import git_facts
from reconciler.model import Plan
from reconciler.planner import Selection, build_plan
from reconciler.secrets import credentials_from_env
from reconciler.specs import SpecContext, load_desired
from reconciler.state import StateStore


class ExitCode(IntEnum):
    """Exit codes (practices.md A9); documented in the README and ``docs/engine.md``."""

    OK = 0
    ERROR = 1
    CHANGES = 2
    FAILED = 3
    UNKNOWN = 4
    PENDING = 5
    BUG = 70
    INTERRUPTED = 130
    TERMINATED = 143


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived during an apply; the engine has saved state."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Path of reconciler.yaml (default: the nearest one in this folder or its parents).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    help="Environment from reconciler.yaml (default: $RECONCILER_ENV, then defaultEnvironment).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool, environment: str | None) -> None:
    """Run Boomi integration processes the GitOps way."""
    ctx.obj = {"config": config_path, "debug": debug, "env": environment}


def settings_of(ctx: click.Context) -> Settings:
    """Settings for this invocation: --config, --env and the environment."""
    return load_settings(ctx.obj["config"], Path.cwd(), os.environ, ctx.obj.get("env"))


def _store_vars(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    ctx.ensure_object(dict)["vars"] = values


VAR_OPTION = click.option(
    "--var",
    multiple=True,
    metavar="KEY=VALUE",
    expose_value=False,
    callback=_store_vars,
    help="Set a template variable (vars.KEY), over every other source. Repeatable.",
)


def spec_context(ctx: click.Context, settings: Settings) -> SpecContext:
    """Template context: settings vars, git facts and --var overrides."""
    overrides = parse_overrides(ctx.obj.get("vars", ()))
    git = git_facts(os.environ, settings.root).as_context()
    return settings.spec_context(os.environ, git=git, overrides=overrides)


def echo(text: str, *, err: bool = False) -> None:
    """Print one line (stdout, or stderr with ``err``)."""
    click.echo(text, err=err)


def load_plan(
    settings: Settings, selection: Selection | None = None, context: SpecContext | None = None
) -> tuple[Plan, StateStore]:
    """Load and validate the specs, then diff them against the state."""
    loaded = load_desired([settings.specs_dir], root=Path.cwd(), context=context)
    if loaded.diagnostics:
        raise InvalidSpecs(loaded.diagnostics)
    store = StateStore(settings.state_dir, settings.environment)
    the_plan = build_plan(
        loaded.runs, store.snapshot(), environment=store.environment, selection=selection
    )
    return the_plan, store


def _parse_shard(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    if value is None:
        return None
    k, sep, n = value.partition("/")
    if sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise click.BadParameter(f"{value!r}: expected K/N with 1 <= K <= N, e.g. 2/4")


SHARD_OPTION = click.option(
    "--shard",
    callback=_parse_shard,
    metavar="K/N",
    help="Only shard K of N: a deterministic split that keeps dependency chains together; "
    "apply then uses 1/N of the rate limit.",
)

SELECT_HELP = (
    "Only these executions: a name, a glob (orders-*), label:KEY=VALUE, state:changed or "
    "state:failed. Repeatable. Selecting a manual execution by name runs it."
)


def make_client(settings: Settings, shards: int = 1) -> BoomiClient:
    """A platform client from the environment's credentials, with its share of the rate limit."""
    credentials = credentials_from_env(os.environ)
    return BoomiClient(
        settings.api_url,
        settings.account_id,
        credentials.username.get_secret_value(),
        credentials.token.get_secret_value(),
        clock=SystemClock(),
        # Shards run in parallel against one account: each gets its share of the budget.
        options=ClientOptions(rate_limit=settings.apply.rate_limit / shards, backoff=Backoff()),
    )
