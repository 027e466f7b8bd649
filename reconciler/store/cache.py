"""The machine-local cache of work a plan does again: compiled templates, loaded spec files.

An edge (files). Entries are bytes a later process turns back into code (marshal'd template
bytecode) or objects (pickled file results), so a cache file is trusted exactly as much as
the code of the tool itself, and never comes from the checkout (docs/security.md, "The
compile and plan cache"):

- the folder is the user's cache folder (``$RECONCILER_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/reconciler``, else ``~/.cache/reconciler``), never a folder inside the
  repository, which a pull request could fill (``git add -f`` commits an ignored path too);
- the folder must be this user's and closed to others (0700), or the cache is off;
- every entry is signed with HMAC-SHA256 under a random key kept in the folder (0600), and
  an entry whose signature does not verify is a miss, never loaded;
- the name of an entry is a digest of its inputs, so a new tool version, Jinja, Python or a
  changed sandbox never meets an old entry (the ``fingerprint`` is part of every key).

Every failure (a full disk, a folder that vanished, a corrupt or truncated file) is a miss
or a write not made: the cache can make a run faster, never make it fail. Writes are atomic
(a temporary file renamed over), and the folder is pruned to ``MAX_BYTES``, oldest first.
``RECONCILER_NO_CACHE=1`` turns the cache off; so does ``CI`` (set on GitHub's runners, which start
empty: the cache would only cost there) unless ``RECONCILER_CACHE_DIR`` names a folder kept
across runs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
import time
from collections.abc import Mapping
from contextlib import suppress
from functools import cache
from importlib.util import MAGIC_NUMBER
from pathlib import Path

DIR_VARIABLE = "RECONCILER_CACHE_DIR"
OFF_VARIABLE = "RECONCILER_NO_CACHE"
MAX_BYTES = 256 * 1024 * 1024  # the folder is pruned back under this, oldest entries first
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # an entry larger than this is not kept (nor read)
PRUNE_EVERY = 3600.0  # seconds between two prunings
_MAGIC = b"RCC1"
_SIG = 32  # bytes of an HMAC-SHA256


class DiskCache:
    """Signed entries by kind and key in one private folder (see the module's docstring)."""

    def __init__(self, folder: Path, key: bytes) -> None:
        """Use ``folder``, already checked, with the signing ``key``; ``open_cache`` does both."""
        self.folder = folder
        self._key = key
        self.fingerprint = fingerprint()
        self._root = str(folder)
        self._made: set[str] = set()  # shard folders known to exist (a put costs no mkdir)

    def maybe_prune(self) -> None:
        """Prune at most once an hour (a marker file's time says when it was last done)."""
        marker = self.folder / "pruned"
        try:
            if time.time() - marker.stat().st_mtime < PRUNE_EVERY:
                return
        except OSError:
            pass
        with suppress(OSError):
            marker.touch(mode=0o600)
        self.prune()

    def path(self, kind: str, key: str) -> Path:
        """The file of the entry ``(kind, key)``: named by a keyed digest, so unguessable."""
        return Path(self._where(kind, key)[1])

    def _where(self, kind: str, key: str) -> tuple[str, str]:
        """The shard folder and the file of an entry, as strings (a plan makes thousands)."""
        name = hmac.new(self._key, f"{kind}\0{key}".encode(), hashlib.sha256).hexdigest()
        shard = f"{self._root}/{kind}/{name[:2]}"
        return shard, f"{shard}/{name[2:]}"

    def get(self, kind: str, key: str) -> bytes | None:
        """The payload kept for ``(kind, key)``; None when absent, unreadable or not ours."""
        _, path = self._where(kind, key)
        try:
            with open(path, "rb") as handle:  # noqa: PTH123 - a string path: cheaper, and hot
                raw = handle.read(MAX_ENTRY_BYTES + len(_MAGIC) + _SIG + 1)
        except OSError:
            return None
        if len(raw) > MAX_ENTRY_BYTES + len(_MAGIC) + _SIG or not raw.startswith(_MAGIC):
            return None
        signature, payload = raw[len(_MAGIC) : len(_MAGIC) + _SIG], raw[len(_MAGIC) + _SIG :]
        if not hmac.compare_digest(signature, self._sign(kind, key, payload)):
            return None
        return payload

    def put(self, kind: str, key: str, payload: bytes) -> None:
        """Keep ``payload`` for ``(kind, key)``, atomically; a failure only means not kept."""
        if len(payload) > MAX_ENTRY_BYTES:
            return
        shard, path = self._where(kind, key)
        temporary = f"{path}.{secrets.token_hex(6)}.tmp"
        data = _MAGIC + self._sign(kind, key, payload) + payload
        try:
            if shard not in self._made:
                os.makedirs(shard, mode=0o700, exist_ok=True)  # noqa: PTH103
                self._made.add(shard)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)  # noqa: PTH105 - a string path: cheaper, and hot
        except OSError:
            with suppress(OSError):
                os.unlink(temporary)  # noqa: PTH108

    def _sign(self, kind: str, key: str, payload: bytes) -> bytes:
        message = f"{kind}\0{key}\0".encode() + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def prune(self, limit: int = MAX_BYTES) -> None:
        """Delete the oldest entries until the folder holds at most ``limit`` bytes."""
        entries: list[tuple[float, int, Path]] = []
        total = 0
        with suppress(OSError):
            for kind in self.folder.iterdir():
                if not kind.is_dir() or kind.is_symlink():
                    continue
                for shard in kind.iterdir():
                    for entry in shard.iterdir():
                        with suppress(OSError):
                            info = entry.lstat()
                            entries.append((info.st_mtime, info.st_size, entry))
                            total += info.st_size
        if total <= limit:
            return
        for _, size, entry in sorted(entries, key=lambda e: e[0]):
            with suppress(OSError):
                entry.unlink()
                total -= size
            if total <= limit * 3 // 4:  # room for a few runs before the next pruning
                return


