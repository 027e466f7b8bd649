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
``Echo`` is the other tamper here: a platform that echoes the request body (and so the
secrets in it) in an error or in a record's message.
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
#: The answer a tamper gives: status, body, and the content type (None: the simulator's).
Answer = tuple[int, bytes, str | None]
#: Sees (method, path, request body, the simulator's status, its body); says what to answer.
Tamper = Callable[[str, str, bytes, int, bytes], Answer]
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


@dataclass
class Poison:
    """Rewrites the answers of one process's runs: to the submit, or to the record polls."""

    process_id: str
    submit: Rewrite | None = None  # the 200 answer of POST /ExecutionRequest
    record: Rewrite | None = None  # a 200 answer of GET /ExecutionRecord/async/{requestId}
    request_ids: set[str] = field(default_factory=set)
    hits: int = 0

    def __call__(self, method: str, path: str, sent: bytes, status: int, body: bytes) -> Answer:
        """What to answer, given the request and the simulator's answer."""
        return status, self.body(method, path, sent, status, body), None

    def body(self, method: str, path: str, sent: bytes, status: int, body: bytes) -> bytes:
        """The body to answer with (the simulator's, unless it is the victim's)."""
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


@dataclass
class Echo:
    """A platform that echoes the request body: in a 400 for one process, in a record for another.

    ``rejected``: submits of that process are answered 400 with the request body inside the
    error (``shape``: ``json`` as a JSON string, ``xml`` in a ``message`` element, ``text``
    verbatim). ``failed``: the runs of that process end ERROR, their record's ``message``
    being the request body as the platform received it.
    """

    rejected: str | None = None
    failed: str | None = None
    shape: str = "json"
    request_ids: dict[str, bytes] = field(default_factory=dict)

    def __call__(self, method: str, path: str, sent: bytes, status: int, body: bytes) -> Answer:
        """What to answer, given the request and the simulator's answer."""
        if method == "POST" and path.endswith("/ExecutionRequest"):
            process = _process_of(sent)
            if process is not None and process == self.rejected:
                return self._rejection(sent)
            if process is not None and process == self.failed and status == 200:
                self.request_ids[str(json.loads(body)["requestId"])] = sent
            return status, body, None
        marker = "/ExecutionRecord/async/"
        sent_before = self.request_ids.get(path.rsplit(marker, 1)[-1]) if marker in path else None
        if sent_before is not None and status == 200:
            failed = in_record(status="ERROR", message="Invalid property: " + sent_before.decode())
            return status, failed(body), None
        return status, body, None

    def _rejection(self, sent: bytes) -> Answer:
        text = "Invalid request: " + sent.decode()
        if self.shape == "xml":
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            xml = f'<bns:Error xmlns:bns="http://api.platform.boomi.com/"><bns:message>{escaped}'
            return 400, (xml + "</bns:message></bns:Error>").encode(), "application/xml"
        if self.shape == "text":
            return 400, text.encode(), "text/plain"
        return 400, json.dumps({"@type": "Error", "message": text}).encode(), "application/json"


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


def _headers(headers: httpx.Headers, content_type: str | None) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS]
    if content_type is None:
        return kept
    return [(k, v) for k, v in kept if k.lower() != "content-type"] + [
        ("content-type", content_type)
    ]


def poisoned_transport(app: Callable[..., Awaitable[None]], tamper: Tamper) -> httpx.MockTransport:
    """The simulator's ASGI ``app`` behind ``tamper``, as a transport for ``BoomiClient``."""
    upstream = httpx.ASGITransport(app=app)

    async def handle(request: httpx.Request) -> httpx.Response:
        sent = await request.aread()
        answer = await upstream.handle_async_request(request)
        body = await answer.aread()
        status, content, content_type = tamper(
            request.method, request.url.path, sent, answer.status_code, body
        )
        headers = _headers(answer.headers, content_type)
        return httpx.Response(status, headers=headers, content=content)

    return httpx.MockTransport(handle)


class _Proxy:
    """An ASGI app forwarding every request to ``upstream`` through ``tamper``."""

    def __init__(self, upstream: str, tamper: Tamper) -> None:
        self._upstream = upstream.rstrip("/")
        self._tamper = tamper
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
        status, body, content_type = self._tamper(
            scope["method"], scope["path"], sent, answer.status_code, answer.content
        )
        out = [(k.encode(), v.encode()) for k, v in _headers(answer.headers, content_type)]
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    async def aclose(self) -> None:
        """Close the connections to the simulator."""
        if self._client is not None:
            await self._client.aclose()


@contextmanager
def serve_poisoned(upstream: str, tamper: Tamper) -> Iterator[str]:
    """Serve ``tamper`` in front of the simulator at ``upstream`` on loopback; yield its origin."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    proxy = _Proxy(upstream, tamper)
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
