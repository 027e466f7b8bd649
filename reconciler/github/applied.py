"""Reading what an apply left for its pull-request comment: its record, report and reviews.

An edge (reads files). ``read_apply`` reads ``apply.json`` (``report.apply_record``), the runs
that did not succeed from ``junit.xml`` (``outcome.parse_junit``) and optionally
``summary.md``, each through the one bounded reader, refusing links; ``read_reviewed`` reads
the folder ``reconciler github reviewed-plan --output-dir`` wrote: which pull requests the
apply covered (``pr-<N>.meta.json``, and the pull requests ``missing.meta.json`` names) and what
each one's review was. Those files are the workflow's own, but a job may be handed a folder
from elsewhere, so each is held to its form, and a file that is not is an error naming it and
the field, never a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import UserError
from reconciler.files import FileRefused, read_bounded
from reconciler.github.comment import DIGEST_PATTERN
from reconciler.github.merged import MISSING_FILE, PLAN_FILE
from reconciler.github.outcome import PullReview, RunIssue, parse_junit
from reconciler.report.apply_record import ApplyRecord, parse_apply_record

RECORD_LIMIT = 1024 * 1024
JUNIT_LIMIT = 32 * 1024 * 1024
SUMMARY_LIMIT = 1024 * 1024
META_LIMIT = 64 * 1024
MISSING_LIMIT = 4 * 1024 * 1024
FOLDER_LIMIT = 10_000  # entries of the reviewed-plans folder looked at


@dataclass(frozen=True)
class ApplyFiles:
    """The apply's own files, read."""

    record: ApplyRecord
    issues: tuple[RunIssue, ...] | None  # None: no junit.xml
    summary: str | None


def read_apply(record: Path, junit: Path | None, summary: Path | None) -> ApplyFiles:
    """Read the apply's record, and its JUnit report and summary when given."""
    parsed = parse_apply_record(_read(record, RECORD_LIMIT, "apply record"), str(record))
    issues = None
    if junit is not None:
        issues = parse_junit(_read(junit, JUNIT_LIMIT, "JUnit report"), str(junit))
    text = None
    if summary is not None:
        text = _read(summary, SUMMARY_LIMIT, "summary").decode("utf-8", errors="replace")
    return ApplyFiles(record=parsed, issues=issues, summary=text)


def read_reviewed(folder: Path) -> dict[int, PullReview]:
    """Every pull request the folder names, with its review: a plan's digest, or why none."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            raise UserError(f"{folder}: expected the folder reconciler github reviewed-plan wrote")
        names = []
        for number, entry in enumerate(folder.iterdir()):
            if number >= FOLDER_LIMIT:
                raise UserError(f"{folder}: more than {FOLDER_LIMIT} entries")
            names.append(entry.name)
    except OSError as exc:
        raise UserError(f"{folder}: cannot read the folder ({exc.strerror})") from None
    reviews: dict[int, PullReview] = {}
    if MISSING_FILE in names:
        reviews.update(_missing(folder / MISSING_FILE))
    for name in sorted(names):
        match = PLAN_FILE.match(name)
        if match is None or match[2] is None:
            continue
        number = int(match[1])
        reviews[number] = PullReview(digest=_meta_digest(folder / name, number))
    return dict(sorted(reviews.items()))


def _meta_digest(path: Path, number: int) -> str | None:
    data = _json(path, META_LIMIT, "pull request's metadata")
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected an object")
    found = data.get("number")
    if found != number or isinstance(found, bool):
        raise UserError(f"{path}: number: expected {number} (the file's name), got {found!r:.40}")
    digest = data.get("planDigest")
    if digest is not None and not (isinstance(digest, str) and DIGEST_PATTERN.match(digest)):
        raise UserError(f"{path}: planDigest: expected sha256: and 64 hexadecimal digits or null")
    return digest


def _missing(path: Path) -> dict[int, PullReview]:
    data = _json(path, MISSING_LIMIT, "list of uncovered commits")
    commits = data.get("commits") if isinstance(data, dict) else None
    if not isinstance(commits, list):
        raise UserError(f"{path}: commits: expected a list")
    reviews = {}
    for index, item in enumerate(commits):
        where = f"{path}: commits[{index}]"
        if not isinstance(item, dict):
            raise UserError(f"{where}: expected an object")
        number, reason = item.get("pullRequest"), item.get("reason")
        if number is None:
            continue
        if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**10:
            raise UserError(f"{where}.pullRequest: expected a pull request number or null")
        if not isinstance(reason, str):
            raise UserError(f"{where}.reason: expected a text")
        reviews[number] = PullReview(missing=reason)
    return reviews


def _json(path: Path, limit: int, what: str) -> Any:
    try:
        return json.loads(_read(path, limit, what))
    except ValueError as exc:
        raise UserError(f"{path}: not a readable {what} ({exc})") from None
    except RecursionError:
        raise UserError(f"{path}: not a readable {what} (nested too deeply)") from None


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        return read_bounded(path, limit=limit)
    except FileRefused as exc:
        raise UserError(f"{path}: cannot read the {what}: the file {exc.reason}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc.strerror})") from None
