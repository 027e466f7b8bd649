"""Writes the artifacts of an apply: per-run JSON records, ``summary.md`` and ``junit.xml``.

An edge. The text comes from ``report``; this module only decides where it goes and writes it
atomically, under ``<artifacts dir>/<environment>/``. Records are written for runs that reached a
final status, in batches whose files are flushed to disk together; the summary and the JUnit
file describe the whole apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.files import write_atomic, write_atomic_many
from reconciler.model import ApplyResult, Phase, StateEntry
from reconciler.report import renderers as report

_CHUNK = 500  # per-run records written (and flushed to disk) together


def write_apply_artifacts(
    folder: Path,
    result: ApplyResult,
    entries: Mapping[str, StateEntry],
    stats: Mapping[str, Any] | None = None,
    *,
    summary_folder: Path | None = None,
    record_json: str | None = None,
    notes: str = "",
) -> list[Path]:
    """Write every artifact of ``result``; return the paths written.

    Per-run records go under ``folder/runs``; ``summary.md``, ``junit.xml`` and ``apply.json``
    describe the whole apply and go to ``summary_folder`` (a shard's own folder, so parallel
    shards never write the same file), by default ``folder``. ``notes`` (markdown) is added
    to the summary.
    """
    written = []
    records = []
    for run in result.results:
        entry = entries.get(run.name)
        if entry is None or entry.phase is not Phase.FINAL:
            continue
        records.append((folder / "runs" / f"{run.name}.json", entry, run))
    for first in range(0, len(records), _CHUNK):
        write_atomic_many(
            [
                (path, report.run_record_json(entry, run).encode())
                for path, entry, run in records[first : first + _CHUNK]
            ]
        )
    written += [path for path, _, _ in records]
    whole = summary_folder or folder
    summary = whole / "summary.md"
    text = report.summary_markdown(result, stats)
    write_atomic(summary, (text + f"\n{notes}\n" if notes else text).encode())
    junit = whole / "junit.xml"
    write_atomic(junit, report.junit_xml(result).encode())
    written += [summary, junit]
    if record_json is not None:
        record = whole / "apply.json"
        write_atomic(record, record_json.encode())
        written.append(record)
    return written
