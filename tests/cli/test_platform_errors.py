"""Issue 17, case 1 and 3, through the CLI: a platform that cannot be reached is one error.

The apply exits 1 (a platform error, as the README says) with the URL, the cause and the fix
on one line, and marks no run: nothing was sent, so the state is as it was. Attempts are
counted (the client's "retrying" log lines), never timed.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CONFIG, ORDERS, PROD_ATOM, Admin, CliResult, build_tree, spec

Run = Callable[..., CliResult]


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _specs(root: Path) -> None:
    build_tree(
        root,
        {
            "specs/orders.yaml": spec("orders", ORDERS, PROD_ATOM),
            "specs/orders-b.yaml": spec("orders-b", ORDERS, PROD_ATOM, {"DPP_DATE": "b"}),
        },
    )


def _no_run_marked(root: Path) -> None:
    state = root / "state" / "default"
    files = sorted(state.glob("*.json")) if state.exists() else []
    assert files == [], [f.read_text(encoding="utf-8") for f in files]


def test_a_refused_connection_stops_the_apply_once_with_its_cause(
    workspace: Path,
    run_cli: Run,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/api/rest/v1"
    monkeypatch.setenv("BOOMI_API_URL", url)
    _specs(workspace)
    with caplog.at_level(logging.INFO, logger="reconciler.boomi.client"):
        result = run_cli("apply")
    assert result.code == 1, result.err
    assert f"error: cannot reach the platform at {url}: connection refused" in result.err
    assert "is BOOMI_API_URL (or platform.url) right?" in result.err
    assert "REJECTED" not in result.err + result.out
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    # At most one quick retry per request (the survey's read, each submit), never 8 attempts.
    assert len(retries) <= 3, [r.getMessage() for r in retries]
    _no_run_marked(workspace)


def test_a_name_that_does_not_resolve_stops_the_apply(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://reconciler-test.invalid/api/rest/v1"
    monkeypatch.setenv("BOOMI_API_URL", url)
    _specs(workspace)
    result = run_cli("apply")
    assert result.code == 1, result.err
    assert f"error: cannot reach the platform at {url}: name not resolved" in result.err
    _no_run_marked(workspace)


def test_a_missing_account_id_is_refused_before_any_request(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CONFIG.replace("  accountId: demo-AB12CD\n", "")
    assert config != CONFIG
    build_tree(workspace, {"reconciler.yaml": config})
    monkeypatch.setenv("BOOMI_ACCOUNT_ID", "")
    _specs(workspace)
    before = sim.stats()
    result = run_cli("apply")
    assert result.code == 1, result.err
    assert "error: platform account id missing; set BOOMI_ACCOUNT_ID or platform.accountId" in (
        result.err
    )
    assert sim.stats() == before  # not one request
    assert sim.submissions() == []
    _no_run_marked(workspace)


def test_a_url_without_the_api_path_gets_the_404_hint(
    workspace: Path, sim: Admin, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    base = os.environ["BOOMI_API_URL"]
    assert base.endswith("/api/rest/v1")
    monkeypatch.setenv("BOOMI_API_URL", base.removesuffix("/api/rest/v1"))
    _specs(workspace)
    result = run_cli("apply")
    # Each run says what to check; a 404 stops only its own run (a hostile platform could send
    # one for a single run: it must not stop the others), and nothing ran.
    assert result.code == 3, result.err
    hint = (
        "is the account id right (BOOMI_ACCOUNT_ID / platform.accountId) and does the URL end "
        "in /api/rest/v1?"
    )
    rejected = [line for line in result.err.splitlines() if "rejected: HTTP 404 from" in line]
    assert len(rejected) == 2
    assert all(line.endswith(hint) for line in rejected)
    assert sim.submissions() == []
