"""The state branch: state, artifacts and durable intents on a branch of their own.

An edge (runs ``git``). With ``git.stateBranch`` (for example ``reconciler/state``) the
environment's state and artifacts do not live on the checked-out branch, which a team protects,
but on a branch of the remote that only the workflows write. Its tree holds the same paths as
the checkout (``state/<env>/NAME.json``, ``artifacts/<env>/...``) and nothing else, so ``git
log`` on it is the audit trail of every apply.

- ``fetch`` brings the branch's tip into ``refs/remotes/<remote>/<branch>`` (None while it does
  not exist yet: the first apply creates it);
- ``files`` reads the files under some folders of a commit, in one ``git cat-file`` process,
  each bounded, for the store to merge into the checkout's folders;
- ``publish`` commits paths of the working tree on top of the branch's tip and pushes, with the
  same rebuild-and-retry rules as the checked-out branch (``publish.Git``), never moving the
  checkout; the first publication starts the branch with an empty root commit;
- ``last_applied_commit`` reads the ``Reconciler-Specs-Commit`` trailer of the newest apply of
  an environment: where "merged since the last apply" begins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import GitError
from reconciler.git.plumbing import last_line
from reconciler.git.publish import Git, Published, PushPolicy, Supersedes

__all__ = ["StateBranch", "last_applied_commit", "plain_path"]

#: Trailers that tie a state commit to the specs it ran from.
SPECS_TRAILER = "Reconciler-Specs-Commit"
ENV_TRAILER = "Reconciler-Environment"
#: How many commits of the state branch ``last_applied_commit`` looks through.
LOG_LIMIT = 2000


@dataclass
class StateBranch:
    """One branch of one remote that holds state, seen from a checkout."""

    git: Git
    remote: str
    branch: str

    @property
    def ref(self) -> str:
        """The remote-tracking ref the tip is fetched into."""
        return f"refs/remotes/{self.remote}/{self.branch}"

    def fetch(self) -> str | None:
        """Fetch the branch's tip; None when the remote has no such branch yet.

        Any other failure (no remote, no network, no permission) is a ``GitError``: reading
        state from a stale or missing copy could submit a run twice.
        """
        spec = f"+refs/heads/{self.branch}:{self.ref}"
        fetched = self.git.run("fetch", "--quiet", "--no-tags", self.remote, spec, check=False)
        if fetched.returncode != 0:
            if "couldn't find remote ref" in fetched.stderr:
                self.git.run("update-ref", "-d", self.ref, check=False)  # gone: forget it
                return None
            raise GitError(
                f"cannot fetch the state branch {self.branch} from {self.remote}: "
                f"{last_line(fetched.stderr)}",
                hint="the state lives there (git.stateBranch): check git.remote, the network "
                "and the token's access to the repository",
            )
        return self.git.run("rev-parse", "--verify", f"{self.ref}^{{commit}}").stdout.strip()

    def files(self, commit: str, folders: Sequence[str], *, limit: int) -> dict[str, bytes]:
        """The regular files under ``folders`` (paths from the top) in ``commit``: name → bytes.

        One ``git cat-file --batch`` for all of them. A file over ``limit`` bytes, a link or a
        submodule is refused with a ``GitError`` naming it (the branch is written only by
        reconciler: anything else there is tampering).
        """
        if not folders:
            return {}
        listed = self.git.run(
            "ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--", *folders
        ).stdout.split("\0")
        entries: dict[str, str] = {}
        prefixes = tuple(f.rstrip("/") + "/" for f in folders)
        for line in listed:
            if not line:
                continue
            meta, _, name = line.partition("\t")
            mode, kind, obj, size = meta.split()
            if kind != "blob" or mode not in ("100644", "100755"):
                raise GitError(f"the state branch holds {name} as {kind} {mode}; expected a file")
            if not name.startswith(prefixes) or not plain_path(name):
                raise GitError(
                    f"the state branch holds {name!r}: not a plain path under "
                    f"{', '.join(folders)}; refusing to read it (was the branch tampered with?)"
                )
            if int(size) > limit:
                raise GitError(
                    f"the state branch holds {name} of {int(size):,} bytes; "
                    f"at most {limit:,} expected"
                )
            entries[name] = obj
        blobs = self.git.read_blobs(list(dict.fromkeys(entries.values())))
        return {name: blobs[obj] for name, obj in entries.items()}

    def publish(
        self,
        paths: Sequence[Path],
        message: str,
        *,
        policy: PushPolicy | None,
        guarded: Sequence[Path],
        supersedes: Supersedes | None,
        base: str | None = None,
    ) -> Published | None:
        """Commit ``paths`` on the state branch and push it; the checkout does not move.

        ``base`` is the commit to build on (the last one this process published); by default
        the tip fetched last (the state this process read), or a new empty root commit when
        the branch did not exist. A newer tip is the push's business: it rebuilds on top only
        when no state file the two sides both changed was written by another apply.
        """
        if base is None:  # what this process read (pull): a newer tip is met by the push,
            base = self.local_tip()  # where the conflict rules run; never built on unread state
        if base is None:
            base = self._root_commit()
        pushing = PushPolicy(
            remote=self.remote,
            branch=self.branch,
            attempts=policy.attempts,
            backoff=policy.backoff,
            seed=policy.seed,
        ) if policy is not None else None  # fmt: skip
        published = self.git.publish(
            paths,
            message,
            policy=pushing,
            guarded=guarded,
            supersedes=supersedes,
            base=base,
            update_checkout=False,
        )
        if published is not None:  # the next read sees what we wrote, even before a fetch
            self.git.run("update-ref", self.ref, published.commit)
        return published

    def local_tip(self) -> str | None:
        """The tip fetched last (None if never fetched, or the branch did not exist)."""
        found = self.git.run(
            "rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}", check=False
        )
        return found.stdout.strip() if found.returncode == 0 else None

    def _root_commit(self) -> str:
        tree = self.git.run("mktree", stdin="").stdout.strip()
        message = (
            "reconciler: state branch\n\nState, artifacts and durable intents of reconciler "
            "(git.stateBranch). Written only by reconciler.\n"
        )
        return self.git.run(
            "commit-tree", tree, "-F", "-", stdin=message, env=self.git.identity()
        ).stdout.strip()


def last_applied_commit(git: Git, ref: str, environment: str) -> str | None:
    """The specs commit of the newest apply of ``environment`` recorded on ``ref``.

    None when no commit on ``ref`` (among the newest ``LOG_LIMIT``) names one.
    """
    fmt = (
        f"%(trailers:key={ENV_TRAILER},valueonly,separator=%x20)%x1f"
        f"%(trailers:key={SPECS_TRAILER},valueonly,separator=%x20)%x1e"
    )
    found = git.run("log", f"--max-count={LOG_LIMIT}", f"--format={fmt}", ref, "--", check=False)
    if found.returncode != 0:
        return None
    for record in found.stdout.split("\x1e"):
        env, _, specs = record.strip().partition("\x1f")
        specs = specs.strip()
        if env.strip() == environment and _is_commit_id(specs):
            return specs
    return None


def _is_commit_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def plain_path(name: str) -> bool:
    """A path of plain segments: no ``..``, ``.``, empty part, ``.git`` or control character."""
    return all(
        part not in ("", ".", "..", ".git") and part.isprintable() for part in name.split("/")
    )
