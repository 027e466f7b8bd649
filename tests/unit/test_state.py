"""State files: canonical bytes, atomic replace, version checks, the lock."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.files import write_atomic
from reconciler.model import Phase, RunRequest, SecretRef, StateEntry
from reconciler.state import SCHEMA_VERSION, StateStore, encode_entry

ENTRY = StateEntry(
    name="orders",
    digest="v1:sha256:00",
    request=RunRequest(
        process_id="p", atom_id="a", dynamic_properties={"K": SecretRef(secret="API_KEY")}
    ),
    phase=Phase.SUBMITTED,
    attempt_id="a-1",
    request_id="executionrecord-1",
    intent_at=datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC),
)


def test_entry_round_trips_with_stable_sorted_bytes(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(ENTRY)
    path = tmp_path / "default" / "orders.json"
    text = path.read_text(encoding="utf-8")
    assert text == encode_entry(ENTRY).decode()
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["schemaVersion"] == SCHEMA_VERSION
    assert data["request"]["dynamic_properties"] == {"K": {"secret": "API_KEY"}}
    assert data["intent_at"] == "2026-01-15T10:00:00Z"
    assert StateStore(tmp_path).snapshot() == {"orders": ENTRY}
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_unchanged_entry_is_not_rewritten(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(ENTRY)
    path = tmp_path / "default" / "orders.json"
    os.utime(path, (1, 1))
    store.save(ENTRY)
    assert path.stat().st_mtime == 1


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_atomic(target, b"old")

    # A str where bytes belong fails inside the write, after the temp file exists.
    with pytest.raises(TypeError):
        write_atomic(target, "new")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_newer_state_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "default"
    folder.mkdir()
    data = json.loads(encode_entry(ENTRY))
    data["schemaVersion"] = SCHEMA_VERSION + 1
    (folder / "orders.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StateError) as info:
        StateStore(tmp_path).snapshot()
    assert str(info.value) == (
        f"{folder / 'orders.json'}: written by a newer reconciler (state schema "
        f"{SCHEMA_VERSION + 1}, this one reads up to {SCHEMA_VERSION}); upgrade reconciler to "
        "read it"
    )


def test_corrupt_state_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "default"
    folder.mkdir()
    (folder / "orders.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StateError, match=r"orders\.json: state file is not valid JSON"):
        StateStore(tmp_path).snapshot()


def test_second_lock_holder_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    first = StateStore(tmp_path)
    second = StateStore(tmp_path)
    with first.lock(command="reconciler apply"):
        with pytest.raises(StateError) as info, second.lock(command="reconciler apply"):
            pass
        message = str(info.value)
        assert message.startswith(f"state is locked by another apply: pid {os.getpid()} on ")
        assert "(reconciler apply)" in message
    with second.lock(command="reconciler apply"):
        pass
