"""Serving the simulator over loopback HTTP with uvicorn.

Owns the socket (pre-opened, so port 0 yields a free port known before serving), the
background-thread server used by tests, the demo and benchmarks (``start_in_thread``), and the
blocking foreground server of ``reconciler sim serve`` (``serve_forever``). It prints nothing:
the caller gets an ``Endpoint`` and decides what to show.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import uvicorn

from reconciler.sim.app import ConnectionDropped, Simulator, create_app
from reconciler.sim.world import World, demo_world

_STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Where a running simulator listens and how to log in (first account, first user)."""

    base_url: str
    account_id: str
    username: str
    token: str
    admin_url: str


class _DropFilter(logging.Filter):
    """Keeps uvicorn from logging a traceback for every injected connection drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _quiet_drops() -> None:
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in log.filters):
        log.addFilter(_DropFilter())


def _endpoint(world: World, host: str, port: int) -> Endpoint:
    account = world.accounts[0]
    user = account.users[0]
    origin = f"http://{host}:{port}"
    if user.token is not None:
        username, secret = f"BOOMI_TOKEN.{user.name}", user.token
    else:
        username, secret = user.name, user.password or ""
    return Endpoint(
        base_url=f"{origin}/api/rest/v1",
        account_id=account.id,
        username=username,
        token=secret,
        admin_url=f"{origin}/_sim",
    )


def _open_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _config(simulator: Simulator) -> uvicorn.Config:
    # log_config=None: never reconfigure the host process's logging (tests, the CLI).
    return uvicorn.Config(
        create_app(simulator),
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


class RunningSimulator:
    """A simulator served by uvicorn in a background thread; a context manager."""

    def __init__(
        self,
        simulator: Simulator,
        endpoint: Endpoint,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
    ) -> None:
        self.simulator = simulator
        self.endpoint = endpoint
        self._server = server
        self._thread = thread
        self._sock = sock

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_thread(
    world: World | None = None,
    *,
    port: int = 0,
    time_scale: float = 1.0,
    host: str = "127.0.0.1",
) -> RunningSimulator:
    """Serve ``world`` (default: the demo world) on loopback from a daemon thread.

    Returns once the server accepts requests.

    Raises:
        OSError: the port cannot be bound.
        RuntimeError: uvicorn did not start in time.
    """
    world = world or demo_world()
    simulator = Simulator(world, time_scale=time_scale)
    sock = _open_socket(host, port)
    actual_port = int(sock.getsockname()[1])
    _quiet_drops()
    server = uvicorn.Server(_config(simulator))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="reconciler-sim", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the simulator server did not start")
        time.sleep(0.005)
    return RunningSimulator(simulator, _endpoint(world, host, actual_port), server, thread, sock)


class _NotifyingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


def serve_forever(
    world: World | None,
    *,
    port: int,
    time_scale: float,
    on_ready: Callable[[Endpoint], None],
    host: str = "127.0.0.1",
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn's handlers, main thread).

    ``on_ready`` is called once, with the real port, when the socket is listening.

    Raises:
        OSError: the port cannot be bound.
    """
    world = world or demo_world()
    simulator = Simulator(world, time_scale=time_scale)
    sock = _open_socket(host, port)
    endpoint = _endpoint(world, host, int(sock.getsockname()[1]))
    _quiet_drops()
    server = _NotifyingServer(_config(simulator), lambda: on_ready(endpoint))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
