"""The same behaviour over real HTTP: uvicorn on 127.0.0.1 in a thread (``start_in_thread``).

Runs use a high time scale so the demo's seconds pass in milliseconds; nothing asserts timing,
polls loop until a final status with a generous cap.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.sim.serve import RunningSimulator, start_in_thread
from reconciler.sim.world import demo_world
from tests.sim.helpers import ACCOUNT, INVOICES, ORDERS, PROD_ATOM, TOKEN, USER, demo_data, validate

FINAL = {"COMPLETE", "COMPLETE_WARN", "ERROR", "ABORTED", "DISCARDED"}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    with start_in_thread(demo_world(), time_scale=200.0) as sim:
        yield sim


@pytest.fixture
def admin(running: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.endpoint.admin_url) as client:
        assert client.post("/reset").status_code == 200
        yield client


@pytest.fixture
def client(running: RunningSimulator, admin: httpx.Client) -> Iterator[httpx.Client]:
    endpoint = running.endpoint
    with httpx.Client(
        base_url=f"{endpoint.base_url}/{endpoint.account_id}",
        auth=(endpoint.username, endpoint.token),
        headers={"Accept": "application/json"},
        timeout=5,
    ) as client:
        yield client


def poll_to_final(client: httpx.Client, request_id: str) -> tuple[list[int], dict[str, Any]]:
    codes: list[int] = []
    for _ in range(2000):
        response = client.get(f"/ExecutionRecord/async/{request_id}")
        if response.status_code == 503:  # the demo's 10 req/s applies over loopback too
            time.sleep(0.1)
            continue
        codes.append(response.status_code)
        if response.status_code == 200 and response.json()["result"][0]["status"] in FINAL:
            return codes, response.json()["result"][0]
        time.sleep(0.005)
    raise AssertionError("no final status")


def test_endpoint_describes_the_demo_login(running: RunningSimulator) -> None:
    endpoint = running.endpoint
    assert endpoint.account_id == ACCOUNT
    assert (endpoint.username, endpoint.token) == (USER, TOKEN)
    assert endpoint.base_url.startswith("http://127.0.0.1:")
    assert endpoint.base_url.endswith("/api/rest/v1")
    assert endpoint.admin_url == endpoint.base_url.removesuffix("/api/rest/v1") + "/_sim"


def test_submit_and_poll_to_error_over_loopback(client: httpx.Client, admin: httpx.Client) -> None:
    posted = client.post("/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": INVOICES})
    assert posted.status_code == 200
    echo = posted.json()
    assert (
        echo["recordUrl"]
        == f"{str(client.base_url).rstrip('/')}/ExecutionRecord/async/{echo['requestId']}"
    )
    codes, record = poll_to_final(client, echo["requestId"])
    assert codes[0] == 202
    assert codes[-1] == 200
    validate("ExecutionRecord", record)
    assert record["status"] == "ERROR"
    assert record["message"].startswith("Connector error: SFTP host")
    submissions = admin.get("/submissions").json()["submissions"]
    assert [s["requestId"] for s in submissions] == [echo["requestId"]]


def test_auth_errors_over_loopback(running: RunningSimulator, admin: httpx.Client) -> None:
    base = f"{running.endpoint.base_url}/{ACCOUNT}"
    assert httpx.get(f"{base}/Atom/{PROD_ATOM}").status_code == 401
    other = httpx.get(f"{running.endpoint.base_url}/other-000000/Atom/x", auth=(USER, TOKEN))
    assert other.status_code == 403
    assert other.json() == {
        "@type": "Error",
        "message": "Access denied due to insufficient permissions.",
    }


def test_dropped_connection_after_the_run_was_created(
    client: httpx.Client, admin: httpx.Client
) -> None:
    admin.post(
        "/faults", json={"faults": [{"endpoint": "executionRequest", "kind": "drop", "count": 1}]}
    )
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": ORDERS})
    submissions = admin.get("/submissions").json()
    assert len(submissions["submissions"]) == 1
    assert submissions["counts"][0]["count"] == 1
    runs = admin.get("/runs").json()["runs"]
    assert runs[0]["processId"] == ORDERS
    stats = admin.get("/stats").json()
    assert stats["requests"]["executionRequest"] == {"dropped": 1}
    assert stats["faults"] == {"executionRequest": {"drop": 1}}
    # The next request is served normally.
    assert (
        client.post(
            "/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": ORDERS}
        ).status_code
        == 200
    )


def test_slow_and_503_faults_over_loopback(client: httpx.Client, admin: httpx.Client) -> None:
    plan = [
        {"endpoint": "atom", "kind": "slow", "delay": 0.05, "count": 1},
        {"endpoint": "atom", "kind": "error", "status": 503, "count": 1},
    ]
    admin.post("/faults", json={"faults": plan})
    slow = client.get(f"/Atom/{PROD_ATOM}")
    busy = client.get(f"/Atom/{PROD_ATOM}")
    assert slow.status_code == 200
    assert busy.status_code == 503
    assert admin.get("/stats").json()["faults"] == {"atom": {"slow": 1, "error:503": 1}}


def test_rate_limit_over_loopback(running: RunningSimulator, admin: httpx.Client) -> None:
    data = demo_data()
    data["accounts"][0]["rateLimit"] = 1
    data["accounts"][0]["rateLimitBurst"] = 3
    assert admin.post("/reset", json=data).json()["world"] == "posted"
    auth = (running.endpoint.username, running.endpoint.token)
    url = f"{running.endpoint.base_url}/{ACCOUNT}/Atom/{PROD_ATOM}"
    with httpx.Client(auth=auth) as client:
        codes = [client.get(url).status_code for _ in range(20)]
    assert codes[:3] == [200, 200, 200]
    assert 503 in codes
    assert admin.get("/stats").json()["rateLimited"] == codes.count(503)


def test_a_second_server_gets_its_own_port() -> None:
    with start_in_thread(port=0) as first, start_in_thread() as second:
        assert first.endpoint.base_url != second.endpoint.base_url
        assert httpx.get(first.endpoint.admin_url + "/stats").status_code == 200
