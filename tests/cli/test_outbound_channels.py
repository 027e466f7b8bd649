"""Every line the CLI prints is scrubbed of secrets and inert for a terminal and a CI log.

Platform text recorded in state by an older version (or by a platform that echoed a request)
reaches ``plan`` and ``status`` output: the secret in none of its encodings, no line a runner
would read as a workflow command, no escape sequence. Hostile option values end in a clear
error, never exit 70.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from reconciler.model import Phase, RunRequest, SecretRef, StateEntry
from reconciler.store.state import StateStore
from tests.conftest import ORDERS, PROD_ATOM, CliResult, build_tree, spec

Run = Callable[..., CliResult]
SECRET = 'pa ss\tw0rd/+&<"x">'


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        base64.b64encode(raw).decode(),
        base64.b64encode(b"ab" + raw).decode()[4:-4],
    ]


def _hostile_state(root: Path) -> None:
    echoed = (
        f"HTTP 400: bad body {SECRET} / {json.dumps({'value': SECRET})} / "
        f"{base64.b64encode(b'ab' + SECRET.encode()).decode()}\n::error::pwned\x1b]0;title\x07"
    )
    StateStore(root / "state").save(
        StateEntry(
            name="o",
            digest="v1:sha256:00",
            request=RunRequest(
                process_id=ORDERS,
                atom_id=PROD_ATOM,
                dynamic_properties={"K": SecretRef(secret="API_KEY")},
            ),
            phase=Phase.REJECTED,
            attempt_id="a-1",
            intent_at=datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC),
            message=echoed,
            status="ERROR\n::add-mask::x",
        )
    )


@pytest.mark.parametrize("command", [("plan",), ("status",), ("plan", "--output", "markdown")])
def test_state_text_is_scrubbed_and_inert_in_every_command(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    monkeypatch.setenv("API_KEY", SECRET)
    build_tree(
        workspace,
        {
            "specs/o.yaml": spec("o", ORDERS, PROD_ATOM) + "  dynamicProperties:\n"
            "    K: '{{ secret(\"API_KEY\") }}'\n"
        },
    )
    _hostile_state(workspace)
    result = run_cli(*command)
    assert result.code == 0, result.err
    printed = result.out + result.err
    for form in _forms(SECRET):
        assert form not in printed
    for line in printed.splitlines():
        assert not line.strip().startswith("::"), line
    assert "\x1b" not in printed
    assert "\x07" not in printed
    shown = 'secret("API_KEY")' if command[0] == "plan" else "ERROR ::add-mask::x"
    assert shown in printed.replace("\\", "")  # the hostile text was shown, made harmless


def test_a_crash_log_is_scrubbed_too(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.cli import base

    monkeypatch.setenv("BOOMI_API_TOKEN", "tok-1234567890")
    base.OUTPUT.reset()
    assert base.scrub("Authorization: tok-1234567890") == 'Authorization: secret("BOOMI_API_TOKEN")'
    base.add_secrets({"API_KEY": SECRET})
    assert SECRET not in base.scrub(f"x {SECRET} y")
    base.OUTPUT.reset()
    assert base.scrub(SECRET) == SECRET  # forgotten: the next command starts afresh


@pytest.mark.parametrize(
    "shard", ["²/4", "1/" + "9" * 5000, "0/4", "5/4", "1/4/2", " /4", "1/\u0661"]
)
def test_hostile_shard_values_are_a_clear_error(workspace: Path, run_cli: Run, shard: str) -> None:
    result = run_cli("plan", "--shard", shard)
    assert result.code == 1
    assert "expected K/N with 1 <= K <= N <= 9999" in result.err


def test_reviewed_plan_must_be_a_small_regular_file(
    workspace: Path, run_cli: Run, tmp_path: Path
) -> None:
    build_tree(workspace, {"specs/o.yaml": spec("o", ORDERS, PROD_ATOM)})
    device = run_cli("apply", "--reviewed-plan", os.devnull)
    assert device.code == 1
    assert f"{os.devnull}: not a reviewed plan: the file is a device" in device.err
    link = tmp_path / "plan.json"
    link.symlink_to(workspace / "reconciler.yaml")
    linked = run_cli("apply", "--reviewed-plan", str(link))
    assert linked.code == 1
    assert "is a symbolic link; expected a regular file" in linked.err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    piped = run_cli("apply", "--reviewed-plan", str(fifo))  # would block forever if opened
    assert piped.code == 1
    assert "is a named pipe; expected a regular file" in piped.err
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{")
    assert "not UTF-8 text" in run_cli("apply", "--reviewed-plan", str(binary)).err