@cache
def fingerprint() -> str:
    """What every key includes: the versions and the source of the code that made an entry.

    The tool's version, Jinja's, Python's bytecode magic, and the bytes of every module of
    ``reconciler.specs`` (the sandbox, its filters and budgets, the spec language) and
    ``reconciler.model`` (the values a loaded file holds) and ``config/secrets.py`` (the names
    ``secret()`` refuses): a change to any of them, released or
    not, makes every earlier entry unreachable.
    """
    import jinja2

    import reconciler

    digest = hashlib.sha256()
    for part in (reconciler.__version__, jinja2.__version__, sys.version, MAGIC_NUMBER.hex()):
        digest.update(part.encode() + b"\0")
    package = Path(reconciler.__file__).parent
    code = [*package.glob("specs/*.py"), *package.glob("model/*.py"), package / "config/secrets.py"]
    for module in sorted(code):
        digest.update(module.name.encode() + b"\0")
        with suppress(OSError):
            digest.update(module.read_bytes())
    return digest.hexdigest()


def cache_folder(environ: Mapping[str, str]) -> Path | None:
    """Where the cache lives for this environment; None when it is turned off."""
    if environ.get(OFF_VARIABLE, "").strip() not in ("", "0"):
        return None
    given = environ.get(DIR_VARIABLE, "").strip()
    if given:
        return Path(given)
    if environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        # A fresh runner's cache would only be written, never read: a cold plan costs about a
        # third more with it. A workflow that keeps the folder (actions/cache) names it.
        return None
    base = environ.get("XDG_CACHE_HOME", "").strip()
    if base and Path(base).is_absolute():
        return Path(base) / "reconciler"
    home = environ.get("HOME", "").strip()
    return Path(home) / ".cache" / "reconciler" if home else None


def open_cache(environ: Mapping[str, str], repository: Path) -> DiskCache | None:
    """The cache for this user, or None: turned off, inside ``repository``, or not private.

    The folder is made (0700) if missing; an existing one must be a real folder owned by this
    user, writable by nobody else; its key file likewise (made with 32 random bytes, 0600).
    """
    folder = cache_folder(environ)
    if folder is None:
        return None
    try:
        folder = folder.absolute()
        if _in_a_checkout(folder.resolve(), repository.resolve()):
            return None  # a file a pull request can commit would become code we run
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder, directory=True):
            return None
        key_file = folder / "key"
        if not key_file.exists():
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        if not _private(key_file, directory=False):
            return None
        key = key_file.read_bytes()
    except OSError:
        return None
    return DiskCache(folder, key) if len(key) == 32 else None


def _in_a_checkout(folder: Path, repository: Path) -> bool:
    """Whether ``folder`` is in files a pull request could bring.

    That is the folder of reconciler.yaml and every git checkout around it (reconciler.yaml may
    sit in a subfolder; a runner's workspace is such a checkout).
    """
    roots = {repository}
    roots.update(p for p in (repository, *repository.parents) if os.path.lexists(p / ".git"))
    return any(folder == root or root in folder.parents for root in roots)


def _private(path: Path, *, directory: bool) -> bool:
    """Whether ``path`` is this user's own folder (or file), not a link, closed to others."""
    info = path.lstat()
    kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
    return (
        kind_ok
        and info.st_uid == os.getuid()
        and not info.st_mode
        & (stat.S_IWGRP | stat.S_IWOTH | (0 if directory else stat.S_IRGRP | stat.S_IROTH))
    )
