"""JSON response bodies of the simulated platform, and the facts QUERY filters on.

Owns the wire shapes (boomi-platform-api.md §4-§9, §11-§13): the ExecutionRequest echo, the
ExecutionRecord at a given simulated time, the async wrapper, query results, runtime /
environment / attachment / deployment objects and Error bodies. Pure functions of simulator
values; no HTTP, no locking, no XML (see ``xmlbody``).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from reconciler.sim.state import Run, Simulator
from reconciler.sim.world import Environment, Process, Runtime, World

_NS = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f")
RATE_LIMIT_MESSAGE = (
    "The Boomi server is currently unavailable or your account's rate limits have been "
    "exceeded. Retry later."
)  # OAS components/responses/503 (§12.2)
FORBIDDEN_MESSAGE = "Access denied due to insufficient permissions."  # OAS 403 (§12.2)


def timestamp(value: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` (§4)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def long(value: int, form: str = "tuple") -> list[Any] | int:
    """A Long field in JSON: ``["Long", n]`` (§4), or the plain number (``form="number"``)."""
    return value if form == "number" else ["Long", value]


def error_body(message: str, variant: str) -> dict[str, Any]:
    """An Error body: ``typed`` (default, observed), ``untyped`` (OAS), ``nested`` (DOC-INTRO)."""
    if variant == "untyped":
        return {"message": message}
    if variant == "nested":
        return {"error": {"message": message}}
    return {"@type": "Error", "message": message}


def request_echo(run: Run, record_url: str) -> dict[str, Any]:
    """The ExecutionRequest 200 body: the request echoed plus requestId/recordUrl (§5.3)."""
    body: dict[str, Any] = {"@type": "ExecutionRequest", **run.submission.echo}
    body["processId"] = run.process.id
    body["atomId"] = run.runtime.id
    body["requestId"] = run.request_id
    body["recordUrl"] = record_url
    return body


def execution_record(sim: Simulator, run: Run, t: float) -> dict[str, Any]:
    """The ExecutionRecord of ``run`` as it looks at simulated time ``t`` (§6.2, §7)."""
    timeline = run.timeline
    status = timeline.status_at(t) or "STARTED"
    final = timeline.is_final(t)
    docs = timeline.documents
    record_at = timeline.record_at if timeline.record_at is not None else t
    switches = sim.world.switches
    form = switches.long_fields
    record: dict[str, Any] = {
        "@type": "ExecutionRecord",
        "executionId": run.execution_id,
        "account": run.account,
        "executionTime": timestamp(sim.wall(record_at)),
        "status": status,
        "executionType": run.execution_type or run.process.execution_type,
        "processName": run.process.name,
        "processId": run.process.id,
        "atomName": run.runtime.name,
        "atomId": run.runtime.id,
        "inboundDocumentCount": docs.inbound if final else 0,
        "inboundErrorDocumentCount": docs.inbound_errors if final else 0,
        "outboundDocumentCount": docs.outbound if final else 0,
        "executionDuration": long(timeline.duration_ms(t), form),
        "inboundDocumentSize": long(docs.inbound_size if final else 0, form),
        "outboundDocumentSize": long(docs.outbound_size if final else 0, form),
    }
    if final and timeline.message:
        record["message"] = timeline.message
    if run.runtime.nodes:
        # §7: nodeId only for clustered runtimes, "<node>[<executionId>]".
        node = run.runtime.nodes[run.index % len(run.runtime.nodes)]
        record["nodeId"] = f"{node}[{run.execution_id}]"
    # §7: "absent while running" is the reference's assumption (Low); ``recordedDate: always``
    # shows, while running, when the record was last written (its current status began).
    if final and timeline.ends_at is not None:
        record["recordedDate"] = timestamp(sim.wall(timeline.ends_at))
    elif switches.recorded_date == "always":
        written = max((p.at for p in timeline.phases if p.at <= t), default=record_at)
        record["recordedDate"] = timestamp(sim.wall(written))
    return record


def record_facts(record: dict[str, Any]) -> dict[str, Any]:
    """The values QUERY compares for an ExecutionRecord (Longs unwrapped, ``launcherId``)."""
    facts = {k: (v[1] if isinstance(v, list) else v) for k, v in record.items()}
    facts["launcherId"] = record.get("launcherID")
    return facts


def async_pending(variant: str) -> dict[str, Any] | None:
    """The 202 body of the async poll (§6.3): wrapper (default) or nothing."""
    if variant == "empty":
        return None
    return {"@type": "AsyncOperationResult", "responseStatusCode": 202}


def async_done(record: dict[str, Any], variant: str) -> dict[str, Any]:
    """The 200 body of the async poll (§6.2).

    ``wrapper`` (default, PYSDK), ``lean`` (``responseStatusCode`` and ``result`` only: the
    wrapper's ``@type`` and ``numberOfResults`` are Medium and Low-Medium) or ``bare`` (OAS).
    """
    if variant == "bare":
        return record
    if variant == "lean":
        return {"responseStatusCode": 200, "result": [record]}
    return {
        "@type": "AsyncOperationResult",
        "responseStatusCode": 200,
        "numberOfResults": 1,
        "result": [record],
    }


def query_result(
    items: list[dict[str, Any]], token: str | None, number: int, empty: str = "omit"
) -> dict[str, Any]:
    """A QueryResult page (§9.1); ``queryToken`` only when more remain.

    With no match, ``result`` is left out (``empty="omit"``, default) or sent as ``[]``
    (``"empty"``): §9.1 allows both (Medium).
    """
    body: dict[str, Any] = {"@type": "QueryResult", "numberOfResults": number}
    if items or empty == "empty":
        body["result"] = items
    if token is not None:
        body["queryToken"] = token
    return body


def atom(sim: Simulator, account: str, runtime: Runtime) -> dict[str, Any]:
    """The Atom object of a runtime (§13, OAS ``Atom``), status as of now."""
    online = sim.runtime_online(account, runtime.id, sim.now())
    if online:
        status = "WARNING" if runtime.status == "WARNING" else "ONLINE"
    else:
        status = runtime.status if runtime.status in ("OFFLINE", "UNKNOWN") else "OFFLINE"
    body: dict[str, Any] = {
        "@type": "Atom",
        "capabilities": [],
        "id": runtime.id,
        "name": runtime.name,
        "status": status,
        "type": runtime.type,
        "hostName": runtime.host_name,
        "dateInstalled": timestamp(sim.epoch),
        "currentVersion": "25.01.0",
        "createdBy": sim.world.accounts[0].users[0].name,
        "purgeHistoryDays": 30,
        "purgeImmediate": False,
        "forceRestartTime": 0,
        "isCloudAttachment": False,
    }
    if runtime.nodes:
        body["cluster"] = {
            "@type": "Nodes",
            "node": [
                {
                    "@type": "NodeDetails",
                    "nodeId": node,
                    "hostName": runtime.host_name,
                    "status": "RUNNING",
                    "clusterProblem": "",
                }
                for node in runtime.nodes
            ],
        }
    return body


def environment(env: Environment) -> dict[str, Any]:
    """The Environment object."""
    return {
        "@type": "Environment",
        "id": env.id,
        "name": env.name,
        "classification": env.classification,
    }


def attachment(runtime: Runtime, env: Environment) -> dict[str, Any]:
    """The EnvironmentAtomAttachment of a runtime; ``id`` is synthesized from both ids (OAS)."""
    raw = f"{env.id}:{runtime.id}".encode()
    return {
        "@type": "EnvironmentAtomAttachment",
        "atomId": runtime.id,
        "environmentId": env.id,
        "id": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def deployed_packages(world: World, account: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every DeployedPackage of ``account`` as (body, query facts), in world order."""
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for process in world.processes:
        if world.account_of(process) != account:
            continue
        for deployment in process.deployments:
            env = world.environment(account, deployment.environment)
            if env is not None:
                out.append(
                    _deployed_package(
                        world, account, process, env, deployment.active, deployment.version
                    )
                )
    return out


def _deployed_package(
    world: World, account: str, process: Process, env: Environment, active: bool, version: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment_id = str(uuid.uuid5(_NS, f"deployment/{process.id}/{env.id}"))
    package_id = str(uuid.uuid5(_NS, f"package/{process.id}/{version}"))
    deployed_by = next(a.users[0].name for a in world.accounts if a.id == account)
    body: dict[str, Any] = {
        "@type": "DeployedPackage",
        "deploymentId": deployment_id,
        "version": version,
        "packageId": package_id,
        "packageVersion": f"{version}.0",
        "componentId": process.id,
        "componentVersion": version,
        "componentType": "process",
        "environmentId": env.id,
        "deployedDate": "2026-01-05T09:30:00Z",
        "deployedBy": deployed_by,
        "notes": "",
        "active": active,
    }
    facts = {
        **body,
        "uid": deployment_id,
        "current": active,
        "packageNotes": "",
        "componentName": process.name,
        "environmentName": env.name,
        "accountId": account,
        "branch": "main",
    }
    return body, facts
