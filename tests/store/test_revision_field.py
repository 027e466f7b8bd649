"""State schema 2: the ``revision`` a run was submitted for; schema-1 files read without one."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.store.state import SCHEMA_VERSION, StateStore, decode_entry, encode_entry
from tests.store.test_state import ENTRY

REVISION = "v1:sha256:" + "ab" * 32


def test_the_revision_is_written_and_read_back(tmp_path: Path) -> None:
    entry = ENTRY.model_copy(update={"revision": REVISION})
    StateStore(tmp_path).save(entry)
    data = json.loads((tmp_path / "default" / "orders.json").read_text(encoding="utf-8"))
    assert (data["schemaVersion"], data["revision"]) == (SCHEMA_VERSION, REVISION)
    assert StateStore(tmp_path).snapshot()["orders"] == entry


def test_a_version_1_file_reads_as_a_run_of_no_revision(tmp_path: Path) -> None:
    data = json.loads(encode_entry(ENTRY))
    assert "revision" not in data  # none recorded: the key is left out, as every None is
    data["schemaVersion"] = 1
    raw = json.dumps(data, indent=2).encode()
    entry = decode_entry(raw, "state/default/orders.json")
    assert entry == ENTRY
    assert entry.revision is None
    folder = tmp_path / "default"
    folder.mkdir()
    (folder / "orders.json").write_bytes(raw)
    assert StateStore(tmp_path).snapshot()["orders"].revision is None
