"""Durable intents in git: the ``IntentJournal`` that ``apply`` uses when they are on.

An edge (through ``publish``). See ``apply.journal`` for the batching and docs/engine.md for the
protocol.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from reconciler.errors import GitError
from reconciler.git.publish import Git, PushPolicy, Supersedes, commit_message
from reconciler.git.statebranch import StateBranch
from reconciler.model import StateEntry


class GitIntentJournal:
    """Durable intents in git: each wave of intents is one commit, pushed before any POST.

    The commits chain from the checkout (or from the state branch's tip, with
    ``git.stateBranch``) without moving the checkout (the apply keeps writing its files);
    ``reconciler commit`` later publishes the final state on top, which supersedes them.
    """

    def __init__(
        self,
        git: Git,
        path_for: Callable[[str], Path],
        *,
        environment: str,
        policy: PushPolicy,
        guarded: Sequence[Path],
        supersedes: Supersedes,
        trailers: Mapping[str, str] | None = None,
        state_branch: StateBranch | None = None,
    ) -> None:
        self._git = git
        self._state_branch = state_branch
        self._path_for = path_for
        self._environment = environment
        self._policy = policy
        self._guarded = guarded
        self._supersedes = supersedes
        self._trailers = dict(trailers or {})
        self._base: str | None = None
        self._failed: GitError | None = None
        self.commits: list[str] = []

    async def record(self, intents: Sequence[StateEntry]) -> None:
        """Commit and push the intents' state files (in a thread: git blocks)."""
        await asyncio.to_thread(self._record, [i.name for i in intents])

    def _record(self, names: Sequence[str]) -> None:
        if self._failed is not None:  # the remote refused a wave: the next would wait as long
            raise GitError(
                f"{self._failed.message} (an earlier wave of this apply)", hint=self._failed.hint
            )
        try:
            self._publish(names)
        except GitError as exc:
            self._failed = exc
            raise

    def _publish(self, names: Sequence[str]) -> None:
        subject = f"reconciler: intents of {len(names)} run(s) ({self._environment})"
        body = "Saved before submitting, so no runner can lose them:\n" + "\n".join(
            f"- {name}" for name in sorted(names)[:50]
        )
        if len(names) > 50:
            body += f"\n- … and {len(names) - 50} more"
        trailers = {"Reconciler-Environment": self._environment, **self._trailers}
        trailers["Reconciler-Intents"] = str(len(names))
        paths = [self._path_for(name) for name in names]
        message = commit_message(subject, body, trailers)
        # A branch of their own (the state branch), or the checkout's: it never moves.
        publish = (
            self._state_branch.publish
            if self._state_branch is not None
            else functools.partial(self._git.publish, update_checkout=False)
        )
        published = publish(
            paths,
            message,
            policy=self._policy,
            guarded=self._guarded,
            supersedes=self._supersedes,
            base=self._base,
        )
        if published is not None:
            self._base = published.commit
            self.commits.append(published.commit)
