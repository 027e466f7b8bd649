"""Writes the artifacts of an apply: per-run JSON records, ``summary.md`` and ``junit.xml``.

An edge. The text comes from ``report``; this module only decides where it goes and writes it
atomically, under ``<artifacts dir>/<environment>/``. Records are written for runs that reached a
final status; the summary and the JUnit file describe the whole apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler import report
from reconciler.files import write_atomic
from reconciler.model import ApplyResult, Phase, StateEntry


def write_apply_artifacts(
    folder: Path,
    result: ApplyResult,
    entries: Mapping[str, StateEntry],
    stats: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write every artifact of ``result``; return the paths written."""
    written = []
    by_name = {r.name: r for r in result.results}
    for name, run in by_name.items():
        entry = entries.get(name)
        if entry is None or entry.phase is not Phase.FINAL:
            continue
        path = folder / "runs" / f"{name}.json"
        write_atomic(path, report.run_record_json(entry, run).encode())
        written.append(path)
    summary = folder / "summary.md"
    write_atomic(summary, report.summary_markdown(result, stats).encode())
    junit = folder / "junit.xml"
    write_atomic(junit, report.junit_xml(result).encode())
    return [*written, summary, junit]
