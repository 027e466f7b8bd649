"""Shared pieces of the command line: the root group, common options, settings and wiring.

Start-up is part of every command's time, so nothing heavy is imported here: the root group
imports a command's module only when that command runs (``--help`` shows each command's
summary from ``COMMANDS``), and the helpers below import what they use when called. A test
(``tests/cli/test_lazy_imports.py``) keeps ``--help`` free of httpx, Jinja2, jsonschema and
the engine, and the summaries equal to the commands' own.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler import __version__, outbound

if TYPE_CHECKING:
    from reconciler.config.settings import Settings
    from reconciler.specs.load import SpecContext

#: Every top-level command: the module that defines it, and the first paragraph of its help
#: (what --help shows, shortened, without importing the module).
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": (
        "reconciler.cli.apply",
        "Submit pending runs, poll them to a final status, save state and artifacts.",
    ),
    "cancel": ("reconciler.cli.repair", "Cancel the running execution NAME on the platform."),
    "check": (
        "reconciler.cli.check",
        "Ask the platform (read-only) whether each execution can run, and what ran outside git.",
    ),
    "commit": (
        "reconciler.cli.commit",
        "Commit only this environment's state and artifacts, with trailers naming the apply.",
    ),
    "github": (
        "reconciler.cli.github_cmds",
        "The plan on a pull request: the sticky comment, and the reviewed plan at merge.",
    ),
    "history": (
        "reconciler.cli.history",
        "Every run of execution NAME recorded in git: when, specs commit, plan, outcome, who.",
    ),
    "plan": (
        "reconciler.cli.planning",
        "Show what apply would do, and why. Needs no credentials and no network.",
    ),
    "render": (
        "reconciler.cli.planning",
        "Print the exact request body NAME would send (secrets as references) and its digest.",
    ),
    "sim": ("reconciler.cli.simulator", "The local platform simulator."),
    "state": ("reconciler.cli.repair", "Inspect and repair the state directory."),
    "status": ("reconciler.cli.planning", "Show the recorded state of every execution."),
    "validate": (
        "reconciler.cli.planning",
        "Check spec files (default: the configured specs folder) against the schema.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are run (or asked for by name).

    Every command it hands out (and every command of a sub-group) also takes the global
    options (``GLOBAL_OPTIONS``) after its name: ``reconciler plan --env prod`` is
    ``reconciler --env prod plan``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's API
        """Every command's name, imported or not."""
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002
        """The command, importing its module first when needed."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name][0])  # registers itself on ``cli``
        command = self.commands.get(cmd_name)
        if command is not None:
            _take_global_options(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section of --help, without importing any command's module."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            # A command not imported yet is summarised from COMMANDS, exactly as click would.
            command = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


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


#: The options of the whole program: (flags, destination in ``ctx.obj``, click settings).
#: Accepted before the command and after it; after it, a value given wins.
GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], str, dict[str, Any]], ...] = (
    (
        ("--config",),
        "config",
        {
            "type": click.Path(path_type=Path, dir_okay=False),
            "help": "Path of reconciler.yaml (default: the nearest one in this folder or its "
            "parents).",
        },
    ),
    (
        ("--debug",),
        "debug",
        {"is_flag": True, "help": "Show tracebacks instead of one-line errors."},
    ),
    (
        ("--env",),
        "env",
        {
            "metavar": "NAME",
            "help": "Environment from reconciler.yaml (default: $RECONCILER_ENV, then "
            "defaultEnvironment).",
        },
    ),
    (
        ("--no-color",),
        "no_color",
        {
            "is_flag": True,
            "help": "No colour, even on a terminal (also: NO_COLOR=1). FORCE_COLOR=1 forces it.",
        },
    ),
)


def _store_global(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """A global option given after the command: recorded where the root group records it."""
    if value is None or value is False or param.name is None:
        return value  # not given here: what was given before the command stays
    ctx.ensure_object(dict)[param.name] = value
    if param.name == "no_color":
        OUTPUT.no_color = True
    return value


def _global_options(*, root: bool) -> list[click.Option]:
    options = []
    for flags, name, settings in GLOBAL_OPTIONS:
        extra: dict[str, Any] = {} if root else {"expose_value": False}
        options.append(click.Option([*flags, name], callback=_store_global, **settings, **extra))
    return options


def _take_global_options(command: click.Command) -> None:
    """Give ``command`` (and, for a group, each of its commands) the global options, once."""
    known = {opt for param in command.params for opt in getattr(param, "opts", ())}
    command.params.extend(o for o in _global_options(root=False) if o.opts[0] not in known)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _take_global_options(sub)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.pass_context
def cli(ctx: click.Context, /, **options: object) -> None:
    """Run Boomi integration processes the GitOps way."""
    ctx.ensure_object(dict).update(options)
    if options.get("no_color"):
        OUTPUT.no_color = True


cli.params.extend(_global_options(root=True))


def settings_of(ctx: click.Context) -> Settings:
    """Settings for this invocation: --config, --env and the environment."""
    from reconciler.config.settings import load_settings

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
    from reconciler.usecases.inputs import spec_context as build

    return build(settings, os.environ, tuple(ctx.obj.get("vars", ())))


class _Output:
    """The process's one way out: every line, summary and log passes ``scrub`` (outbound.py).

    It learns the secret values as the commands resolve them (``add_secrets``); the
    credentials are known from the start. The redactor is built when first needed, so
    ``--help`` pays nothing for it.
    """

    def __init__(self) -> None:
        self._named: dict[str, str] = {}
        self._redactor: outbound.Redactor | None = None
        self.no_color = False  # --no-color

    def reset(self) -> None:
        """Forget every secret learned: each run of ``main`` starts from the environment."""
        self._named.clear()
        self._redactor = None
        self.no_color = False

    def add_secrets(self, named: Mapping[str, str]) -> None:
        fresh = {k: v for k, v in named.items() if v and self._named.get(k) != v}
        if fresh:
            self._named.update(fresh)
            self._redactor = None

    def redactor(self) -> outbound.Redactor:
        if self._redactor is None:
            from reconciler.usecases.inputs import credential_values

            credentials = credential_values(os.environ)  # known from the first line on
            self._redactor = outbound.Redactor({**credentials, **self._named})
        return self._redactor


OUTPUT = _Output()


def add_secrets(named: Mapping[str, str]) -> outbound.Redactor:
    """Scrub these secret values (name → value) from everything printed from now on."""
    OUTPUT.add_secrets(named)
    return OUTPUT.redactor()


def scrub(text: str) -> str:
    """``text`` without any secret value this process knows, in any encoding."""
    return OUTPUT.redactor().scrub(text)


def echo(text: str, *, err: bool = False) -> None:
    """Print text (stdout, or stderr with ``err``): scrubbed and inert for a terminal or CI log.

    No line can carry an escape sequence or be read as a workflow command; the tool's own
    workflow commands go through ``echo_command``.
    """
    click.echo(outbound.log(scrub(text)), err=err)


def echo_mask(value: str) -> None:
    """``::add-mask::value``: the one line that must show a secret (to the runner only)."""
    from reconciler.github.workflow import mask

    click.echo(mask(value))


def echo_command(line: str) -> None:
    """Print one of the tool's own workflow-command lines (built by ``github.workflow``).

    Those builders escape their untrusted parts; the line is scrubbed, not defused.
    """
    click.echo(scrub(line))


_SHARD = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")


def _parse_shard(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    if value is None:
        return None
    match = _SHARD.fullmatch(value.strip())
    if match and 1 <= int(match[1]) <= int(match[2]):
        return int(match[1]), int(match[2])
    raise click.BadParameter(
        f"{value!r}: expected K/N with 1 <= K <= N <= 9999 (ASCII digits), e.g. 2/4"
    )


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
