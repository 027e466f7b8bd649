"""The ``/_sim`` admin API: inspect and steer the simulator (tests and benchmarks only).

Owns the JSON shapes documented in ``docs/simulator.md``: submissions (with per-run-key
counts), stats, runs (and starting one as someone outside the client would: the platform's UI,
a schedule), the requests received (``RequestLog``), reset (optionally with a new world), the
fault plan, the switches and runtime status. No auth: it lives outside the platform paths and the
server binds to loopback.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from reconciler.sim.faults import FaultRule
from reconciler.sim.state import Run, SimError, Simulator, Submission
from reconciler.sim.world import Switches, WorldError, world_from_data

_RULES = TypeAdapter(tuple[FaultRule, ...])


@dataclass(frozen=True, slots=True)
class Received:
    """One request a platform path received, as it arrived (before auth, limits or faults)."""

    index: int
    method: str
    path: str
    """Below the account: ``/ExecutionRequest``, ``/ExecutionRecord/query``…"""
    query: str
    endpoint: str
    """The route's name (``executionRequest``…), ``unknown`` for a path no route serves."""
    account: str
    content_type: str
    size: int
    body: bytes


class RequestLog:
    """The last ``limit`` requests the platform paths received, bodies kept up to ``body_limit``.

    Bounded both ways, so a benchmark of 30,000 runs holds at most ``limit * body_limit``
    bytes; ``total`` still counts every request since the last reset, so a reader can tell
    that older ones were dropped.
    """

    def __init__(self, limit: int = 2000, body_limit: int = 64 * 1024) -> None:
        self.limit = limit
        self.body_limit = body_limit
        self._lock = threading.Lock()
        self._items: deque[Received] = deque(maxlen=limit)
        self.total = 0

    def record(
        self,
        method: str,
        path: str,
        query: str,
        endpoint: str,
        account: str,
        content_type: str,
        body: bytes,
    ) -> None:
        """Keep one request (the oldest kept is forgotten past ``limit``)."""
        with self._lock:
            self._items.append(
                Received(
                    self.total, method, path, query, endpoint, account, content_type,
                    len(body), body[: self.body_limit],
                )
            )  # fmt: skip
            self.total += 1

    def clear(self) -> None:
        """Forget every request and restart the count."""
        with self._lock:
            self._items.clear()
            self.total = 0

    def snapshot(self) -> dict[str, Any]:
        """The ``GET /_sim/requests`` answer."""
        with self._lock:
            items = list(self._items)
            total = self.total
        return {
            "requests": [
                {
                    "index": r.index,
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "endpoint": r.endpoint,
                    "accountId": r.account,
                    "contentType": r.content_type,
                    "size": r.size,
                    "truncated": r.size > len(r.body),
                    "body": r.body.decode("utf-8", errors="replace"),
                }
                for r in items
            ],
            "total": total,
            "dropped": total - len(items),
            "limit": self.limit,
        }


