"""Handlers of the platform endpoints: parsed request in, ``Reply`` out.

Owns what each path does (boomi-platform-api.md §5, §6, §9, §10, §11, §13): reading
ExecutionRequest bodies (JSON or XML), polling, QUERY/queryMore for every object, cancel and
the runtime/deployment lookups. It never sees auth, rate limits or faults (``app`` runs those
around it) and never writes HTTP itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.sim import records, xmlbody
from reconciler.sim.query import (
    ATOM,
    ATTACHMENT,
    DEPLOYED_PACKAGE,
    ENVIRONMENT,
    EXECUTION_RECORD,
    QueryError,
    QuerySchema,
    parse_query,
)
from reconciler.sim.state import Page, SimError, Simulator, Submission


@dataclass(frozen=True, slots=True)
class Reply:
    """A response before content negotiation: JSON-shaped body plus how to render it as XML.

    ``raw`` (hostile faults only) is sent as it is, with ``media`` as its content type. A
    ``body`` of None is an empty body: without a content type, unless ``typed`` (then the one
    the client negotiated, as a JSON or XML answer that happens to be empty).
    """

    status: int
    body: dict[str, Any] | None
    xml: Callable[[dict[str, Any]], str] | None = None
    raw: bytes | None = None
    media: str = "application/json"
    typed: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler may know about the request."""

    sim: Simulator
    account: str
    arg: str
    body: bytes
    content_type: str
    origin: str
    """``scheme://host:port`` the client called (for ``recordUrl``)."""


def _xml_of(xml_type: str) -> Callable[[dict[str, Any]], str]:
    return lambda body: xmlbody.render(xml_type, body)


def _xml_list(root: str) -> Callable[[dict[str, Any]], str]:
    return lambda body: xmlbody.render_list(root, body)


