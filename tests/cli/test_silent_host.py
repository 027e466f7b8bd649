"""Issue 17, case 2, through the CLI: a host that accepts connections and never answers.

A wire fault the simulator cannot produce, so a tiny loopback server plays it: it accepts every
connection, reads what is sent (and records each request line), and never answers. The read
timeout comes from ``platform.readTimeout`` in reconciler.yaml. Requests are counted on the
server, never timed: the bound is in how many requests wait a read timeout, not in seconds.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    CONFIG,
    ORDERS,
    PROD_ATOM,
    Admin,
    CliResult,
    build_tree,
    read_state,
    set_faults,
    spec,
)

Run = Callable[..., CliResult]
READ_TIMEOUT = "1s"  # long enough for both submits of an apply to leave before the first ends


class SilentHost:
    """A loopback server that accepts connections, reads requests and never answers."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port: int = self._server.getsockname()[1]
        self.requests: list[str] = []  # "POST /api/rest/v1/.../ExecutionRequest", in order
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/rest/v1"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:  # closed
                return
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> None:
        while True:
            try:
                data = connection.recv(65536)
            except OSError:
                return
            if not data:
                return
            for line in data.split(b"\r\n"):
                if line.startswith((b"GET ", b"POST ")):
                    with self._lock:
                        self.requests.append(line.decode("ascii").rsplit(" ", 1)[0])

    def posts(self) -> list[str]:
        with self._lock:
            return [r for r in self.requests if r.endswith("/ExecutionRequest")]

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for connection in self._connections:
                connection.close()


@pytest.fixture
def silent() -> Iterator[SilentHost]:
    host = SilentHost()
    yield host
    host.close()


def _config(root: Path, read_timeout: str = READ_TIMEOUT) -> None:
    config = CONFIG.replace(
        "  accountId: demo-AB12CD\n", f"  accountId: demo-AB12CD\n  readTimeout: {read_timeout}\n"
    )
    assert config != CONFIG
    build_tree(root, {"reconciler.yaml": config})


def _specs(root: Path) -> None:
    # One process: nothing to survey, so the apply's first requests are the two submits.
    build_tree(
        root,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/orders-b.yaml": spec("orders-b", ORDERS, PROD_ATOM, {"DPP_DATE": "b"}),
        },
    )


def _silent_apply(workspace: Path, run_cli: Run, silent: SilentHost) -> tuple[CliResult, list[str]]:
    """The apply against the silent host: its result and the executions left unknown."""
    _config(workspace)
    _specs(workspace)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOOMI_API_URL", silent.url)
        result = run_cli("apply")
    files = sorted((workspace / "state" / "default").glob("*.json"))
    phases = {p.stem: read_state(workspace, p.stem)["phase"] for p in files}
    assert set(phases.values()) <= {"unknown"}, phases  # a refused submit leaves no file
    return result, sorted(phases)


def test_a_silent_host_stops_the_apply_once_with_its_cause_and_the_fix(
    workspace: Path, run_cli: Run, silent: SilentHost
) -> None:
    result, unknown = _silent_apply(workspace, run_cli, silent)
    assert result.code == 1, result.err
    error = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, result.err
    assert error[0].startswith(
        f"error: the platform at {silent.url} does not answer: 2 requests in a row got no answer "
        "within 1 s after they were sent (the last: POST /ExecutionRe"
    )
    assert "If it is only slow, raise platform.readTimeout (now 1 s)" in error[0]
    # Bounded: two requests waited a read timeout, the apply stopped at the second; at most
    # one more (the first submit's look for its run) was on its way. Never 8 attempts a call.
    assert len(silent.requests) <= 3, silent.requests
    # Every submit that left is ambiguous: unknown, never resubmitted, and named with the fix.
    assert len(silent.posts()) == len(unknown) >= 1
    assert f"{len(unknown)} submit" in error[0]
    assert f"got no answer and may have started a run ({', '.join(unknown)})" in error[0]
    assert "check the platform, then say --adopt NAME=EXECUTION_ID or --resubmit NAME" in error[0]
    for name in unknown:
        state = read_state(workspace, name)
        assert state["phase"] == "unknown"
        assert state["message"] == (
            f"POST /ExecutionRequest: no answer within 1 s after the request was sent to "
            f"{silent.url}/demo-AB12CD/ExecutionRequest; the run may or may not have started; "
            "not looked for: the platform stopped answering (the next apply does)"
        )
    # While it waited, a line said what for (stderr is not a terminal here: plain lines).
    waiting = re.compile(
        rf"\[\d\d:\d\d:\d\d\] \*: waiting for {re.escape(silent.url)}/demo-AB12CD/"
        r"ExecutionRequest: no answer for [\d.]+ s \(read timeout 1 s\)"
    )
    assert any(waiting.fullmatch(line.split("; ")[0]) for line in result.err.splitlines()), (
        result.err
    )