def _timestamp(sim: Simulator, t: float) -> str:
    return sim.wall(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _submission(run: Run) -> dict[str, Any]:
    return {
        "index": run.index,
        "accountId": run.account,
        "requestId": None if run.legacy else run.request_id,
        "executionId": run.execution_id,
        "processId": run.process.id,
        "atomId": run.runtime.id,
        "properties": run.submission.properties(),
        "submittedAt": run.submitted_wall.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "simTime": round(run.submitted_at, 6),
        "legacy": run.legacy,
    }


def submissions(sim: Simulator) -> dict[str, Any]:
    """Every accepted submission, plus how many times each (process, atom, properties) ran."""
    with sim.lock:
        items = [_submission(run) for run in sim.runs]
        counts: dict[tuple[str, str, str], int] = {}
        for run in sim.runs:
            key = (run.process.id, run.runtime.id, run.submission.canonical())
            counts[key] = counts.get(key, 0) + 1
    return {
        "submissions": items,
        "counts": [
            {"processId": p, "atomId": a, "properties": json.loads(c), "count": n}
            for (p, a, c), n in counts.items()
        ],
    }


def stats(sim: Simulator) -> dict[str, Any]:
    """Request counts by endpoint and status, rate-limited requests and injected faults."""
    with sim.lock:
        by_endpoint = {k: dict(v) for k, v in sim.counters.by_endpoint.items()}
        return {
            "requests": by_endpoint,
            "total": sum(sum(v.values()) for v in by_endpoint.values()),
            "rateLimited": sim.counters.rate_limited,
            "faults": {k: dict(v) for k, v in sim.faults.injected.items()},
            "faultsInjected": sim.faults.total,
        }


def runs(sim: Simulator) -> dict[str, Any]:
    """Every run with what its record shows now."""
    with sim.lock:
        t = sim.now()
        out = []
        for run in sim.runs:
            timeline = run.timeline
            out.append(
                {
                    "index": run.index,
                    "accountId": run.account,
                    "requestId": None if run.legacy else run.request_id,
                    "executionId": run.execution_id,
                    "processId": run.process.id,
                    "atomId": run.runtime.id,
                    "status": timeline.status_at(t),
                    "recorded": timeline.has_record(t),
                    "final": timeline.is_final(t),
                    "finalStatus": timeline.final_status,
                    "endsAt": (
                        _timestamp(sim, timeline.ends_at) if timeline.ends_at is not None else None
                    ),
                }
            )
        return {"simTime": round(t, 6), "runs": out}


def _problems(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return "expected a JSON object of switches"
    return "\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def start_run(sim: Simulator, data: Any) -> dict[str, Any]:
    """Start a run as the platform's UI or a schedule would: no client, no auth, no rate limit.

    ``data`` is ``{"processId", "atomId", "accountId"?, "executionType"?}``; the run is
    validated as an ExecutionRequest is (unknown or undeployed: ``SimError`` 400).
    """
    if not isinstance(data, dict):
        raise SimError(400, 'expected {"processId": ..., "atomId": ...}')
    process, atom = data.get("processId"), data.get("atomId")
    kind = data.get("executionType")
    if not (isinstance(process, str) and process and isinstance(atom, str) and atom):
        raise SimError(400, "processId and atomId are required strings")
    if kind is not None and not (isinstance(kind, str) and kind):
        raise SimError(400, "executionType must be a non-empty string")
    account = str(data.get("accountId") or sim.world.accounts[0].id)
    submission = Submission(
        atom_id=atom, process_id=process, dynamic=(), process_properties=(), echo={}
    )
    run = sim.submit(account, submission, execution_type=kind)
    return _submission(run)


async def _json_body(request: Request) -> Any:
    raw = (await request.body()).strip()
    if not raw:
        return None
    return json.loads(raw)


def routes(sim: Simulator, log: RequestLog | None = None) -> list[BaseRoute]:
    """The admin routes bound to ``sim`` and its request log (mounted at ``/_sim``)."""
    log = log if log is not None else RequestLog()

    async def get_submissions(_request: Request) -> JSONResponse:
        return JSONResponse(submissions(sim))

    async def get_stats(_request: Request) -> JSONResponse:
        return JSONResponse(stats(sim))

    async def on_runs(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse(runs(sim))
        try:
            started = start_run(sim, await _json_body(request))
        except json.JSONDecodeError:
            return JSONResponse({"error": "body is not valid JSON"}, 400)
        except SimError as exc:
            return JSONResponse({"error": exc.message}, exc.status)
        return JSONResponse(started)

    async def get_requests(_request: Request) -> JSONResponse:
        return JSONResponse(log.snapshot())

    async def switches(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                data = await _json_body(request)
                current = sim.world.switches.model_dump(by_alias=True)
                changed = Switches.model_validate({**current, **(data or {})})
            except json.JSONDecodeError:
                return JSONResponse({"error": "body is not valid JSON"}, 400)
            except (TypeError, ValidationError) as exc:
                return JSONResponse({"error": _problems(exc)}, 400)
            with sim.lock:  # until the next reset, which brings back the world's own
                sim.world = sim.world.model_copy(update={"switches": changed})
        return JSONResponse({"switches": sim.world.switches.model_dump(by_alias=True)})

    async def post_reset(request: Request) -> JSONResponse:
        try:
            data = await _json_body(request)
        except json.JSONDecodeError:
            return JSONResponse({"error": "body is not valid JSON"}, 400)
        try:
            world = world_from_data(data, "reset") if data else None
        except WorldError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        sim.reset(world)
        log.clear()
        return JSONResponse({"reset": True, "world": "posted" if world else "initial"})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                data = await _json_body(request)
                data = data.get("faults", []) if isinstance(data, dict) else (data or [])
                sim.set_faults(_RULES.validate_python(data))
            except json.JSONDecodeError:
                return JSONResponse({"error": "body is not valid JSON"}, 400)
            except ValidationError as exc:
                return JSONResponse({"error": _problems(exc)}, 400)
        rules = [r.model_dump(by_alias=True) for r in sim.faults.rules]
        return JSONResponse({"faults": rules})

    async def runtime(request: Request) -> JSONResponse:
        try:
            data = await _json_body(request)
        except json.JSONDecodeError:
            return JSONResponse({"error": "body is not valid JSON"}, 400)
        status = data.get("status") if isinstance(data, dict) else None
        if status not in ("ONLINE", "OFFLINE"):
            return JSONResponse({"error": 'expected {"status": "ONLINE" | "OFFLINE"}'}, 400)
        account = str(data.get("accountId") or sim.world.accounts[0].id)
        try:
            sim.set_runtime_status(account, request.path_params["atom"], status == "ONLINE")
        except SimError as exc:
            return JSONResponse({"error": exc.message}, exc.status)
        return JSONResponse({"atomId": request.path_params["atom"], "status": status})

    return [
        Route("/submissions", get_submissions, methods=["GET"]),
        Route("/stats", get_stats, methods=["GET"]),
        Route("/runs", on_runs, methods=["GET", "POST"]),
        Route("/requests", get_requests, methods=["GET"]),
        Route("/switches", switches, methods=["GET", "POST"]),
        Route("/reset", post_reset, methods=["POST"]),
        Route("/faults", faults, methods=["GET", "POST"]),
        Route("/runtimes/{atom}", runtime, methods=["POST"]),
    ]