def _json_or_xml(ctx: Context) -> Any:
    text = ctx.body.decode("utf-8", errors="replace").strip()
    if "xml" in ctx.content_type or ("json" not in ctx.content_type and text.startswith("<")):
        try:
            return xmlbody.parse_execution_request(text)
        except ValueError as exc:
            raise SimError(400, f"Invalid request: {exc}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise SimError(400, "Invalid request: body is not valid JSON.") from None


# §5.1: every property field is a string on the wire (OAS types); the flags are booleans.
_PROPERTY_TEXT = ("name", "value", "componentId", "key", "label")
_PROPERTY_FLAGS = ("useDefault", "usesEncryption", "encryptedValueSet", "componentOverride",
                   "validate")  # fmt: skip


def _items(container: Any, key: str, where: str) -> list[dict[str, Any]]:
    """``{"<key>": [..]}`` (or a single object, as in the OAS example) as a list of dicts.

    Raises:
        SimError: 400 when the container, the list or an item has the wrong shape, or a field
            that is a string on the wire (a flag: a boolean) holds anything else; the
            simulator never stores ``str()`` of a number or a boolean.
    """
    if container is None:
        return []
    if not isinstance(container, Mapping):
        raise SimError(400, f"Invalid request: {where} must be an object.")
    raw = container.get(key, [])
    raw = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(raw, list) or not all(isinstance(i, Mapping) for i in raw):
        raise SimError(400, f"Invalid request: {where}.{key} must be a list of objects.")
    for i, item in enumerate(raw):
        for name, value in item.items():
            text = name in _PROPERTY_TEXT or name in ("Name", "Value")
            if (text and not isinstance(value, str)) or (
                name in _PROPERTY_FLAGS and not isinstance(value, bool)
            ):
                expected = "a string" if text else "true or false"
                raise SimError(
                    400,
                    f"Invalid request: {where}.{key}[{i}].{name} must be {expected}, "
                    f"got {json.dumps(value)[:60]}.",
                )
    return [{k: v for k, v in item.items() if k != "@type"} for item in raw]


def _submission(body: Any) -> Submission:
    if not isinstance(body, Mapping):
        raise SimError(400, "Invalid request: the body must be an ExecutionRequest object.")
    for name in ("atomId", "processId"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise SimError(400, f"Invalid request: {name} is required.")
    # Both blocks may be left out (live clients do, §5.1) or sent empty (the OAS requires them).
    dynamic = _items(
        body.get("DynamicProcessProperties"), "DynamicProcessProperty", "DynamicProcessProperties"
    )
    props = _items(body.get("ProcessProperties"), "ProcessProperty", "ProcessProperties")
    values = [
        (p, _items(p, "ProcessPropertyValue", f"ProcessProperties.ProcessProperty[{i}]"))
        for i, p in enumerate(props)
    ]
    echo: dict[str, Any] = {}
    # §5.3: nested objects come back typed, list items with "@type": "".
    if "DynamicProcessProperties" in body:
        echo["DynamicProcessProperties"] = {
            "@type": "ExecutionRequestDynamicProcessProperties",
            "DynamicProcessProperty": [{"@type": "", **d} for d in dynamic],
        }
    if "ProcessProperties" in body:
        echo["ProcessProperties"] = {
            "@type": "ExecutionRequestProcessProperties",
            "ProcessProperty": [
                {"@type": "", **{k: v for k, v in p.items() if k != "ProcessPropertyValue"},
                 "ProcessPropertyValue": [{"@type": "", **v} for v in vs]}
                for p, vs in values
            ],
        }  # fmt: skip
    if isinstance(body.get("processName"), str):
        echo["processName"] = body["processName"]
    return Submission(
        atom_id=body["atomId"],
        process_id=body["processId"],
        dynamic=tuple((d.get("name", ""), d.get("value", "")) for d in dynamic),
        process_properties=tuple(
            (p.get("componentId", ""), v.get("key", ""), v.get("value", ""))
            for p, vs in values
            for v in vs
        ),
        echo=echo,
    )


def execution_request(ctx: Context) -> Reply:
    """``POST /ExecutionRequest`` (§5): validate, start a run, echo with requestId."""
    run = ctx.sim.submit(ctx.account, _submission(_json_or_xml(ctx)))
    url = f"{ctx.origin}/api/rest/v1/{ctx.account}/ExecutionRecord/async/{run.request_id}"
    return Reply(200, records.request_echo(run, url), _xml_of("ExecutionRequest"))


def execute_process(ctx: Context) -> Reply:
    """Legacy ``POST /executeProcess`` (§10): 200, empty body, run visible via QUERY only."""
    body = _json_or_xml(ctx)
    if not isinstance(body, Mapping):
        raise SimError(400, "Invalid request: the body must be a ProcessExecutionRequest object.")
    process_id = body.get("processId")
    name = body.get("processName")
    if not process_id and isinstance(name, str):
        world = ctx.sim.world
        named = [
            p for p in world.processes if p.name == name and world.account_of(p) == ctx.account
        ]
        if len(named) != 1:
            raise SimError(400, f"Process name {name!r} does not identify exactly one process.")
        process_id = named[0].id
    pairs = _items(body.get("ProcessProperties"), "ProcessProperty", "ProcessProperties")
    legacy = {
        "atomId": body.get("atomId"),
        "processId": process_id,
        "DynamicProcessProperties": {
            "DynamicProcessProperty": [
                {"name": p.get("Name", ""), "value": p.get("Value", "")} for p in pairs
            ]
        },
    }
    ctx.sim.submit(ctx.account, _submission(legacy), legacy=True)
    return Reply(200, None)


def execution_record_async(ctx: Context) -> Reply:
    """``GET /ExecutionRecord/async/{requestId}`` (§6): 202 until the record exists, then 200."""
    sim = ctx.sim
    with sim.lock:
        run = sim.run_for_request(ctx.account, ctx.arg)
        t = sim.now()
        switches = sim.world.switches
        if not run.timeline.has_record(t):
            # §6.3: the empty variant still says what it is (the negotiated content type),
            # as an answer to an ``Accept: application/json`` request would.
            return Reply(
                202,
                records.async_pending(switches.async_pending),
                _xml_list("AsyncOperationResult"),
                typed=True,
            )
        record = records.execution_record(sim, run, t)
    if switches.async_record == "bare":
        return Reply(200, record, _xml_of("ExecutionRecord"))
    body = records.async_done(record, switches.async_record)
    return Reply(200, body, _xml_list("AsyncOperationResult"))


def cancel_execution(ctx: Context) -> Reply:
    """``POST /cancelExecution/{executionId}`` (§11): 202, the run ends ABORTED."""
    ctx.sim.cancel(ctx.account, ctx.arg)
    return Reply(
        202,
        {"message": "Operation completed successfully."},
        lambda b: xmlbody.render_message(str(b["message"])),
    )


# -- QUERY -------------------------------------------------------------------------------

Collection = Callable[[Simulator, str], list[tuple[str, dict[str, Any], dict[str, Any]]]]
"""(sim, account) → [(key, response body, query facts)] for one object type."""


def _execution_records(
    sim: Simulator, account: str
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    t = sim.now()
    out = []
    for run in sim.visible_runs(account, t):
        record = records.execution_record(sim, run, t)
        out.append((run.execution_id, record, records.record_facts(record)))
    return out


def _atoms(sim: Simulator, account: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    world = sim.world
    out = []
    for runtime in world.runtimes:
        if world.account_of(runtime) == account:
            body = records.atom(sim, account, runtime)
            out.append((runtime.id, body, {**body, "hostname": runtime.host_name}))
    return out


def _environments(sim: Simulator, account: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    world = sim.world
    return [
        (env.id, records.environment(env), records.environment(env))
        for env in world.environments
        if world.account_of(env) == account
    ]


def _attachments(sim: Simulator, account: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    world = sim.world
    out = []
    for runtime in world.runtimes:
        env = world.environment(account, runtime.environment) if runtime.environment else None
        if world.account_of(runtime) == account and env is not None:
            body = records.attachment(runtime, env)
            out.append((str(body["id"]), body, body))
    return out


def _packages(sim: Simulator, account: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [
        (str(body["deploymentId"]), body, facts)
        for body, facts in records.deployed_packages(sim.world, account)
    ]


COLLECTIONS: dict[str, tuple[QuerySchema, Collection]] = {
    "ExecutionRecord": (EXECUTION_RECORD, _execution_records),
    "Atom": (ATOM, _atoms),
    "Environment": (ENVIRONMENT, _environments),
    "EnvironmentAtomAttachment": (ATTACHMENT, _attachments),
    "DeployedPackage": (DEPLOYED_PACKAGE, _packages),
}


def query(kind: str) -> Callable[[Context], Reply]:
    """``POST /<kind>/query`` (§9.1): filter, sort, first page of 100 with a queryToken."""

    def handler(ctx: Context) -> Reply:
        schema, collection = COLLECTIONS[kind]
        text = ctx.body.decode("utf-8", errors="replace").strip()
        if text.startswith("<"):
            raise SimError(400, "Invalid query: the simulator accepts JSON query bodies only.")
        everything = ctx.sim.world.switches.empty_query == "all"
        try:
            body = json.loads(text) if text else None
            parsed = parse_query(body, schema, empty_matches_all=everything)
        except json.JSONDecodeError:
            raise SimError(400, "Invalid query: body is not valid JSON.") from None
        except QueryError as exc:
            raise SimError(400, str(exc)) from None
        with ctx.sim.lock:
            items = collection(ctx.sim, ctx.account)
            keys = parsed.apply([(key, facts) for key, _, facts in items])
            page = ctx.sim.new_page(kind, ctx.account, keys)
            return _page_reply(ctx.sim, page, {key: body for key, body, _ in items})

    return handler


def query_more(kind: str) -> Callable[[Context], Reply]:
    """``POST /<kind>/queryMore`` (§9.2): the raw token is the whole body (any content type)."""

    def handler(ctx: Context) -> Reply:
        token = ctx.body.decode("utf-8", errors="replace").strip()
        if token.startswith('"'):
            try:
                token = str(json.loads(token)).strip()
            except json.JSONDecodeError:
                raise SimError(400, "Invalid query token.") from None
        with ctx.sim.lock:
            page = ctx.sim.next_page(token, ctx.account)
            if page.kind != kind:
                raise SimError(400, "Invalid query token.")
            _, collection = COLLECTIONS[kind]
            bodies = {key: body for key, body, _ in collection(ctx.sim, ctx.account)}
            return _page_reply(ctx.sim, page, bodies)

    return handler


def _page_reply(sim: Simulator, page: Page, bodies: Mapping[str, dict[str, Any]]) -> Reply:
    items = [bodies[key] for key in page.keys if key in bodies]
    switches = sim.world.switches
    number = page.total if switches.number_of_results == "total" else len(items)
    body = records.query_result(items, page.token, number, switches.empty_result)
    return Reply(200, body, _xml_list("QueryResult"))


def get_one(kind: str) -> Callable[[Context], Reply]:
    """``GET /<kind>/{id}`` for Atom, Environment and DeployedPackage."""

    def handler(ctx: Context) -> Reply:
        _, collection = COLLECTIONS[kind]
        with ctx.sim.lock:
            found = next(
                (body for key, body, _ in collection(ctx.sim, ctx.account) if key == ctx.arg), None
            )
        if found is None:
            raise SimError(404, f"{kind} {ctx.arg} does not exist.")
        return Reply(200, found, _xml_of(kind))

    return handler