def test_the_next_apply_on_a_silent_host_stops_again_and_submits_nothing(
    workspace: Path, run_cli: Run, silent: SilentHost
) -> None:
    first, unknown = _silent_apply(workspace, run_cli, silent)
    assert first.code == 1
    posts = len(silent.posts())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOOMI_API_URL", silent.url)
        again = run_cli("apply")
    assert again.code == 1, again.err
    assert f"error: the platform at {silent.url} does not answer" in again.err
    assert len(silent.posts()) == posts  # an unknown submit is looked for, never sent again
    assert f"got no answer and may have started a run ({', '.join(unknown)})" in again.err


def test_once_the_platform_answers_the_next_apply_says_what_happened_and_what_to_do(
    workspace: Path, sim: Admin, run_cli: Run, silent: SilentHost
) -> None:
    _, unknown = _silent_apply(workspace, run_cli, silent)
    name = unknown[0]
    plan = run_cli("plan")
    assert re.search(
        rf"!  {name} +unknown  the submit of \S+ may or may not have started a run \(POST "
        r"/ExecutionRequest: no answer within 1 s after the request was sent to ",
        plan.out,
    ), plan.out
    # The platform answers again (the simulator): none of these submits reached it, so no run
    # is found, and nothing proves none will start (records appear once a runtime starts a run).
    result = run_cli("apply")
    assert result.code == 4, result.err
    lines = [line for line in result.err.splitlines() if f"] {name}: unknown: " in line]
    assert len(lines) == 1, result.err
    assert re.search(
        r"no run of this process on this runtime since \S+: the submit of \S+ left no "
        r"requestId, and either it started nothing or its run has not started yet \(a record "
        r"appears once the runtime starts the run\); look on the platform for a run of this "
        rf"process since then: if there is one, say --adopt {name}=EXECUTION_ID; if none "
        rf"started, say --resubmit {name}$",
        lines[0],
    ), lines[0]
    assert sim.submissions() == []
    resubmitted = run_cli("apply", *(f"--resubmit={n}" for n in unknown))
    assert resubmitted.code == 0, resubmitted.err
    assert len(sim.submissions()) == len(unknown)


def test_a_slow_answer_is_ambiguous_and_its_run_is_adopted_not_submitted_twice(
    workspace: Path, sim: Admin, run_cli: Run
) -> None:
    # The platform takes the submit, answers after the read timeout: the client has given up,
    # the run starts anyway. One timeout is not silence: the apply goes on and finds the run.
    _config(workspace, read_timeout="0.5s")
    set_faults(sim, [{"endpoint": "executionRequest", "kind": "slow", "delay": 1.0, "count": 1}])
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    result = run_cli("apply")
    assert (
        "o: unknown: POST /ExecutionRequest: no answer within 0.5 s after the request was sent "
        "to http://"
    ) in result.err
    if result.code == 4:  # the run's record came after this apply stopped looking
        result = run_cli("apply")
    assert result.code == 0, result.err
    assert "o: adopted execution-" in result.err
    state = read_state(workspace, "o")
    assert (state["adopted"], state["status"]) == (True, "COMPLETE")
    assert len(sim.submissions()) == 1


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("readTimeout", "90s", None),
        ("connectTimeout", "2m", None),
        ("readTimeout", "0", "platform.readTimeout: 0 is out of range; expected more than 0"),
        ("readTimeout", "soon", "platform.readTimeout: expected a number of seconds or a duration like 90s"),
        (
            "connectTimeout",
            "1h",
            "platform.connectTimeout: 3600 is out of range; expected at most 600",
        ),
    ],
)
def test_timeouts_are_seconds_or_durations_within_bounds(
    workspace: Path, run_cli: Run, setting: str, value: str, expected: str | None
) -> None:
    config = CONFIG.replace(
        "  accountId: demo-AB12CD\n", f"  accountId: demo-AB12CD\n  {setting}: {value}\n"
    )
    build_tree(workspace, {"reconciler.yaml": config})
    result = run_cli("plan")
    if expected is None:
        assert result.code == 0, result.err
        return
    assert result.code == 1
    assert "reconciler.yaml:8:" in result.err
    assert expected in result.err
