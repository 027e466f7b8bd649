"""The simulator's ASGI app: routing, auth, rate limit, faults and content negotiation.

Owns the request pipeline of every platform path ``/api/rest/v1/{accountId}/...``
(boomi-platform-api.md §2-§4, §12): pick a fault, Basic auth and the user's privileges
(401/403), the per-account token
bucket (503), the endpoint handler, then post-processing faults (the opt-in hostile kinds
through ``hostile``), request counting and JSON-or-XML rendering. Also mounts the ``/_sim``
admin API. What each endpoint does lives in ``endpoints``; the state in ``state``
(``Simulator`` is re-exported here).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from reconciler.sim import admin, endpoints, hostile, records, xmlbody
from reconciler.sim.endpoints import Context, Reply
from reconciler.sim.faults import FaultRule
from reconciler.sim.state import SimError, Simulator
from reconciler.sim.world import User

__all__ = ["ConnectionDropped", "Simulator", "create_app"]

Handler = Callable[[Context], Reply]

_ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    ("POST", re.compile(r"ExecutionRequest"), "executionRequest", endpoints.execution_request),
    ("GET", re.compile(r"ExecutionRecord/async/(?P<arg>[^/]+)"), "executionRecordAsync",
     endpoints.execution_record_async),
    ("POST", re.compile(r"ExecutionRecord/query"), "executionRecordQuery",
     endpoints.query("ExecutionRecord")),
    ("POST", re.compile(r"ExecutionRecord/queryMore"), "executionRecordQueryMore",
     endpoints.query_more("ExecutionRecord")),
    ("POST", re.compile(r"cancelExecution/(?P<arg>[^/]+)"), "cancelExecution",
     endpoints.cancel_execution),
    ("POST", re.compile(r"executeProcess"), "executeProcess", endpoints.execute_process),
    ("POST", re.compile(r"Atom/query"), "atomQuery", endpoints.query("Atom")),
    ("POST", re.compile(r"Atom/queryMore"), "queryMore", endpoints.query_more("Atom")),
    ("GET", re.compile(r"Atom/(?P<arg>[^/]+)"), "atom", endpoints.get_one("Atom")),
    ("POST", re.compile(r"Environment/query"), "environmentQuery",
     endpoints.query("Environment")),
    ("POST", re.compile(r"Environment/queryMore"), "queryMore",
     endpoints.query_more("Environment")),
    ("GET", re.compile(r"Environment/(?P<arg>[^/]+)"), "environment",
     endpoints.get_one("Environment")),
    ("POST", re.compile(r"EnvironmentAtomAttachment/query"), "environmentAtomAttachmentQuery",
     endpoints.query("EnvironmentAtomAttachment")),
    ("POST", re.compile(r"EnvironmentAtomAttachment/queryMore"), "queryMore",
     endpoints.query_more("EnvironmentAtomAttachment")),
    ("POST", re.compile(r"DeployedPackage/query"), "deployedPackageQuery",
     endpoints.query("DeployedPackage")),
    ("POST", re.compile(r"DeployedPackage/queryMore"), "queryMore",
     endpoints.query_more("DeployedPackage")),
    ("GET", re.compile(r"DeployedPackage/(?P<arg>[^/]+)"), "deployedPackage",
     endpoints.get_one("DeployedPackage")),
]  # fmt: skip

_FAULT_MESSAGES = {
    500: "An internal server error occurred. Please try again later.",
    503: records.RATE_LIMIT_MESSAGE,
    504: "The platform could not reach the runtime in time. Retry later.",
}
UNAUTHORIZED_MESSAGE = "Unauthorized: invalid or missing credentials."


class ConnectionDropped(Exception):
    """Raised after the response has started, so the server closes the connection.

    Over uvicorn the client sees the headers and then EOF (``httpx.RemoteProtocolError``);
    in-process through ``httpx.ASGITransport`` the exception reaches the caller.
    """


def _route(method: str, rest: str) -> tuple[str, Handler, str] | int:
    """(endpoint name, handler, path argument), or 404/405."""
    allowed = False
    for verb, pattern, name, handler in _ROUTES:
        match = pattern.fullmatch(rest)
        if match is None:
            continue
        if verb == method:
            return name, handler, match.groupdict().get("arg") or ""
        allowed = True
    return 405 if allowed else 404


# What each endpoint needs besides API (every endpoint needs API), by the path's first segment:
# any one privilege of the set (the OAS tags' "Required Privileges"; docs/simulator.md).
_RUNTIME_READ = frozenset({"ATOM_MANAGEMENT", "ATOM_MANAGEMENT_READ_ONLY"})
REQUIRED_PRIVILEGES: dict[str, frozenset[str]] = {
    "ExecutionRequest": frozenset({"EXECUTE"}),
    "executeProcess": frozenset({"EXECUTE"}),
    "cancelExecution": frozenset({"EXECUTE"}),
    "ExecutionRecord": frozenset({"VIEW_RESULT"}),
    "Atom": _RUNTIME_READ,
    "Environment": _RUNTIME_READ,
    "EnvironmentAtomAttachment": _RUNTIME_READ,
    "DeployedPackage": frozenset({"DEPLOY"}),
}


def _authorize(sim: Simulator, account: str, header: str | None, rest: str = "") -> int | None:
    """None when the credentials may use ``account`` and the endpoint; else 401 or 403 (§3).

    A user whose ``privileges`` are listed needs ``API`` and one of the endpoint's
    ``REQUIRED_PRIVILEGES`` (``rest`` is the path after the account id).
    """
    if not header or not header.lower().startswith("basic "):
        return 401
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return 401
    user, sep, secret = decoded.partition(":")
    if not sep:
        return 401
    token_user = user.removeprefix("BOOMI_TOKEN.") if user.startswith("BOOMI_TOKEN.") else None
    granted: dict[str, User] = {}
    for acct in sim.world.accounts:
        for candidate in acct.users:
            if token_user is not None:
                ok = (
                    candidate.name == token_user
                    and candidate.token is not None
                    and (hmac.compare_digest(candidate.token.encode(), secret.encode()))
                )
            else:
                ok = (
                    candidate.name == user
                    and candidate.password is not None
                    and (hmac.compare_digest(candidate.password.encode(), secret.encode()))
                )
            if ok:
                granted.setdefault(acct.id, candidate)
    if not granted:
        return 401
    holder = granted.get(account)
    if holder is None:
        return 403
    if holder.privileges is None:
        return None
    held = set(holder.privileges)
    needed = REQUIRED_PRIVILEGES.get(rest.split("/", 1)[0])
    if "API" not in held or (needed is not None and not needed & held):
        return 403
    return None


class _Platform:
    """The raw ASGI endpoint behind ``/api/rest/v1/{account}/{rest}``."""

    def __init__(self, sim: Simulator, log: admin.RequestLog) -> None:
        self.sim = sim
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        account = str(scope["path_params"]["account"])
        wants_json = "json" in request.headers.get("accept", "").lower()
        try:
            body = await request.body()
        except ClientDisconnect:  # the client died mid-request (kill -9): nothing arrived
            return
        rest = str(scope["path_params"]["rest"])
        routed = _route(request.method, rest)
        self.log.record(
            request.method,
            f"/{rest}",
            request.url.query,
            "unknown" if isinstance(routed, int) else routed[0],
            account,
            request.headers.get("content-type", ""),
            body,
        )
        if isinstance(routed, int):
            message = f"Unknown endpoint: {request.method} {request.url.path}"
            with self.sim.lock:
                self.sim.counters.count("unknown", str(routed))
            await self._send(scope, receive, send, self._error(routed, message), wants_json)
            return
        name, handler, arg = routed
        with self.sim.lock:
            faults = self.sim.faults
            about = None
            if faults.needs_subject:
                about = hostile.subject(self.sim, name, account, arg, body)
            rule = faults.pick(name, about)
        if rule is not None and rule.kind == "slow":
            await anyio.sleep(rule.delay)
        query = f"?{request.url.query}" if request.url.query else ""
        quoted = body or f"{request.url.path}{query}".encode()  # what an echo quotes
        if rule is not None and rule.rejects_early:
            reply = self._fault_reply(rule, quoted)
        else:
            ctx = Context(
                sim=self.sim,
                account=account,
                arg=arg,
                body=body,
                content_type=request.headers.get("content-type", "").lower(),
                origin=f"{request.url.scheme}://{request.url.netloc}",
            )
            rest = str(scope["path_params"]["rest"])
            reply = self._process(ctx, request.headers.get("authorization"), handler, rest)
            if rule is not None and rule.replaces:
                reply = self._fault_reply(rule, quoted)
            elif rule is not None and rule.kind in hostile.SPOILERS:
                with self.sim.lock:
                    spoilt = hostile.spoil(rule, reply, self.sim, account, quoted)
                    if spoilt is None:  # nothing to spoil (a 202, a refusal): as if not fired
                        faults.unfire(rule, name)
                        rule = None
                reply = spoilt or reply
        kind = rule.kind if rule is not None else None
        with self.sim.lock:
            self.sim.counters.count(name, "dropped" if kind == "drop" else str(reply.status))
        if kind == "drop":
            # §12.4: the request took effect, the client never learns it.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"512")]})  # fmt: skip
            raise ConnectionDropped(f"{request.method} {request.url.path}")
        if kind == "malformed":
            rendered = self._render(reply, wants_json)
            garbled = Response(rendered.body[: max(1, len(rendered.body) // 2)], 200,
                               media_type=rendered.media_type)  # fmt: skip
            await garbled(scope, receive, send)
            return
        await self._send(scope, receive, send, reply, wants_json)

    def _process(
        self, ctx: Context, authorization: str | None, handler: Handler, rest: str = ""
    ) -> Reply:
        denied = _authorize(self.sim, ctx.account, authorization, rest)
        if denied == 401:
            return self._error(401, UNAUTHORIZED_MESSAGE)
        if denied == 403:
            return self._error(403, records.FORBIDDEN_MESSAGE)
        if not self.sim.take_token(ctx.account):
            return self._error(503, records.RATE_LIMIT_MESSAGE)
        try:
            return handler(ctx)
        except SimError as exc:
            return self._error(exc.status, exc.message)

    def _fault_reply(self, rule: FaultRule, quoted: bytes) -> Reply:
        if rule.kind != "error":
            return hostile.early(rule, quoted, self.sim.world.switches.error_body)
        status = rule.answer_status
        return self._error(status, _FAULT_MESSAGES.get(status, f"Simulated fault (HTTP {status})."))

    def _error(self, status: int, message: str) -> Reply:
        switches = self.sim.world.switches
        body = records.error_body(message, switches.error_body)
        xml = (lambda _b: xmlbody.render_error(message)) if switches.xml_errors else None
        return Reply(status, body, xml)

    def _render(self, reply: Reply, wants_json: bool) -> Response:
        if reply.status in (204, 304):  # no body, whatever a script asked (RFC 9110 §15.3.5)
            return Response(None, reply.status)
        if reply.raw is not None:
            return Response(reply.raw, reply.status, media_type=reply.media)
        if reply.body is None:
            if not reply.typed:
                return Response(b"", reply.status)
            xml = reply.xml is not None and not wants_json
            return Response(b"", reply.status, media_type=f"application/{'xml' if xml else 'json'}")
        if reply.xml is not None and not wants_json:
            return Response(reply.xml(reply.body), reply.status, media_type="application/xml")
        text = json.dumps(reply.body, separators=(",", ":"))
        return Response(text, reply.status, media_type="application/json")

    async def _send(
        self, scope: Scope, receive: Receive, send: Send, reply: Reply, wants_json: bool
    ) -> None:
        await self._render(reply, wants_json)(scope, receive, send)


def create_app(simulator: Simulator) -> Starlette:
    """The ASGI app serving ``simulator``: platform paths plus the ``/_sim`` admin API."""
    log = admin.RequestLog()
    platform: Any = _Platform(simulator, log)
    return Starlette(
        routes=[
            Route(
                "/api/rest/v1/{account}/{rest:path}",
                endpoint=platform,
                methods=["GET", "POST", "PUT", "DELETE"],
            ),
            Mount("/_sim", routes=admin.routes(simulator, log)),
        ]
    )
