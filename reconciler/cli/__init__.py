"""The command line: parse options, wire the pieces, render, return an exit code.

The shell, and the only module that prints. ``main`` is the one error boundary: user errors
become ``file:line:col: message`` lines and exit 1, interrupts exit 130/143 after the engine has
saved state, and anything else is a bug reported in one line with the traceback in a log file
(``--debug`` re-raises). Command modules are imported when their command runs (see
``base.LazyGroup``), so ``--help`` and ``validate`` never load the engine, the platform client
or the simulator.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler.cli.base import OUTPUT, ExitCode, Interrupted, cli, echo, echo_command, scrub
from reconciler.errors import Problems, ReconcilerError

# The command modules (apply, commit, github_cmds, planning, repair, simulator) register
# themselves on ``cli`` when ``cli`` first needs them.
__all__ = ["ExitCode", "cli", "main"]

# A young-generation collection every 50,000 allocations instead of every 700. A command builds
# tens of thousands of objects that all live until it exits (documents, runs, state entries);
# at the default threshold the collector walked them again and again, a quarter of a plan's
# time. Cyclic garbage is still collected, just in bigger batches.
GC_THRESHOLD = 50_000


def tune_gc() -> None:
    """Collect garbage less often: see ``GC_THRESHOLD``."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, older, oldest)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script: the single error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    OUTPUT.reset()
    tune_gc()
    try:
        code = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.ERROR  # never 2: that means "changes pending"
    except click.Abort:
        echo("Aborted.", err=True)
        code = ExitCode.INTERRUPTED
    except Problems as exc:  # InvalidSpecs, InvalidConfig: every located problem
        from reconciler.github import workflow as github
        from reconciler.github.context import GitHubContext
        from reconciler.report import renderers as report

        if GitHubContext.from_environ(os.environ).in_actions:
            cwd, root = Path.cwd(), github.workspace(os.environ)
            for line in github.diagnostic_annotations(exc.diagnostics, cwd=cwd, workspace=root):
                echo_command(line)
        echo(report.diagnostics_text(exc.diagnostics), err=True)
        echo(f"error: {exc.message}", err=True)
        code = ExitCode.ERROR
    except ReconcilerError as exc:  # user, platform, git, GitHub: one line each
        echo(f"error: {exc}", err=True)
        code = ExitCode.ERROR
    except Interrupted as exc:
        echo("interrupted: state saved; run apply again to resume", err=True)
        code = ExitCode.TERMINATED if exc.signum == signal.SIGTERM else ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        code = ExitCode.INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        code = _report_bug(exc)
    if argv is None:  # the process ends here: the collector need not walk what it built
        gc.freeze()
    sys.exit(int(code) if isinstance(code, int) else 0)


def _report_bug(exc: Exception) -> ExitCode:
    log = Path("reconciler-crash.log")
    try:
        # Never through a link a checkout could hold (reconciler-crash.log -> .git/config).
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(scrub("".join(traceback.format_exception(exc))))
        where = f"details in {log}"
    except OSError:
        where = "run again with --debug for details"
    echo(f"internal error: {type(exc).__name__} (a bug in reconciler; {where})", err=True)
    return ExitCode.BUG
