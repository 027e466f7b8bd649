"""State from the state branch (or a saved copy), merged into the checkout's folders.

With ``git.stateBranch`` the checkout's ``state/<env>`` and ``artifacts/<env>`` folders are a
working copy of that branch: ``plan``, ``apply``, ``status`` and ``commit`` *pull* it first.
``state import DIR`` merges a copy saved elsewhere (a workflow artifact uploaded when a push was
impossible) by the same rules:

- a state file the checkout lacks is taken;
- a state file both have is replaced by the incoming one unless the checkout's is strictly
  later: a later step of the same attempt, or an attempt whose history holds the incoming one
  (``later_step``). State only ever moves forward, and the branch, which every apply pushes
  its intents to before submitting, knows at least as much as any runner's leftover copy;
- an artifact the checkout lacks is taken; one it has is kept (artifacts describe applies,
  they decide nothing).

Files the checkout has and the incoming copy does not stay: the next ``commit`` records them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config.settings import Settings
from reconciler.errors import GitError, StateError, UserError
from reconciler.files import FileRefused, read_bounded
from reconciler.git.plumbing import posix_path
from reconciler.git.publish import Git
from reconciler.git.statebranch import StateBranch, last_applied_commit, plain_path
from reconciler.store.paths import Tree
from reconciler.store.state import STATE_FILE_LIMIT, StateStore, later_step

__all__ = ["Merged", "import_state", "last_applied", "pull_state", "state_branch"]

#: The most files one pull or import takes (state and artifacts of one environment).
MAX_FILES = 200_000


@dataclass
class Merged:
    """What a pull or an import changed in the checkout's folders."""

    source: str
    commit: str | None = None
    taken: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # ours is newer: kept
    same: int = 0

    def text(self) -> str:
        """One line for the log."""
        if self.commit is None and not (self.taken or self.kept or self.same):
            return f"{self.source}: nothing recorded yet"
        at = f" at {self.commit[:12]}" if self.commit else ""
        kept = f", {len(self.kept)} newer here kept" if self.kept else ""
        return f"{self.source}{at}: {len(self.taken)} file(s) taken, {self.same} unchanged{kept}"


def state_branch(settings: Settings, environ: Mapping[str, str]) -> StateBranch | None:
    """The state branch of ``settings``, or None when state lives on the checked-out branch."""
    name = settings.git.state_branch
    if name is None:
        return None
    git = Git(settings.root, dict(environ))
    try:
        top = git.toplevel()
    except GitError as exc:
        raise UserError(
            f"git.stateBranch is {name}, but {exc.message}",
            hint="state on a branch needs a git checkout with the remote, or no git.stateBranch",
        ) from None
    checked_out = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if checked_out.returncode == 0 and checked_out.stdout.strip() == name:
        raise UserError(
            f"git.stateBranch is {name}, the branch checked out here: state needs a branch of "
            "its own",
            hint="use e.g. reconciler/state, or remove git.stateBranch to keep state here",
        )
    return StateBranch(Git(top, dict(environ)), settings.git.remote, name)


def pull_state(
    settings: Settings, environ: Mapping[str, str], *, lock: bool = False, fetch: bool = True
) -> Merged | None:
    """Fetch the state branch and merge this environment's files into the checkout's folders.

    None without ``git.stateBranch``. A fetch that fails is a ``UserError``: planning from a
    missing copy of the state could submit a run twice. ``lock``: hold the apply lock while
    merging (a caller that holds it already, as ``apply``, passes False). ``fetch=False``
    merges the copy fetched last (offline: ``commit --no-push``).
    """
    branch = state_branch(settings, environ)
    if branch is None:
        return None
    if lock:
        with _locked(settings, "reconciler state pull"):
            return pull_state(settings, environ, fetch=fetch)
    try:
        tip = branch.fetch() if fetch else branch.local_tip()
        if tip is None:
            return Merged(source=f"state branch {branch.branch}")
        incoming = branch.files(tip, _folders(settings, branch.git.root), limit=STATE_FILE_LIMIT)
    except GitError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    merged = _merge(settings, branch.git.root, incoming, f"state branch {branch.branch}")
    merged.commit = tip
    return merged


