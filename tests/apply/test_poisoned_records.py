"""Issue 15 item 6: one bad platform answer is one run's problem, never the environment's.

The real CLI against the real simulator over loopback, with a poisoning proxy in between
(``tests.boomi.hostile``) that rewrites the answers for one execution only (``inventory``)
while another (``orders``, a longer run) is in flight beside it. Each case used to end the
whole apply with exit 70 (or store the poison in state); now the poisoned run ends in a clear
per-run outcome, the healthy run reaches its final status, and the artifacts are written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from reconciler.sim.serve import RunningSimulator
from tests.boomi.hostile import Poison, always, in_record, raw_field, serve_poisoned
from tests.conftest import INVENTORY, ORDERS, PROD_ATOM, Admin, CliResult, build_tree, read_state
from tests.conftest import spec as spec_text

Run = Callable[..., CliResult]
Install = Callable[[Poison], None]


@pytest.fixture
def poison(
    workspace: Path, sim: Admin, sim_server: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Install]:
    """Put a ``Poison`` between the CLI and the simulator; two specs, inventory the victim."""
    build_tree(
        workspace,
        {
            "specs/orders.yaml": spec_text("orders", ORDERS, PROD_ATOM),
            "specs/inventory.yaml": spec_text("inventory", INVENTORY, PROD_ATOM),
        },
    )
    origin = sim_server.endpoint.base_url.rsplit("/api/", 1)[0]
    with ExitStack() as stack:

        def install(rule: Poison) -> None:
            proxy = stack.enter_context(serve_poisoned(origin, rule))
            monkeypatch.setenv("BOOMI_API_URL", f"{proxy}/api/rest/v1")

        yield install


def _healthy_and_reported(root: Path, result: CliResult) -> None:
    """The run beside the poisoned one finished, and the apply wrote its artifacts."""
    assert result.code != 70, result.err
    assert "internal error" not in result.err
    orders = read_state(root, "orders")
    assert (orders["phase"], orders["status"]) == ("final", "COMPLETE")
    folder = root / "artifacts" / "default"
    assert (folder / "summary.md").is_file()
    assert (folder / "junit.xml").is_file()
    assert (folder / "runs" / "orders.json").is_file()


def _state_bytes(root: Path) -> int:
    return max(p.stat().st_size for p in (root / "state" / "default").glob("*.json"))


def test_an_execution_time_out_of_range_is_dropped_and_the_run_finishes(
    workspace: Path, sim: Admin, poison: Install, run_cli: Run
) -> None:
    rule = Poison(INVENTORY, record=in_record(executionTime="9999-12-31T23:59:59-12:00"))
    poison(rule)
    result = run_cli("apply")
    assert rule.hits > 0
    assert result.code == 0, result.err
    _healthy_and_reported(workspace, result)
    inventory = read_state(workspace, "inventory")
    assert (inventory["phase"], inventory["status"]) == ("final", "COMPLETE_WARN")
    assert "execution_time" not in inventory  # a moment past year 9999 is no moment at all


def test_a_duration_of_5000_digits_is_dropped_and_the_run_finishes(
    workspace: Path, sim: Admin, poison: Install, run_cli: Run
) -> None:
    rule = Poison(INVENTORY, record=in_record(executionDuration="7" * 5000))
    poison(rule)
    result = run_cli("apply")
    assert rule.hits > 0
    assert result.code == 0, result.err
    _healthy_and_reported(workspace, result)
    inventory = read_state(workspace, "inventory")
    assert (inventory["phase"], inventory["status"]) == ("final", "COMPLETE_WARN")
    assert "duration_ms" not in inventory


def test_a_100k_deep_record_leaves_the_run_submitted_with_a_clear_message(
    workspace: Path, sim: Admin, poison: Install, run_cli: Run
) -> None:
    deep = b'{"result": [{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    rule = Poison(INVENTORY, record=always(deep))
    poison(rule)
    result = run_cli("apply")
    assert rule.hits > 0
    assert result.code == 5, result.err  # pending: the next apply resumes it
    _healthy_and_reported(workspace, result)
    assert "nested deeper than" in result.err
    inventory = read_state(workspace, "inventory")
    assert inventory["phase"] == "submitted"  # its last good state
    assert str(inventory["request_id"]).startswith("executionrecord-")


@pytest.mark.parametrize(
    ("rewrite", "expected"),
    [
        pytest.param(
            raw_field("requestId", b"9" * 5000), "a number too long", id="5000-digit number"
        ),
        pytest.param(
            lambda body: json.dumps(
                {**json.loads(body), "requestId": json.loads(body)["requestId"] + "\n"}
            ).encode(),
            "ExecutionRequest.requestId: expected an id like executionrecord-<uuid>",
            id="newline",
        ),
        pytest.param(
            raw_field("requestId", b'"' + b"a" * 50_000_000 + b'"'), "larger than", id="50 MB"
        ),
    ],
)
def test_a_bad_request_id_is_never_stored_and_the_run_is_adopted(
    workspace: Path,
    sim: Admin,
    poison: Install,
    run_cli: Run,
    rewrite: Callable[[bytes], bytes],
    expected: str,
) -> None:
    rule = Poison(INVENTORY, submit=rewrite)
    poison(rule)
    result = run_cli("apply")
    assert rule.hits == 1
    assert result.code == 0, result.err
    _healthy_and_reported(workspace, result)
    assert "inventory: unknown: POST /ExecutionRequest: HTTP 200 but" in result.err
    assert expected in result.err
    assert "inventory: adopted execution-" in result.err  # the run it started is found by query
    inventory = read_state(workspace, "inventory")
    assert (inventory["adopted"], inventory["status"]) == (True, "COMPLETE_WARN")
    assert "request_id" not in inventory
    assert _state_bytes(workspace) < 20_000
    assert len(sim.submissions()) == 2  # never submitted twice
