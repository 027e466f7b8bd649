"""State files: canonical bytes, atomic replace, version checks, the lock."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import StateError
from reconciler.files import write_atomic
from reconciler.model import Phase, RunRequest, SecretRef, StateEntry
from reconciler.store.state import SCHEMA_VERSION, StateStore, encode_entry

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


@pytest.mark.anyio
async def test_a_background_store_saves_in_order_through_the_writer_thread(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path, background=True)
    path = tmp_path / "default" / "orders.json"
    intent = ENTRY.model_copy(update={"phase": Phase.INTENT, "request_id": None})
    await store.save_durable(intent)  # returns once it is on disk, as a POST needs
    assert path.read_bytes() == encode_entry(intent)
    store.save(ENTRY)
    final = ENTRY.model_copy(update={"phase": Phase.FINAL, "status": "COMPLETE"})
    store.save(final)  # the newest of two waiting saves wins; never an older one last
    other = ENTRY.model_copy(update={"name": "invoices"})
    store.save(other)
    store.discard("invoices", None)  # taken back after it was queued: no file at all
    await store.flush()
    assert path.read_bytes() == encode_entry(final)
    assert not (tmp_path / "default" / "invoices.json").exists()
    assert not list((tmp_path / "default").glob(".*.tmp"))
    assert StateStore(tmp_path).snapshot() == {"orders": final}
    assert store.current() == {"orders": final}


@pytest.mark.anyio
async def test_a_failed_background_write_is_raised_by_flush_and_by_the_next_save(
    tmp_path: Path,
) -> None:
    (tmp_path / "default").write_text("a file where the folder belongs", encoding="utf-8")
    store = StateStore(tmp_path, background=True)
    store.save(ENTRY)
    expected = f"{tmp_path / 'default'}: is a regular file; expected a folder"
    with pytest.raises(StateError, match=re.escape(expected)):
        await store.flush()
    with pytest.raises(StateError, match=re.escape(expected)):
        store.save(ENTRY.model_copy(update={"status": "COMPLETE"}))


@pytest.mark.anyio
async def test_the_writer_takes_awaited_writes_first_without_starving_the_others(
    tmp_path: Path,
) -> None:
    from reconciler.store.paths import Tree
    from reconciler.store.writer import Writer, _Pending

    loop = asyncio.get_running_loop()
    writer = Writer(
        loop, Tree(tmp_path)
    )  # its thread is not started: batches are only taken, not written
    waiting: asyncio.Future[None] = loop.create_future()
    for i in range(writer.BATCH + 2):
        writer._pending[tmp_path / f"other-{i}"] = _Pending(b"x", remove=False)
    writer._pending[tmp_path / "intent-1"] = _Pending(b"x", remove=False, waiters=[waiting])
    assert list(writer._take()) == [tmp_path / "intent-1"]
    writer._pending[tmp_path / "intent-2"] = _Pending(b"x", remove=False, waiters=[waiting])
    second = list(writer._take())  # not two batches of intents in a row while others wait
    assert second == [tmp_path / f"other-{i}" for i in range(writer.BATCH)]
    assert list(writer._take()) == [tmp_path / "intent-2"]


def test_many_files_written_at_once_leave_each_whole_and_no_temp(tmp_path: Path) -> None:
    from reconciler.files import write_atomic_many

    write_atomic(tmp_path / "runs" / "b.json", b"old")
    write_atomic_many([(tmp_path / "runs" / f"{n}.json", n.encode()) for n in "abc"])
    assert {p.name: p.read_bytes() for p in (tmp_path / "runs").iterdir()} == {
        "a.json": b"a",
        "b.json": b"b",
        "c.json": b"c",
    }
    assert oct((tmp_path / "runs" / "a.json").stat().st_mode & 0o777) == "0o644"
    not_bytes: Any = "e"  # a caller's bug the types would catch: the write fails part-way
    with pytest.raises(TypeError):  # fails after some temp files exist: none is left
        write_atomic_many(
            [(tmp_path / "runs" / "d.json", b"d"), (tmp_path / "runs" / "e.json", not_bytes)]
        )
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["a.json", "b.json", "c.json"]


def test_taking_the_lock_removes_a_killed_writers_temp_files(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.root.mkdir(parents=True)
    leftover = store.root / ".o.json.k1ll3d99.tmp"
    leftover.write_text('{"torn', encoding="utf-8")
    keep = store.root / "o.json.bak"  # not ours: left alone
    keep.write_text("x", encoding="utf-8")
    with store.lock(command="test"):
        assert not leftover.exists()
        assert keep.exists()
    assert not (tmp_path / "state" / ".gitignore").exists()  # only when asked
    store.ignore_own_files()
    ignore = (tmp_path / "state" / ".gitignore").read_text(encoding="utf-8")
    assert ignore.splitlines()[1:] == [
        ".reconciler.lock",
        ".reconciler.lock.holder",
        ".*.tmp",
        ".applies-*.jsonl",
    ]


@pytest.mark.anyio
async def test_a_plain_store_writes_before_save_returns_even_in_an_event_loop(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path)  # the default: no writer thread, whatever runs around it
    path = tmp_path / "default" / "orders.json"
    store.save(ENTRY)
    assert path.read_bytes() == encode_entry(ENTRY)
    intent = ENTRY.model_copy(update={"phase": Phase.INTENT, "request_id": None})
    await store.save_durable(intent)
    assert path.read_bytes() == encode_entry(intent)
    await store.flush()  # nothing queued: returns at once
    store.discard("orders", None)
    assert not path.exists()


def test_a_background_store_outside_an_event_loop_is_a_bug_not_a_silent_switch(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path, background=True)
    with pytest.raises(RuntimeError, match="written from an event loop"):
        store.save(ENTRY)
    assert not (tmp_path / "default" / "orders.json").exists()


class FixedClock:
    """A clock that stands still at one instant."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        return None


def test_the_lock_holder_names_its_start_from_the_stores_clock(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2031, 7, 4, 12, 30, 5, tzinfo=UTC))
    first = StateStore(tmp_path / "state", clock=clock)
    second = StateStore(tmp_path / "state", clock=clock)
    with first.lock(command="reconciler apply"):
        holder = json.loads(
            (tmp_path / "state" / ".reconciler.lock.holder").read_text(encoding="utf-8")
        )
        assert holder["started"] == "2031-07-04T12:30:05Z"
        with pytest.raises(StateError) as info, second.lock(command="reconciler apply"):
            pass
    assert "started 2031-07-04T12:30:05Z (reconciler apply)" in str(info.value)


@pytest.mark.parametrize("link", ["default", "default/orders.json", ".gitignore"])
def test_a_save_never_writes_through_a_link(tmp_path: Path, link: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "orders.json").write_text("precious\n", encoding="utf-8")
    if link == "default":
        (state / link).symlink_to(victim, target_is_directory=True)
    else:
        (state / "default").mkdir()
        (state / link).symlink_to(victim / "orders.json")
    store = StateStore(state)
    write = store.ignore_own_files if link == ".gitignore" else lambda: store.save(ENTRY)

    with pytest.raises(StateError, match=re.escape(f"{state / link}: is a symbolic link")):
        write()

    assert sorted(p.name for p in victim.iterdir()) == ["orders.json"]
    assert (victim / "orders.json").read_text(encoding="utf-8") == "precious\n"
