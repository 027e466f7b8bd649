"""The client copes with every shape the simulator can be switched to (docs/simulator.md,
"Uncertain shapes"): the same apply, through the CLI, ends the same way under each variant.

The apply covers what each switch changes: a submit answered normally, one whose answer is
lost (adopted through the QUERY, so query results and records are read), a rejected one (an
Error body), polls before and after the record exists, and a survey of run durations.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    CUSTOMERS,
    INVENTORY,
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

VARIANTS: list[dict[str, Any]] = [
    {},
    {"asyncPending": "empty"},
    {"asyncRecord": "bare"},
    {"asyncRecord": "lean"},
    {"errorBody": "untyped"},
    {"errorBody": "nested"},
    {"numberOfResults": "total", "pageSize": 1},
    {"emptyResult": "empty"},
    {"emptyQuery": "reject"},
    {"recordedDate": "always"},
    {"longFields": "number"},
]


@pytest.mark.parametrize(
    "switches",
    VARIANTS,
    ids=[",".join(f"{k}={v}" for k, v in s.items()) or "defaults" for s in VARIANTS],
)
def test_the_same_apply_ends_the_same_way_under_every_variant(
    workspace: Path, sim: Admin, run_cli: Run, switches: dict[str, Any]
) -> None:
    changed = httpx.post(f"{sim.url}/switches", json=switches)
    assert changed.status_code == 200, changed.text
    build_tree(
        workspace,
        {
            "specs/plain.yaml": spec("plain", ORDERS, PROD_ATOM),
            "specs/lost.yaml": spec("lost", INVENTORY, PROD_ATOM, {"WHO": "lost"}),
            "specs/wrong.yaml": spec("wrong", CUSTOMERS, PROD_ATOM),
        },
    )
    set_faults(sim, [{"endpoint": "executionRequest", "kind": "drop", "process": INVENTORY}])
    result = run_cli("apply")
    assert result.code == 3, result.err
    assert read_state(workspace, "plain")["status"] == "COMPLETE"
    lost = read_state(workspace, "lost")
    assert (lost["adopted"], lost["status"]) == (True, "COMPLETE_WARN")
    assert f"Process {CUSTOMERS} is not deployed to an environment attached to Atom" in result.err
