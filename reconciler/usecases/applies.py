"""The applies since the last commit: what ``commit`` writes into its message.

Each apply appends one line (JSON) to ``state/.applies-<env>.jsonl``, beside the lock and, like
it, never committed (``state/.gitignore``). ``reconciler commit`` reads every line, names each
apply in the message (and the newest in the trailers), and empties the log once the commit is
recorded. Four applies and one commit give one commit that lists the four.

The log is our own file, but a checkout is hostile ground: it is read bounded, line by line,
and a line that is not what ``append`` writes is skipped, never trusted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.errors import StateError, UserError
from reconciler.files import FileRefused, read_bounded
from reconciler.store.paths import Tree

__all__ = ["Applied", "AppliesLog"]

#: At most this many applies are kept (the oldest go first); one line is about 300 bytes.
MAX_APPLIES = 500
_LIMIT = MAX_APPLIES * 4096
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.:/ #@[]=?&%+~")


@dataclass(frozen=True)
class Applied:
    """One apply, as the log recorded it."""

    at: str
    specs_commit: str | None
    plan_digest: str | None
    reviewed: str | None
    reviewers: tuple[str, ...]
    counts: Mapping[str, int]
    shard: str | None
    run_url: str | None
    actor: str | None
    reruns: tuple[str, ...] = ()  # executions re-run on demand (apply --rerun)

    def line(self) -> str:
        """One line for a commit message body."""
        counts = ", ".join(f"{n} {o}" for o, n in self.counts.items()) or "nothing ran"
        specs = f" from {self.specs_commit[:12]}" if self.specs_commit else ""
        shard = f" shard {self.shard}" if self.shard else ""
        who = f" by {self.actor}" if self.actor else ""
        reruns = f"; re-run on demand: {', '.join(self.reruns)}" if self.reruns else ""
        return f"- {self.at}{shard}{specs}{who}: {counts}{reruns}"


class AppliesLog:
    """The log of one environment's applies since its last commit."""

    def __init__(self, state_dir: Path, environment: str) -> None:
        self._tree = Tree(state_dir)
        self.path = state_dir / f".applies-{environment}.jsonl"

    def append(
        self,
        *,
        specs_commit: str | None,
        plan_digest: str | None,
        reviewed: str | None,
        reviewers: Sequence[str],
        counts: Mapping[str, int],
        shard: str | None,
        run_url: str | None,
        actor: str | None,
        at: datetime,
        reruns: Sequence[str] = (),
    ) -> None:
        """Add one apply (the oldest is dropped past ``MAX_APPLIES``)."""
        line = {
            "at": at.isoformat(timespec="seconds"),
            "specsCommit": specs_commit,
            "planDigest": plan_digest,
            "reviewed": reviewed,
            "reviewers": list(reviewers)[:50],
            "counts": dict(counts),
            "shard": shard,
            "runUrl": run_url,
            "actor": actor,
            "reruns": list(reruns)[:200],
        }
        lines = [*self._lines()[-(MAX_APPLIES - 1) :], json.dumps(line, sort_keys=True)]
        self._write(lines)

    def read(self) -> list[Applied]:
        """Every apply recorded since the log was last emptied, oldest first."""
        return [a for a in (_parse(line) for line in self._lines()) if a is not None]

    def clear(self) -> None:
        """Empty the log (after a commit recorded it)."""
        try:
            self._tree.remove([self.path])
        except StateError as exc:
            raise UserError(exc.message) from None

    def _lines(self) -> list[str]:
        try:
            data = read_bounded(self.path, limit=_LIMIT)
        except FileNotFoundError:
            return []
        except (FileRefused, OSError):
            return []  # unreadable: start again rather than stop an apply over a log
        return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]

    def _write(self, lines: list[str]) -> None:
        try:
            self._tree.write([(self.path, ("\n".join(lines) + "\n").encode())])
        except StateError as exc:
            raise UserError(exc.message) from None


def _parse(line: str) -> Applied | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    counts = data.get("counts")
    if not isinstance(counts, dict):
        return None
    reviewers = data.get("reviewers")
    reruns = data.get("reruns")
    return Applied(
        at=_text(data.get("at")) or "?",
        specs_commit=_hex(data.get("specsCommit")),
        plan_digest=_text(data.get("planDigest")),
        reviewed=_text(data.get("reviewed")),
        reviewers=tuple(
            r for r in map(_text, reviewers if isinstance(reviewers, list) else []) if r
        ),
        counts={
            k: v
            for k, v in counts.items()
            if isinstance(k, str) and k.isalpha() and type(v) is int and 0 <= v < 10**9
        },
        shard=_text(data.get("shard")),
        run_url=_text(data.get("runUrl")),
        actor=_text(data.get("actor")),
        reruns=tuple(r for r in map(_text, reruns if isinstance(reruns, list) else []) if r),
    )


def _text(value: object) -> str | None:
    """A short plain value: anything else reads as absent (it goes into commit messages)."""
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    return (
        value
        if all(c.lower() in _WORD or c.isalnum() for c in value) and value.isprintable()
        else None
    )


def _hex(value: object) -> str | None:
    text = _text(value)
    return (
        text
        if text and len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
        else None
    )
