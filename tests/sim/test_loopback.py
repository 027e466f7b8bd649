"""The same behaviour over real HTTP: uvicorn on 127.0.0.1 in a thread.

Most tests use ``start_in_thread`` at a high time scale, so the demo's seconds pass in
milliseconds, and assert nothing that depends on how fast they pass. The run's lifecycle over
loopback is asserted phase by phase on a simulator whose clock moves only when the test moves it
(the same ``Simulator`` and ``create_app``, served by uvicorn on a pre-opened socket): a loaded
machine cannot make a poll miss the 202 phase.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from reconciler.sim.app import Simulator, create_app
from reconciler.sim.serve import RunningSimulator, start_in_thread
from reconciler.sim.world import demo_world
from tests.sim.helpers import (
    ACCOUNT,
    INVOICES,
    ORDERS,
    PROD_ATOM,
    TOKEN,
    USER,
    FakeClock,
    demo_data,
    validate,
)


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


@dataclass(frozen=True)
class Frozen:
    """A simulator on loopback whose time moves only by ``clock.advance`` (simulated seconds)."""

    clock: FakeClock
    client: httpx.Client
    admin: httpx.Client


@pytest.fixture
def frozen() -> Iterator[Frozen]:
    clock = FakeClock()
    app = create_app(Simulator(demo_world(), time_scale=1.0, clock=clock))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", access_log=False, log_config=None, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a bound on a hang, not an expectation of speed
    while not server.started:
        assert thread.is_alive(), "the simulator stopped"
        assert time.monotonic() < deadline, "the simulator did not start"
        time.sleep(0.005)
    try:
        with (
            httpx.Client(
                base_url=f"{origin}/api/rest/v1/{ACCOUNT}",
                auth=(USER, TOKEN),
                headers={"Accept": "application/json"},
                timeout=30,
            ) as client,
            httpx.Client(base_url=f"{origin}/_sim", timeout=30) as admin,
        ):
            yield Frozen(clock, client, admin)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        with contextlib.suppress(OSError):
            sock.close()


def test_endpoint_describes_the_demo_login(running: RunningSimulator) -> None:
    endpoint = running.endpoint
    assert endpoint.account_id == ACCOUNT
    assert (endpoint.username, endpoint.token) == (USER, TOKEN)
    assert endpoint.base_url.startswith("http://127.0.0.1:")
    assert endpoint.base_url.endswith("/api/rest/v1")
    assert endpoint.admin_url == endpoint.base_url.removesuffix("/api/rest/v1") + "/_sim"


def test_submit_and_poll_to_error_over_loopback(frozen: Frozen) -> None:
    client = frozen.client
    posted = client.post("/ExecutionRequest", json={"atomId": PROD_ATOM, "processId": INVOICES})
    assert posted.status_code == 200
    echo = posted.json()
    record_url = f"{str(client.base_url).rstrip('/')}/ExecutionRecord/async/{echo['requestId']}"
    assert echo["recordUrl"] == record_url

    def poll() -> httpx.Response:
        return client.get(f"/ExecutionRecord/async/{echo['requestId']}")

    # Invoices (demo world): the record appears 1 s after the submit, the run lasts 1-3 s.
    pending = poll()
    assert pending.status_code == 202
    assert pending.json() == {"@type": "AsyncOperationResult", "responseStatusCode": 202}
    frozen.clock.advance(0.5)
    assert poll().status_code == 202
    frozen.clock.advance(0.5)
    running = poll()
    assert running.status_code == 200
    assert running.json()["result"][0]["status"] in {"STARTED", "INPROCESS"}
    validate("ExecutionRecord", running.json()["result"][0])
    frozen.clock.advance(3.0)
    done = poll()
    assert done.status_code == 200
    record = done.json()["result"][0]
    validate("ExecutionRecord", record)
    assert record["status"] == "ERROR"
    assert record["message"].startswith("Connector error: SFTP host")
    submissions = frozen.admin.get("/submissions").json()["submissions"]
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


def test_rate_limit_over_loopback(frozen: Frozen) -> None:
    data = demo_data()
    data["accounts"][0]["rateLimit"] = 1
    data["accounts"][0]["rateLimitBurst"] = 3
    assert frozen.admin.post("/reset", json=data).json()["world"] == "posted"
    codes = [frozen.client.get(f"/Atom/{PROD_ATOM}").status_code for _ in range(6)]
    assert codes == [200, 200, 200, 503, 503, 503]  # the burst, then nothing until time passes
    frozen.clock.advance(1.0)  # one request a second
    assert [frozen.client.get(f"/Atom/{PROD_ATOM}").status_code for _ in range(2)] == [200, 503]
    assert frozen.admin.get("/stats").json()["rateLimited"] == 4


def test_a_second_server_gets_its_own_port() -> None:
    with start_in_thread(port=0) as first, start_in_thread() as second:
        assert first.endpoint.base_url != second.endpoint.base_url
        assert httpx.get(first.endpoint.admin_url + "/stats").status_code == 200
