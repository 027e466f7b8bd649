"""A hostile platform for tests: the real simulator, one victim's answers rewritten on the wire.

The simulator answers every request. A ``Poison`` watches the submits of one process (the
*victim*) and replaces the simulator's answer to that submit, or to the polls of the run it
started, with bytes of the test's choosing: an out-of-range date, a 5,000-digit number, a
100,000-deep body, a 50 MB requestId. Every other run is served untouched, so a test sees
whether the healthy runs beside the poisoned one carry on.

Two ways to put it in front of the simulator: ``poisoned_transport`` (an ``httpx.MockTransport``
over the simulator's ASGI app, for engine tests on a virtual clock) and ``serve_poisoned`` (a
loopback HTTP server forwarding to a running simulator, for the real CLI). Only wire faults the
simulator cannot produce go through here; its own hostile mode belongs to ``reconciler.sim``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

Rewrite = Callable[[bytes], bytes]
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


@dataclass
class Poison:
    """Rewrites the answers of one process's runs: to the submit, or to the record polls."""

    process_id: str
    submit: Rewrite | None = None  # the 200 answer of POST /ExecutionRequest
    record: Rewrite | None = None  # a 200 answer of GET /ExecutionRecord/async/{requestId}
    request_ids: set[str] = field(default_factory=set)
    hits: int = 0

    def __call__(self, method: str, path: str, sent: bytes, status: int, body: bytes) -> bytes:
        """The body to answer with, given the request and the simulator's answer."""
        if method == "POST" and path.endswith("/ExecutionRequest") and status == 200:
            if _process_of(sent) != self.process_id:
                return body
            self.request_ids.add(str(json.loads(body)["requestId"]))
            if self.submit is None:
                return body
            self.hits += 1
            return self.submit(body)
        marker = "/ExecutionRecord/async/"
        victim = marker in path and path.rsplit(marker, 1)[1] in self.request_ids
        if self.record is not None and victim and status == 200:
            self.hits += 1
            return self.record(body)
        return body


def _process_of(sent: bytes) -> str | None:
    try:
        data = json.loads(sent)
    except ValueError:
        return None
    return data.get("processId") if isinstance(data, dict) else None


def in_record(**fields: Any) -> Rewrite:
    """A rewrite that sets ``fields`` in the record of an async answer (wrapper or bare)."""

    def rewrite(body: bytes) -> bytes:
        data = json.loads(body)
        target = data["result"][0] if data.get("result") else data
        target.update(fields)
        return json.dumps(data).encode()

    return rewrite


def raw_field(name: str, raw: bytes) -> Rewrite:
    """A rewrite that replaces the JSON value of top-level ``name`` with ``raw`` verbatim.

    For values ``json.dumps`` cannot write: a 5,000-digit number, a 50 MB string.
    """

    def rewrite(body: bytes) -> bytes:
        data = json.loads(body)
        data[name] = "\0placeholder\0"
        text = json.dumps(data).encode()
        return text.replace(b'"\\u0000placeholder\\u0000"', raw)

    return rewrite


def always(content: bytes) -> Rewrite:
    """A rewrite that answers ``content`` whatever the simulator said."""
    return lambda _body: content


def poisoned_transport(app: Callable[..., Awaitable[None]], poison: Poison) -> httpx.MockTransport:
    """The simulator's ASGI ``app`` behind ``poison``, as a transport for ``BoomiClient``."""
    upstream = httpx.ASGITransport(app=app)

    async def handle(request: httpx.Request) -> httpx.Response:
        sent = await request.aread()
        answer = await upstream.handle_async_request(request)
        body = await answer.aread()
        content = poison(request.method, request.url.path, sent, answer.status_code, body)
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in _DROPPED_HEADERS]
        return httpx.Response(answer.status_code, headers=headers, content=content)

    return httpx.MockTransport(handle)


class _Proxy:
    """An ASGI app forwarding every request to ``upstream`` through ``poison``."""

    def __init__(self, upstream: str, poison: Poison) -> None:
        self._upstream = upstream.rstrip("/")
        self._poison = poison
        self._client: httpx.AsyncClient | None = None

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        sent = b""
        while True:
            message = await receive()
            sent += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30)
        query = scope.get("query_string", b"").decode()
        url = self._upstream + scope["path"] + (f"?{query}" if query else "")
        headers = [
            (k.decode(), v.decode())
            for k, v in scope["headers"]
            if k.decode().lower() not in ("host", "content-length")
        ]
        answer = await self._client.request(scope["method"], url, headers=headers, content=sent)
        body = self._poison(
            scope["method"], scope["path"], sent, answer.status_code, answer.content
        )
        out = [
            (k.encode(), v.encode())
            for k, v in answer.headers.items()
            if k.lower() not in _DROPPED_HEADERS
        ]
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": body})

    async def aclose(self) -> None:
        """Close the connections to the simulator."""
        if self._client is not None:
            await self._client.aclose()


@contextmanager
def serve_poisoned(upstream: str, poison: Poison) -> Iterator[str]:
    """Serve ``poison`` in front of the simulator at ``upstream`` on loopback; yield its origin."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    proxy = _Proxy(upstream, poison)
    config = uvicorn.Config(
        proxy,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=1,
        h11_max_incomplete_event_size=64 * 1024 * 1024,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            await proxy.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="poison", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the poisoning proxy did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