def import_state(settings: Settings, folder: Path, *, lock: bool = False) -> Merged:
    """Merge the state and artifacts of this environment saved under ``folder``.

    ``folder`` mirrors the repository (``state/<env>/...``, ``artifacts/<env>/...``), as the
    apply workflow uploads them. Only regular files are read, each bounded, never through a
    link; anything else there is refused with its path.
    """
    if lock:
        with _locked(settings, "reconciler state import"):
            return import_state(settings, folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder to import state from")
    top = settings.root
    incoming: dict[str, bytes] = {}
    for rel in _folders(settings, top, every_environment=False):
        base = folder / rel
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            name = posix_path(str(path.relative_to(folder)))
            try:
                incoming[name] = read_bounded(path, limit=STATE_FILE_LIMIT, root=folder)
            except FileRefused as exc:
                raise UserError(f"{path}: not imported: the file {exc.reason}") from None
            if len(incoming) > MAX_FILES:
                raise UserError(f"{folder}: more than {MAX_FILES:,} files; not a saved state")
    return _merge(settings, top, incoming, str(folder))


def last_applied(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The specs commit of this environment's newest recorded apply (state branch or HEAD)."""
    branch = state_branch(settings, environ)
    if branch is None:
        return last_applied_commit(Git(settings.root, dict(environ)), "HEAD", settings.environment)
    try:
        tip = branch.fetch()
    except GitError as exc:
        raise UserError(exc.message, hint=exc.hint) from None
    if tip is None:
        return None
    return last_applied_commit(branch.git, tip, settings.environment)


def _locked(settings: Settings, command: str) -> contextlib.AbstractContextManager[None]:
    store = StateStore(settings.state_dir, settings.environment)
    store.ignore_own_files()
    return store.lock(command=command)


def _folders(settings: Settings, top: Path, *, every_environment: bool = True) -> list[str]:
    """The folders merged, as paths from ``top``: state, and this environment's artifacts.

    From the state branch, every environment's state: a promotion rule reads the state of the
    environments a run must succeed in first. From an imported folder, this environment's
    only (a saved copy is trusted for what it was saved for, nothing more).
    """
    state = settings.state_dir if every_environment else settings.state_dir / settings.environment
    folders = [state, settings.artifacts_dir / settings.environment]
    return [posix_path(str(f.resolve().relative_to(top.resolve()))) for f in folders]


def _merge(settings: Settings, top: Path, incoming: Mapping[str, bytes], source: str) -> Merged:
    state_prefix = _folders(settings, top)[0] + "/"
    merged = Merged(source=source)
    writes: dict[Path, list[tuple[Path, bytes]]] = {}
    allowed = tuple(f + "/" for f in _folders(settings, top))
    for name in sorted(incoming):
        theirs = incoming[name]
        if not name.startswith(allowed) or not plain_path(name):
            raise UserError(f"{source}: refusing {name!r}: not a file of the state folders")
        path = top / name
        is_state = name.startswith(state_prefix)
        root = settings.state_dir if is_state else settings.artifacts_dir
        try:
            ours: bytes | None = read_bounded(path, limit=STATE_FILE_LIMIT)
        except FileNotFoundError:
            ours = None
        except (FileRefused, OSError) as exc:
            raise UserError(f"{path}: cannot merge {source} into it ({exc})") from None
        if ours == theirs:
            merged.same += 1
            continue
        if ours is not None and (not is_state or later_step(theirs, ours)):
            merged.kept.append(name)
            continue
        writes.setdefault(root, []).append((path, theirs))
        merged.taken.append(name)
    try:
        for root, items in writes.items():
            Tree(root).write(items)
    except StateError as exc:
        raise UserError(exc.message) from None
    return merged
