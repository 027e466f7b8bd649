"""The simulator command: serve the local platform on loopback.

The simulator's server libraries (starlette, uvicorn) are the optional extra ``sim``; without
them ``sim serve`` says in one line how to install it, and no other command needs them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli.base import (
    ExitCode,
    cli,
)
from reconciler.errors import UserError

SERVER_LIBRARIES = frozenset({"starlette", "uvicorn"})
INSTALL_HINT = "pip install 'boomi-reconciler[sim]'"


@cli.group()
def sim() -> None:
    """The local platform simulator."""


@sim.command()
@click.option("--world", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option("--time-scale", type=click.FloatRange(min=0.001), default=1.0, show_default=True)
def serve(world: Path | None, port: int, time_scale: float) -> int:
    """Serve the simulator on loopback; print its URL, account and credentials."""
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

    def ready(endpoint: Any) -> None:
        # The simulator's own demo credentials, printed on purpose (not through the scrubbing
        # echo: an exported BOOMI_API_TOKEN of the same value would blank the line).
        click.echo(f"BOOMI_API_URL={endpoint.base_url}")
        click.echo(f"BOOMI_ACCOUNT_ID={endpoint.account_id}")
        click.echo(f"BOOMI_USERNAME={endpoint.username}")
        click.echo(f"BOOMI_API_TOKEN={endpoint.token}")
        sys.stdout.flush()

    sim_serve.serve_forever(loaded, port=port, time_scale=time_scale, on_ready=ready)
    return ExitCode.OK
