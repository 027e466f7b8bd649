"""Git as the audit trail: publish state and artifacts, never overwriting anyone.

An edge (runs ``git``, through ``plumbing.Checkout``). ``reconciler commit`` uses it after an
apply and, with durable intents, the apply itself before each submit wave. A *publication*
sets a few paths to their contents in the working tree, in one commit on top of the branch,
and pushes it:

- Only those paths change, whatever else the checkout holds: the commit is built with git's
  plumbing on a private index, so an apply writing state files meanwhile is never disturbed.
- A rejected push fetches the branch, rebuilds the same change on top of it, and retries with
  jittered backoff, a bounded number of times. It never force-pushes.
- Before rebuilding, each *state* file both sides changed is checked with ``supersedes``: our
  version may replace theirs only if theirs is an earlier step of the same run (our own intent,
  pushed before the submit). Anything else means another apply recorded that execution
  meanwhile; publishing stops and names it instead of overwriting. Artifacts that both sides
  wrote (the summary of "the last apply") keep our version.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import GitError, StateConflict
from reconciler.git.plumbing import Checkout, commit_message, posix_path
from reconciler.retry import Backoff

__all__ = [
    "Git",
    "GitError",
    "Published",
    "PushPolicy",
    "StateConflict",
    "Supersedes",
    "commit_message",
]

# (path, upstream bytes, our bytes) -> may ours replace theirs?
Supersedes = Callable[[str, bytes, bytes], bool]


@dataclass(frozen=True)
class PushPolicy:
    """Where to push and how persistently."""

    remote: str = "origin"
    branch: str | None = None  # None: the checked-out branch
    attempts: int = 5
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=30.0))
    seed: int | None = None


@dataclass(frozen=True)
class Published:
    """A commit that reached the remote (or only the local branch, without a push)."""

    commit: str
    attempts: int
    files: tuple[str, ...]


@dataclass
class Git(Checkout):
    """One checkout that publishes: commits paths on the branch and pushes, never forcing."""

    sleep: Callable[[float], None] = time.sleep

    def publish(
        self,
        paths: Sequence[Path],
        message: str,
        *,
        policy: PushPolicy | None,
        guarded: Sequence[Path] = (),
        supersedes: Supersedes | None = None,
        base: str | None = None,
        update_checkout: bool = True,
    ) -> Published | None:
        """Commit ``paths`` as they are in the working tree on top of ``base`` and push it.

        ``policy=None`` commits without pushing. ``guarded`` folders hold state: a file there
        that changed upstream too is a conflict unless ``supersedes`` says ours replaces theirs.
        ``update_checkout`` moves the local branch (and index) to the published commit. Returns
        None when the paths already match ``base``.
        """
        top = self.toplevel()
        if top.resolve() != self.root.resolve():  # git paths below are relative to the top
            at_top = Git(top, self.environ, self.sleep)
            return at_top.publish(
                paths,
                message,
                policy=policy,
                guarded=guarded,
                supersedes=supersedes,
                base=base,
                update_checkout=update_checkout,
            )
        branch = (policy.branch if policy else None) or self.branch()
        base = base or self.head()
        ours = self._contents(top, paths, base)
        changes = self._changes(ours, base)
        if not changes:
            return None
        commit = self._commit_on(base, changes, message)
        attempts = 0
        if policy is not None:
            commit, attempts = self._push(
                commit, base, changes, message, branch, policy, top, guarded, supersedes
            )
        if update_checkout:
            self._move_checkout(branch, commit)
        return Published(commit=commit, attempts=attempts, files=tuple(sorted(changes)))

    # -- pushing ----------------------------------------------------------------------------

    def _push(
        self,
        commit: str,
        base: str,
        changes: dict[str, bytes | None],
        message: str,
        branch: str,
        policy: PushPolicy,
        top: Path,
        guarded: Sequence[Path],
        supersedes: Supersedes | None,
    ) -> tuple[str, int]:
        prefixes = [posix_path(os.path.relpath(g, top)).rstrip("/") + "/" for g in guarded]
        rng = random.Random(policy.seed)  # noqa: S311 - retry jitter only
        last = ""
        for attempt in range(policy.attempts):
            upstream = self._fetch(policy.remote, branch)
            if upstream is not None and not self._is_ancestor(upstream, commit):
                self._check_conflicts(base, upstream, changes, prefixes, supersedes)
                base = upstream
                rebuilt = self._changes(changes, upstream)
                if not rebuilt:
                    return upstream, attempt + 1  # upstream already holds exactly our change
                commit = self._commit_on(upstream, rebuilt, message)
            pushed = self.run("push", policy.remote, f"{commit}:refs/heads/{branch}", check=False)
            if pushed.returncode == 0:  # keep the remote-tracking branch truthful
                self.run(
                    "update-ref", f"refs/remotes/{policy.remote}/{branch}", commit, check=False
                )
                return commit, attempt + 1
            last = pushed.stderr
            if attempt + 1 < policy.attempts:
                self.sleep(policy.backoff.delay(attempt, rng))
        hint = (
            "the files are still in this checkout: run reconciler commit again from it (a CI "
            "runner's checkout is gone after the job: keep state/ and artifacts/ as a workflow "
            "artifact and `reconciler state import` it, as reconcile-apply.yml does)"
        )
        if "GH006" in last or "protected branch" in last.lower():
            hint = (
                f"{branch} is protected: keep state on a branch of its own (git.stateBranch: "
                "reconciler/state), or push with a token allowed to bypass the protection "
                "(docs/github-actions.md, branch protection)"
            )
        raise GitError(
            f"push to {policy.remote}/{branch} still rejected after {policy.attempts} attempts "
            f"({_push_reason(last)})",
            hint=hint,
        )

    def _fetch(self, remote: str, branch: str) -> str | None:
        fetched = self.run("fetch", "--quiet", remote, f"refs/heads/{branch}", check=False)
        if fetched.returncode != 0:
            return None
        return self.run("rev-parse", "FETCH_HEAD").stdout.strip()

    def _is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def _check_conflicts(
        self,
        base: str,
        upstream: str,
        changes: Mapping[str, bytes | None],
        prefixes: Sequence[str],
        supersedes: Supersedes | None,
    ) -> None:
        fork = self.run("merge-base", base, upstream, check=False).stdout.strip() or base
        out = self.run("diff", "--name-only", "--no-renames", fork, upstream).stdout
        theirs = {line for line in out.splitlines() if line}
        clash = []
        for name in sorted(theirs & changes.keys()):
            if not any(name.startswith(p) for p in prefixes):
                continue  # an artifact: ours is the newer account of the last apply
            shown = self.run("show", f"{upstream}:{name}", check=False)
            ours = changes[name]
            if (
                shown.returncode == 0
                and ours is not None
                and supersedes is not None
                and supersedes(name, shown.stdout.encode(), ours)
            ):
                continue
            clash.append(name)
        if clash:
            raise StateConflict(clash)


def _push_reason(stderr: str) -> str:
    """The line of a failed push's output that says why: the remote's words, or git's."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    said = [line for line in said if line]
    rejected = [line.lstrip("! ") for line in lines if line.startswith("!")]
    if said:  # the remote's own words, all of them (GitHub: the rule, then what to do)
        return _cut("remote: " + " ".join(said[:4]), 400)
    return (rejected or lines or ["no message"])[-1]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
