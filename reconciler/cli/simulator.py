"""The simulator command: serve the local platform on loopback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli.base import (
    ExitCode,
    cli,
    echo,
)
from reconciler.errors import UserError


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
        echo(f"BOOMI_API_URL={endpoint.base_url}")
        echo(f"BOOMI_ACCOUNT_ID={endpoint.account_id}")
        echo(f"BOOMI_USERNAME={endpoint.username}")
        echo(f"BOOMI_API_TOKEN={endpoint.token}")
        sys.stdout.flush()

    sim_serve.serve_forever(loaded, port=port, time_scale=time_scale, on_ready=ready)
    return ExitCode.OK
