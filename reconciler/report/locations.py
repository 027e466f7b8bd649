"""Where a spec is, as the repository names it: the path GitHub and JUnit readers look up.

Pure, over paths the caller has resolved. The loader shows a spec's file relative to the
working directory (``specs.sources.display_path``); a workflow that runs the tool in a
subfolder (the action's ``working-directory``) would then point its annotations and test cases
at ``specs/a.yaml`` where the repository holds ``sub/specs/a.yaml``. Readers of both look a
file up from the repository root, so the path is made relative to that root, and left as the
loader showed it when it lies outside.
"""

from __future__ import annotations

from pathlib import PurePath


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
