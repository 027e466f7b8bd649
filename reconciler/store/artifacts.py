"""Writes the artifacts of an apply: per-run JSON records, ``summary.md`` and ``junit.xml``.

An edge. The text comes from ``report``; this module only decides where it goes and writes it
atomically, under ``<artifacts dir>/<environment>/``. Records are written for runs that reached
a final status, in batches whose files are flushed to disk together; the summary and the JUnit
file describe the whole apply, and are rendered, scrubbed and written a few hundred runs at a
time, so neither is ever one string of every run. Nothing is written through a link
(``paths.Tree``, rooted at the artifacts folder), and the platform's text is scrubbed of secrets
with the given ``Redactor`` before it is rendered, and the rendered text once more (``redact``).

An apply with nothing to do writes its own summary, JUnit file and ``apply.json``
(``write_noop_artifacts``): left in place, the last apply's would be published again as this
one's, its failures reported twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.files import Content
from reconciler.model import ApplyResult, Location, Phase, Plan, RunResult, StateEntry
from reconciler.outbound import NO_SECRETS, Redactor
from reconciler.plan.review import Review
from reconciler.report import renderers as report
from reconciler.report.junit import junit_pieces, noop_junit_xml
from reconciler.report.locations import Sources, repository_path
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
    written: list[Path] = []
    for first in range(0, len(result.results), _CHUNK):
        batch = []
        for run in result.results[first : first + _CHUNK]:
            entry = entries.get(run.name)
            if entry is None or entry.phase is not Phase.FINAL:
                continue
            batch.append((folder / "runs" / f"{run.name}.json", entry, run))
        tree.write(
            [(path, _run_record(entry, run, redactor).encode()) for path, entry, run in batch]
        )
        written += [path for path, _, _ in batch]
    whole = summary_folder or folder
    tail = [f"\n{notes}\n"] if notes else []
    try:
        files = _reports(whole, result, stats, tail, sources, record_json, redactor, pieces=True)
        tree.write(files)
    except _Withheld:  # what scrubbing the whole summary does then (``Redactor.scrub``)
        files = _reports(whole, result, stats, tail, sources, record_json, redactor, pieces=False)
        tree.write(files)
    return written + [path for path, _ in files]


def _reports(
    whole: Path,
    result: ApplyResult,
    stats: Mapping[str, Any] | None,
    tail: list[str],
    sources: Mapping[str, Location] | None,
    record_json: str | None,
    redactor: Redactor,
    *,
    pieces: bool,
) -> list[tuple[Path, Content]]:
    """``summary.md``, ``junit.xml`` and ``apply.json``; the first two in scrubbed pieces.

    A piece of the summary is a few hundred whole lines, scrubbed alone: the same text as the
    whole summary scrubbed when no secret holds a line break (``Redactor.within_lines``) and
    no piece is withheld whole (``_Withheld``); else (``pieces`` false) it is scrubbed whole.
    Each piece of the JUnit file holds whole test cases, and ``scrub_xml`` scrubs only text
    and attribute values, none of which straddles two pieces.
    """
    summary = itertools.chain(report.summary_lines(result, stats), tail)
    if pieces and redactor.within_lines():
        markdown: Content = (_scrub_lines(piece, redactor).encode() for piece in summary)
    else:
        markdown = redactor.scrub("".join(summary)).encode()
    # ">": each piece after the first follows a tag's end, where a text value starts
    xml = enumerate(junit_pieces(result, sources))
    junit = (scrub_xml(p if i == 0 else ">" + p, redactor)[i and 1 :].encode() for i, p in xml)
    files: list[tuple[Path, Content]] = [
        (whole / "summary.md", markdown),
        (whole / "junit.xml", junit),
    ]
    if record_json is not None:
        files.append((whole / "apply.json", scrub_json(record_json, redactor).encode()))
    return files


class _Withheld(Exception):
    """A piece of the summary still held a secret after every pass and was withheld whole."""


def _scrub_lines(piece: str, redactor: Redactor) -> str:
    """``piece`` (whole lines) scrubbed; ``_Withheld`` if ``scrub`` withheld it whole.

    A scrubbed piece keeps its last line break (no match holds one), unless it was withheld:
    then the whole summary must be, as scrubbing it whole would have done.
    """
    clean = redactor.scrub(piece)
    if piece.endswith("\n") and not clean.endswith("\n"):
        raise _Withheld
    return clean


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


def spec_sources(plan: Plan, *, cwd: Path, root: Path | None) -> Sources:
    """Where each execution of ``plan`` is declared, its file relative to ``root``.

    ``root`` is the repository root (``github.workflow.workspace``; None outside GitHub
    Actions: the file stays as the loader showed it, relative to ``cwd``, the folder the
    specs were loaded from). Kept small (``Sources``): an apply holds it while its runs go.
    """
    base, top = cwd.resolve(), root.resolve() if root is not None else None
    files: dict[str, str] = {}  # each spec file's path worked out once, not once a run
    sources = Sources()
    for action in plan.actions:
        if action.desired is None:
            continue
        where = action.desired.source
        file = files.get(where.file)
        if file is None:
            file = files[where.file] = repository_path(where.file, cwd=base, root=top)
        sources.add(action.name, file, where.line, where.col)
    return sources


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
