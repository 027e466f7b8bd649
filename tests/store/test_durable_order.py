"""Never twice, at the system calls: every intent is on disk before its POST leaves.

The real CLI applies against the simulator while the test records, in order, the flushes of
file data (``os.fdatasync``/``os.fsync`` of a file), the renames (``os.replace``), the flushes
of folders and each request as httpx sends it. An intent counts as durable once its temp file's
data was flushed, renamed over its state file, and the state folder flushed after that; before
the k-th POST of ``/ExecutionRequest`` at least k intents must be durable. The writer groups
the saves of one turn of the event loop; the second test shows it: many saves, one folder fsync.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.model import Phase
from reconciler.store.state import StateStore
from tests.conftest import ORDERS, PROD_ATOM, Admin, CliResult, build_tree, spec
from tests.store.test_state import ENTRY

Event = tuple[str, str, str]  # what, path or request, detail


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    events: list[Event] = []
    fsync, fdatasync, replace = os.fsync, getattr(os, "fdatasync", os.fsync), os.replace

    def flushed(fd: int, sync: Callable[[int], None]) -> None:
        sync(fd)
        where = str(Path(f"/proc/self/fd/{fd}").readlink())
        if Path(where).is_dir():
            events.append(("folder", where, ""))
            return
        data = os.pread(fd, 1 << 20, 0)
        phase = json.loads(data).get("phase", "") if data.startswith(b"{") else ""
        events.append(("file", where, str(phase)))

    def renamed(src: Any, dst: Any) -> None:
        replace(src, dst)
        events.append(("replace", os.fspath(src), os.fspath(dst)))

    send = httpx.AsyncClient.send

    async def sent(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        events.append(("send", request.method, request.url.path))
        return await send(self, request, **kwargs)

    monkeypatch.setattr(os, "fsync", lambda fd: flushed(fd, fsync))
    monkeypatch.setattr(os, "fdatasync", lambda fd: flushed(fd, fdatasync))
    monkeypatch.setattr(os, "replace", renamed)
    monkeypatch.setattr(httpx.AsyncClient, "send", sent)
    return events


def _durable_intents(events: list[Event], folder: Path) -> set[str]:
    """The state files whose intent was flushed, renamed into place, then its folder flushed."""
    flushed: dict[str, str] = {}  # temp file -> phase of its flushed data
    renamed: dict[str, str] = {}  # state file -> phase, renamed but its folder not yet flushed
    durable: set[str] = set()
    for what, where, detail in events:
        if what == "file":
            flushed[where] = detail
        elif what == "replace" and flushed.get(where) == Phase.INTENT.value:
            renamed[detail] = Phase.INTENT.value
        elif what == "replace":
            renamed.pop(detail, None)
        elif what == "folder" and Path(where) == folder:
            durable |= set(renamed)
            renamed.clear()
    return durable


def test_every_intent_is_flushed_and_its_folder_too_before_its_post_leaves(
    workspace: Path,
    sim: Admin,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_tree(
        workspace,
        {f"specs/r{i}.yaml": spec(f"r{i}", ORDERS, PROD_ATOM, {"N": str(i)}) for i in range(12)},
    )
    events = _spy(monkeypatch)
    result = run_cli("apply")
    assert result.code == 0, result.err
    folder = (workspace / "state" / "default").resolve()
    posts = [i for i, e in enumerate(events) if e[:2] == ("send", "POST") and
             e[2].endswith("/ExecutionRequest")]  # fmt: skip
    assert len(posts) == len(sim.submissions()) == 12
    for k, at in enumerate(posts, start=1):
        assert len(_durable_intents(events[:at], folder)) >= k, f"POST {k} left too early"


@pytest.mark.anyio
async def test_the_saves_of_one_turn_of_the_loop_share_one_folder_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore(tmp_path, background=True)
    store.save(ENTRY)
    await store.flush()  # the folder exists now; count from here
    events = _spy(monkeypatch)
    for i in range(40):  # one turn: none of these awaits
        store.save(ENTRY.model_copy(update={"name": f"run-{i}"}))
    await asyncio.sleep(0)
    await store.flush()
    folders = [e for e in events if e[0] == "folder"]
    assert len(folders) == 1
    assert sum(1 for e in events if e[0] == "file") == 40
    assert len(list((tmp_path / "default").glob("run-*.json"))) == 40


def test_a_new_folder_is_durable_in_its_parent_before_anything_is_written_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first intent of a new environment lives in a folder that did not exist: the
    folder's own entry is synced into its parent, up to the first folder that existed."""
    from reconciler.files import fsync_folder as real
    from reconciler.store import paths

    synced: list[Path] = []

    def spy(folder: Path) -> None:
        synced.append(folder)
        real(folder)

    monkeypatch.setattr(paths, "fsync_folder", spy)
    tree = paths.Tree(tmp_path)
    tree.mkdir(tmp_path / "state" / "prod")
    assert synced == [tmp_path / "state", tmp_path]
    synced.clear()
    tree.mkdir(tmp_path / "state" / "prod")
    assert synced == []
