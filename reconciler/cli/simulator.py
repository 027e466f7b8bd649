"""The simulator command: serve the local platform on loopback.

The simulator's server libraries (starlette, uvicorn) are the optional extra ``sim``; without
them ``sim serve`` says in one line how to install it, and no other command needs them.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click

from reconciler.cli.base import (
    ExitCode,
    cli,
)
from reconciler.errors import UserError
from reconciler.files import write_atomic

SERVER_LIBRARIES = frozenset({"starlette", "uvicorn"})
INSTALL_HINT = "pip install 'boomi-reconciler[sim]'"
PORT_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})  # not ours to take


@cli.group()
def sim() -> None:
    """The local platform simulator."""


@sim.command()
@click.option(
    "--world",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A world file (docs/simulator.md): the accounts, runtimes and processes to serve, "
    "and how their runs end. Default: the demo world.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Loopback port to listen on; 0 takes a free one.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0.001),
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second (50: a 3 s run takes 60 ms).",
)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the four BOOMI_* lines to FILE, whole, once the simulator listens, so a "
    "script can wait for FILE to appear. FILE is removed when the simulator stops (and an "
    "older one before it starts).",
)
def serve(world: Path | None, port: int, time_scale: float, env_file: Path | None) -> int:
    """Serve the simulator on loopback; print its URL, account and credentials.

    Prints BOOMI_API_URL, BOOMI_ACCOUNT_ID, BOOMI_USERNAME and BOOMI_API_TOKEN, one per line,
    once it listens; runs until interrupted (Ctrl-C, SIGTERM).
    """
    try:  # lazy: uvicorn only when asked
        import reconciler.sim.serve as sim_serve
        from reconciler.sim.world import WorldError, load_world
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in SERVER_LIBRARIES:
            raise
        raise UserError(
            f"the simulator needs {missing}, which is not installed; install it with: "
            f"{INSTALL_HINT}"
        ) from None

    try:
        loaded = load_world(world) if world is not None else None
    except WorldError as exc:
        raise UserError(str(exc)) from None
    if env_file is not None:
        _remove(env_file)

    def ready(endpoint: Any) -> None:
        # The simulator's own demo credentials, printed on purpose (not through the scrubbing
        # echo: an exported BOOMI_API_TOKEN of the same value would blank the line).
        lines = (
            f"BOOMI_API_URL={endpoint.base_url}\n"
            f"BOOMI_ACCOUNT_ID={endpoint.account_id}\n"
            f"BOOMI_USERNAME={endpoint.username}\n"
            f"BOOMI_API_TOKEN={endpoint.token}\n"
        )
        if env_file is not None:  # whole or absent: its existence means "listening"
            try:
                write_atomic(env_file, lines.encode("utf-8"))
            except OSError as exc:
                where = f": {exc.filename}" if exc.filename else ""
                raise UserError(
                    f"{env_file}: cannot write the env file ({exc.strerror}{where})"
                ) from None
        click.echo(lines, nl=False)
        sys.stdout.flush()

    # uvicorn stops on SIGTERM, then raises it again under the handler it found: this one
    # unwinds (removing the env file) instead of the default, which ends the process at once.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        sim_serve.serve_forever(loaded, port=port, time_scale=time_scale, on_ready=ready)
    except OSError as exc:
        if exc.errno not in PORT_ERRORS:
            raise
        raise UserError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint="choose another --port, or --port 0 for a free one",
        ) from None
    finally:
        if env_file is not None:  # stopped: nothing listens there any more
            with contextlib.suppress(OSError):
                env_file.unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)
    return ExitCode.OK


def _terminated(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(ExitCode.TERMINATED)


def _remove(env_file: Path) -> None:
    """Remove an older env file before serving: its lines name a simulator that is gone."""
    try:
        env_file.unlink()
    except (FileNotFoundError, NotADirectoryError):
        pass  # none there (writing it will say why it cannot be)
    except OSError as exc:
        raise UserError(
            f"{env_file}: cannot remove the older env file ({exc.strerror}); "
            "expected a file --env-file may replace"
        ) from None
