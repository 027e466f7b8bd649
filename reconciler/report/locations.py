"""Where a spec is, as the repository names it: the path GitHub and JUnit readers look up.

Pure, over paths the caller has resolved. The loader shows a spec's file relative to the
working directory (``specs.sources.display_path``); a workflow that runs the tool in a
subfolder (the action's ``working-directory``) would then point its annotations and test cases
at ``specs/a.yaml`` where the repository holds ``sub/specs/a.yaml``. Readers of both look a
file up from the repository root, so the path is made relative to that root, and left as the
loader showed it when it lies outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePath

from reconciler.model import Location


def repository_path(file: str, *, cwd: PurePath, root: PurePath | None) -> str:
    """``file`` (relative to ``cwd``, or absolute) relative to ``root``, with ``/`` separators.

    ``cwd`` and ``root`` are resolved paths. Without a root, or for a file outside it, the
    path is returned unchanged: a wrong guess would point at another file.
    """
    if root is None or not file:
        return file
    path = PurePath(file)
    joined = _normal(path if path.is_absolute() else cwd / path)
    if not joined.is_relative_to(root) or joined == root:
        return file
    return joined.relative_to(root).as_posix()


def _normal(path: PurePath) -> PurePath:
    """``path`` with ``.`` and ``..`` taken out lexically (the caller resolved the links)."""
    parts: list[str] = []
    for part in path.parts[1:]:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePath(path.parts[0], *parts)


class Sources(Mapping[str, Location]):
    """Name → where its spec declares it, kept small while an apply runs.

    An apply takes these before its runs start (its plan is let go as they end) and needs them
    only for ``junit.xml`` at the end: kept as ``Location`` models they were about 340 bytes an
    execution for the whole apply. Here each is a tuple, and a file named by many executions
    is one string; a ``Location`` is made again when one is looked up.
    """

    def __init__(self, items: Iterable[tuple[str, Location]] = ()) -> None:
        self._where: dict[str, tuple[str, int, int]] = {}
        self._files: dict[str, str] = {}
        for name, location in items:
            self.add(name, location.file, location.line, location.col)

    def add(self, name: str, file: str, line: int, col: int = 1) -> None:
        """Record where ``name`` is declared."""
        self._where[name] = (self._files.setdefault(file, file), line, col)

    def __getitem__(self, name: str) -> Location:
        file, line, col = self._where[name]
        return Location(file=file, line=line, col=col)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)
