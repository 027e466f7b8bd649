"""The command line: parse options, wire the pieces, render, return an exit code.

The shell, and the only module that prints. ``main`` is the one error boundary: user errors
become ``file:line:col: message`` lines and exit 1, interrupts exit 130/143 after the engine has
saved state, and anything else is a bug reported in one line with the traceback in a log file
(``--debug`` re-raises). The simulator is imported lazily, so commands against a real account
never load it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from reconciler import __version__, github, report
from reconciler.artifacts import write_apply_artifacts
from reconciler.backoff import Backoff
from reconciler.boomi.client import BoomiClient, ClientOptions
from reconciler.boomi.wire import execution_request_body
from reconciler.clock import SystemClock
from reconciler.config import Settings, load_settings, parse_overrides
from reconciler.engine import ApplyOptions, Engine
from reconciler.errors import InvalidSpecs, PlatformError, ReconcilerError, UserError
from reconciler.gitctx import git_facts
from reconciler.model import ActionKind, ApplyResult, Phase, Plan, PropertyValue, ResolvedRequest
from reconciler.planner import Selection, build_plan
from reconciler.progress import ProgressDisplay
from reconciler.secrets import EnvSecrets, credentials_from_env
from reconciler.specs import SpecContext, load_desired, spec_paths
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


class _Interrupted(Exception):
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


def _settings(ctx: click.Context) -> Settings:
    return load_settings(ctx.obj["config"], Path.cwd(), os.environ, ctx.obj.get("env"))


def _store_vars(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    ctx.ensure_object(dict)["vars"] = values


_VAR_OPTION = click.option(
    "--var",
    multiple=True,
    metavar="KEY=VALUE",
    expose_value=False,
    callback=_store_vars,
    help="Set a template variable (vars.KEY), over every other source. Repeatable.",
)


def _spec_context(ctx: click.Context, settings: Settings) -> SpecContext:
    overrides = parse_overrides(ctx.obj.get("vars", ()))
    git = git_facts(os.environ, settings.root).as_context()
    return settings.spec_context(os.environ, git=git, overrides=overrides)


def _echo(text: str, *, err: bool = False) -> None:
    click.echo(text, err=err)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--output", type=click.Choice(["text", "github", "json"]), default="text", show_default=True
)
@_VAR_OPTION
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], output: str) -> int:
    """Check spec files (default: the configured specs folder) against the schema."""
    settings = _settings(ctx)
    loaded = load_desired(
        spec_paths(paths, settings.specs_dir),
        root=Path.cwd(),
        context=_spec_context(ctx, settings),
    )
    if output == "json":
        _echo(report.diagnostics_json(loaded.diagnostics, loaded.files).rstrip("\n"))
    elif output == "github" and loaded.diagnostics:
        _echo("\n".join(github.diagnostic_annotations(loaded.diagnostics)))
    if loaded.diagnostics:
        if output == "text":
            raise InvalidSpecs(loaded.diagnostics)
        return ExitCode.ERROR
    if output == "text":
        _echo(f"{loaded.files} file(s), {len(loaded.runs)} execution(s): all valid.")
    return ExitCode.OK


def _load_plan(
    settings: Settings, selection: Selection | None = None, context: SpecContext | None = None
) -> tuple[Plan, StateStore]:
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


_SHARD_OPTION = click.option(
    "--shard",
    callback=_parse_shard,
    metavar="K/N",
    help="Only shard K of N: a deterministic split that keeps dependency chains together; "
    "apply then uses 1/N of the rate limit.",
)

_SELECT_HELP = (
    "Only these executions: a name, a glob (orders-*), label:KEY=VALUE, state:changed or "
    "state:failed. Repeatable. Selecting a manual execution by name runs it."
)


@cli.command()
@click.option(
    "--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending, 0 when none."
)
@click.option("--select", "select", multiple=True, help=_SELECT_HELP)
@_SHARD_OPTION
@_VAR_OPTION
@click.pass_context
def plan(
    ctx: click.Context,
    output: str,
    detailed_exitcode: bool,
    select: tuple[str, ...],
    shard: tuple[int, int] | None,
) -> int:
    """Show what apply would do, and why. Needs no credentials and no network."""
    settings = _settings(ctx)
    selection = Selection(patterns=select, shard=shard)
    the_plan, _ = _load_plan(settings, selection, _spec_context(ctx, settings))
    renderers: dict[str, Callable[[Plan], str]] = {
        "text": report.plan_text,
        "markdown": report.plan_markdown,
        "json": report.plan_json,
    }
    _echo(renderers[output](the_plan).rstrip("\n"))
    actions = github.Actions.from_env(os.environ)
    if actions is not None:
        actions.append_summary(report.plan_markdown(the_plan))
        counts = {kind.value: the_plan.count(kind) for kind in ActionKind}
        plan_json = report.plan_json(the_plan)
        actions.set_outputs(github.plan_outputs(plan_json, counts, the_plan.has_changes))
    return ExitCode.CHANGES if detailed_exitcode and the_plan.has_changes else ExitCode.OK


def _adoptions(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, sep, execution_id = value.partition("=")
        if not sep or not name or not execution_id.startswith("execution-"):
            raise click.BadParameter(
                f"{value!r}: expected NAME=EXECUTION_ID, e.g. orders=execution-1234-2026.01.15",
                param_hint="--adopt",
            )
        pairs.append((name, execution_id))
    return tuple(pairs)


@cli.command()
@click.option("--select", "select", multiple=True, help=_SELECT_HELP)
@_SHARD_OPTION
@click.option(
    "--adopt",
    multiple=True,
    metavar="NAME=EXECUTION_ID",
    help="Record EXECUTION_ID as the run of NAME's unresolved submit, and follow it.",
)
@click.option(
    "--resubmit",
    multiple=True,
    metavar="NAME",
    help="Submit NAME again although its earlier submit is unresolved (it may run twice).",
)
@_VAR_OPTION
@click.pass_context
def apply(
    ctx: click.Context,
    select: tuple[str, ...],
    shard: tuple[int, int] | None,
    adopt: tuple[str, ...],
    resubmit: tuple[str, ...],
) -> int:
    """Submit pending runs, poll them to a final status, save state and artifacts."""
    settings = _settings(ctx)
    selection = Selection(patterns=select, adopt=_adoptions(adopt), resubmit=resubmit, shard=shard)
    store = StateStore(settings.state_dir, settings.environment)
    with store.lock(command="reconciler apply"):
        the_plan, store = _load_plan(settings, selection, _spec_context(ctx, settings))
        _echo(report.plan_text(the_plan))
        if not the_plan.has_changes:
            _echo("Nothing to apply.")
            return ExitCode.OK
        client = _client(settings, shards=shard[1] if shard else 1)
        progress = ProgressDisplay(
            sys.stderr,
            live=sys.stderr.isatty() and not os.environ.get("CI"),
            now=lambda: datetime.now(UTC),
        )
        engine = Engine(
            client,
            store,
            SystemClock(),
            EnvSecrets(os.environ),
            options=ApplyOptions(
                concurrency=settings.apply.concurrency,
                poll_initial=settings.apply.poll_initial,
                poll_max=settings.apply.poll_max,
                timeout=settings.apply.timeout,
                record_timeout=settings.apply.record_timeout,
            ),
            progress=progress,
        )
        actions = github.Actions.from_env(os.environ)
        if actions is not None:  # hide every secret value this apply resolves (practices A3)
            secrets = EnvSecrets(os.environ)
            for action in the_plan.actions:
                if action.desired is not None:
                    for value in secrets.values(action.desired.request):
                        _echo(github.mask(value))
        try:
            result = _run_interruptible(engine.apply(the_plan), client.aclose)
        finally:
            progress.close()
        entries = store.snapshot()
    stats = {
        "HTTP calls": client.totals.calls,
        "retries": client.totals.retries,
        "503 responses": client.totals.statuses.get(503, 0),
        "rate-limit wait": f"{client.limiter.waited:.1f}s",
    }
    write_apply_artifacts(settings.artifacts_dir / store.environment, result, entries, stats)
    _echo("")
    _echo(report.apply_text(result))
    if actions is not None:
        actions.append_summary(report.summary_markdown(result, stats))
        failed = [
            (r.name, r.status or r.outcome.upper(), r.message or "")
            for r in result.results
            if r.outcome not in ("success", "skipped")
        ]
        for line in github.failed_run_annotations(failed):
            _echo(line)
        outcomes = ("success", "failure", "rejected", "unknown", "pending", "skipped")
        actions.set_outputs([(f"count-{o}", str(result.count(o))) for o in outcomes])  # type: ignore[arg-type]
    return _apply_exit(result)


def _client(settings: Settings, shards: int = 1) -> BoomiClient:
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


@cli.command()
@click.argument("name")
@click.pass_context
def cancel(ctx: click.Context, name: str) -> int:
    """Cancel the running execution NAME on the platform."""
    settings = _settings(ctx)
    store = StateStore(settings.state_dir, settings.environment)
    entry = store.snapshot().get(name)
    if entry is None or entry.phase is not Phase.SUBMITTED:
        what = "has no recorded state" if entry is None else f"is {entry.phase.value}"
        raise UserError(f"{name} {what}; only a submitted, unfinished run can be cancelled")
    client = _client(settings)

    async def run() -> str:
        try:
            execution_id = entry.execution_id
            if execution_id is None and entry.request_id:
                record = await client.get_record(entry.request_id)
                execution_id = record.execution_id if record else None
            if execution_id is None:
                raise UserError(
                    f"{name} has no executionId yet (the platform has not started it)",
                    hint="try again in a moment",
                )
            await client.cancel(execution_id)
            return execution_id
        finally:
            await client.aclose()

    execution_id = asyncio.run(run())
    _echo(f"Cancel requested for {name} ({execution_id}); the next apply records how it ended.")
    return ExitCode.OK


@cli.group()
def state() -> None:
    """Inspect and repair the state directory."""


@state.command()
@click.pass_context
def unlock(ctx: click.Context) -> int:
    """Release the apply lock if no live process holds it."""
    settings = _settings(ctx)
    _echo(StateStore(settings.state_dir, settings.environment).unlock())
    return ExitCode.OK


def _apply_exit(result: ApplyResult) -> ExitCode:
    if result.count("unknown"):
        return ExitCode.UNKNOWN
    if result.count("failure") or result.count("rejected"):
        return ExitCode.FAILED
    if result.count("pending"):
        return ExitCode.PENDING
    return ExitCode.OK


def _run_interruptible(work: Any, cleanup: Callable[[], Any]) -> ApplyResult:
    """Run the apply; SIGINT/SIGTERM cancel it (the engine saves state) and exit 130/143."""

    async def main() -> ApplyResult:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        received: list[int] = []

        def stop(signum: int) -> None:
            received.append(signum)
            if task is not None:
                task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await work  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            if received:
                raise _Interrupted(received[0]) from None
            raise
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await cleanup()

    return asyncio.run(main())


@cli.command()
@_VAR_OPTION
@click.argument("name")
@click.pass_context
def render(ctx: click.Context, name: str) -> int:
    """Print the exact request body NAME would send (secrets as references) and its digest."""
    settings = _settings(ctx)
    loaded = load_desired(
        [settings.specs_dir], root=Path.cwd(), context=_spec_context(ctx, settings)
    )
    if loaded.diagnostics:
        raise InvalidSpecs(loaded.diagnostics)
    run = next((r for r in loaded.runs if r.name == name), None)
    if run is None:
        names = ", ".join(r.name for r in loaded.runs[:20]) or "none"
        raise UserError(f"no execution named {name!r}", hint=f"expected one of: {names}")
    shown = ResolvedRequest.model_validate(
        {
            "process_id": run.request.process_id,
            "atom_id": run.request.atom_id,
            "dynamic_properties": {k: _shown(v) for k, v in run.request.dynamic_properties.items()},
            "process_properties": {
                c: {k: _shown(v) for k, v in values.items()}
                for c, values in run.request.process_properties.items()
            },
        }
    )
    _echo(json.dumps(execution_request_body(shown), indent=2, ensure_ascii=False))
    _echo(f"digest: {run.digest}")
    return ExitCode.OK


def _shown(value: PropertyValue) -> str:
    return value if isinstance(value, str) else f'{{{{ secret("{value.secret}") }}}}'


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> int:
    """Show the recorded state of every execution."""
    settings = _settings(ctx)
    store = StateStore(settings.state_dir, settings.environment)
    _echo(report.status_text(store.snapshot(), store.environment))
    return ExitCode.OK


@cli.group()
def sim() -> None:
    """The local platform simulator."""


@sim.command()
@click.option("--world", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option("--time-scale", type=click.FloatRange(min=0.001), default=1.0, show_default=True)
def serve(world: Path | None, port: int, time_scale: float) -> int:
    """Serve the simulator on loopback; print its URL, account and credentials."""
    import reconciler.sim.serve as sim_serve  # lazy: uvicorn only when asked
    from reconciler.sim.world import WorldError, load_world

    try:
        loaded = load_world(world) if world is not None else None
    except WorldError as exc:
        raise UserError(str(exc)) from None

    def ready(endpoint: Any) -> None:
        _echo(f"BOOMI_API_URL={endpoint.base_url}")
        _echo(f"BOOMI_ACCOUNT_ID={endpoint.account_id}")
        _echo(f"BOOMI_USERNAME={endpoint.username}")
        _echo(f"BOOMI_API_TOKEN={endpoint.token}")
        sys.stdout.flush()

    sim_serve.serve_forever(loaded, port=port, time_scale=time_scale, on_ready=ready)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script: the single error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.ERROR  # never 2: that means "changes pending"
    except click.Abort:
        _echo("Aborted.", err=True)
        code = ExitCode.INTERRUPTED
    except InvalidSpecs as exc:
        if os.environ.get("GITHUB_ACTIONS") == "true":
            _echo("\n".join(github.diagnostic_annotations(exc.diagnostics)))
        _echo(report.diagnostics_text(exc.diagnostics), err=True)
        _echo(f"error: {exc.message}", err=True)
        code = ExitCode.ERROR
    except (UserError, PlatformError, ReconcilerError) as exc:
        _echo(f"error: {exc}", err=True)
        code = ExitCode.ERROR
    except _Interrupted as exc:
        _echo("interrupted: state saved; run apply again to resume", err=True)
        code = ExitCode.TERMINATED if exc.signum == signal.SIGTERM else ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        _echo("interrupted", err=True)
        code = ExitCode.INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        code = _report_bug(exc)
    sys.exit(int(code) if isinstance(code, int) else 0)


def _report_bug(exc: Exception) -> ExitCode:
    log = Path("reconciler-crash.log")
    try:
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        where = f"details in {log}"
    except OSError:
        where = "run again with --debug for details"
    _echo(f"internal error: {type(exc).__name__} (a bug in reconciler; {where})", err=True)
    return ExitCode.BUG
