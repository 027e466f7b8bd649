"""Writes the artifacts of an apply: per-run JSON records, ``summary.md`` and ``junit.xml``.

An edge. The text comes from ``report``; this module only decides where it goes and writes it
atomically, under ``<artifacts dir>/<environment>/``. Records are written for runs that reached a
final status, in batches whose files are flushed to disk together; the summary and the JUnit
file describe the whole apply. Nothing is written through a link (``paths.Tree``, rooted at the
artifacts folder), and the platform's text is scrubbed of secrets with the given ``Redactor``
before it is rendered, and the rendered text once more (``redact``).

An apply with nothing to do writes its own summary, JUnit file and ``apply.json``
(``write_noop_artifacts``): left in place, the last apply's would be published again as this
one's, its failures reported twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.model import ApplyResult, Location, Phase, Plan, RunResult, StateEntry
from reconciler.outbound import NO_SECRETS, Redactor
from reconciler.plan.review import Review
from reconciler.report import renderers as report
from reconciler.report.junit import junit_xml, noop_junit_xml
from reconciler.report.locations import repository_path
from reconciler.store.paths import Tree
from reconciler.store.redact import scrub_entry, scrub_json, scrub_result, scrub_xml

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
    redactor: Redactor = NO_SECRETS,
    sources: Mapping[str, Location] | None = None,
) -> list[Path]:
    """Write every artifact of ``result``; return the paths written.

    Per-run records go under ``folder/runs``; ``summary.md``, ``junit.xml`` and ``apply.json``
    describe the whole apply and go to ``summary_folder`` (a shard's own folder, so parallel
    shards never write the same file), by default ``folder``. ``notes`` (markdown) is added
    to the summary; ``sources`` (``spec_sources``) gives each JUnit test case its spec's file
    and line. Every folder from ``folder``'s parent (the artifacts folder) down is checked: a
    link there is a ``StateError``, as is a failed write.
    """
    tree = Tree(folder.parent)
    result = scrub_result(result, redactor)
    records = []
    for run in result.results:
        entry = entries.get(run.name)
        if entry is None or entry.phase is not Phase.FINAL:
            continue
        records.append((folder / "runs" / f"{run.name}.json", entry, run))
    for first in range(0, len(records), _CHUNK):
        tree.write(
            [
                (path, _run_record(entry, run, redactor).encode())
                for path, entry, run in records[first : first + _CHUNK]
            ]
        )
    written = [path for path, _, _ in records]
    whole = summary_folder or folder
    summary = whole / "summary.md"
    text = report.summary_markdown(result, stats)
    text = redactor.scrub(text + f"\n{notes}\n" if notes else text)
    junit = whole / "junit.xml"
    files = [
        (summary, text.encode()),
        (junit, scrub_xml(junit_xml(result, sources), redactor).encode()),
    ]
    if record_json is not None:
        files.append((whole / "apply.json", scrub_json(record_json, redactor).encode()))
    tree.write(files)
    return written + [path for path, _ in files]


def write_noop_artifacts(
    folder: Path,
    plan: Plan,
    *,
    review: Review,
    at: datetime,
    shard: tuple[int, int] | None = None,
    sources: Mapping[str, Location] | None = None,
) -> list[Path]:
    """Write the report of an apply with nothing to do; return the paths written.

    ``summary.md`` says nothing ran and why for each execution, ``junit.xml`` has every
    execution as a skipped case (``up to date: ...``), ``apply.json`` counts no outcome: all
    three replace the last apply's, in ``folder`` or a shard's own folder, as
    ``write_apply_artifacts`` places them. Per-run records stay: each still describes its
    execution's last run. ``at`` is the time of this apply.
    """
    whole = folder / "shards" / f"{shard[0]}-of-{shard[1]}" if shard else folder
    nothing = ApplyResult(environment=plan.environment, results=(), started_at=at, finished_at=at)
    record = report.apply_record_json(nothing, plan=plan, review=review, shard=shard)
    files = [
        (whole / "summary.md", report.noop_summary_markdown(plan, at).encode()),
        (whole / "junit.xml", noop_junit_xml(plan, at, sources).encode()),
        (whole / "apply.json", record.encode()),
    ]
    Tree(folder.parent).write(files)
    return [path for path, _ in files]


def spec_sources(plan: Plan, *, cwd: Path, root: Path | None) -> dict[str, Location]:
    """Where each execution of ``plan`` is declared, its file relative to ``root``.

    ``root`` is the repository root (``github.workflow.workspace``; None outside GitHub
    Actions: the file stays as the loader showed it, relative to ``cwd``, the folder the
    specs were loaded from).
    """
    base, top = cwd.resolve(), root.resolve() if root is not None else None
    return {
        action.name: action.desired.source.model_copy(
            update={"file": repository_path(action.desired.source.file, cwd=base, root=top)}
        )
        for action in plan.actions
        if action.desired is not None
    }


def check_artifacts_folder(folder: Path, *, summary_folder: Path | None = None) -> None:
    """Raise ``StateError`` now if the artifacts of ``folder`` could not be written later.

    For a caller that refuses before any run starts: a link (or a file where a folder belongs,
    or the reverse) from the artifacts folder down is what ``write_apply_artifacts`` refuses.
    """
    tree = Tree(folder.parent)
    tree.folder(folder / "runs")
    for name in ("summary.md", "junit.xml", "apply.json"):
        tree.check_file((summary_folder or folder) / name)


def _run_record(entry: StateEntry, run: RunResult, redactor: Redactor) -> str:
    return scrub_json(report.run_record_json(scrub_entry(entry, redactor), run), redactor)
