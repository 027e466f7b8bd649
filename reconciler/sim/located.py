"""YAML parsing and located error messages for world files.

Owns ``WorldError`` and the translation of YAML syntax errors, pydantic validation errors and
cross-reference problems into ``file:line:col: path: message`` lines, sorted by position, all
problems at once. Positions come from ruamel's round-trip nodes (YAML 1.2). It knows nothing
about what a world contains beyond walking a pydantic model's fields for "did you mean".
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

M = TypeVar("M", bound=BaseModel)
PathParts = Sequence[str | int]


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem; ``line == 0`` means the position is unknown (data input)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class WorldError(Exception):
    """A world file is unreadable or invalid.

    ``str()`` is one ``file:line:col: message`` line per problem, sorted by position.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.file, p.line, p.col)))
        super().__init__("\n".join(str(p) for p in self.problems))


def parse_document(text: str, file: str) -> tuple[Any, Any]:
    """Parse one YAML 1.2 document into (plain data, ruamel node tree).

    Raises:
        WorldError: on syntax errors, duplicate keys, or an empty document.
    """
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in str(exc):
            problem = "duplicate key"
        raise WorldError([Problem(file, line, col, f"YAML syntax error: {problem}")]) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        message = f"cannot parse YAML: {type(exc).__name__}"
        raise WorldError([Problem(file, 1, 1, message)]) from None
    if not isinstance(node, CommentedMap):
        raise WorldError([Problem(file, 1, 1, "a world file must be a mapping")])
    return _plain(node), node


def validate_document(
    model: type[M],
    data: Any,
    node: Any,
    file: str,
    check: Callable[[M], Iterable[tuple[PathParts, str]]],
) -> M:
    """Build ``model`` from ``data``, then run ``check``; every problem located through ``node``.

    Raises:
        WorldError: with all problems found.
    """
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        locs = [tuple(e["loc"]) for e in errors]
        # A tuple whose items failed is also reported "too short"; that is noise.
        kept = [
            e
            for e in errors
            if not (e["type"] == "too_short" and any(_below(tuple(e["loc"]), loc) for loc in locs))
        ]
        raise WorldError([_problem(model, file, node, error) for error in kept]) from None
    found = [
        Problem(file, *_locate(node, path), f"{_dotted(path)}: {message}")
        for path, message in check(value)
    ]
    if found:
        raise WorldError(found)
    return value


def _below(parent: tuple[Any, ...], loc: tuple[Any, ...]) -> bool:
    return len(loc) > len(parent) and loc[: len(parent)] == parent


def _problem(model: type[BaseModel], file: str, node: Any, error: Any) -> Problem:
    path: list[str | int] = [p for p in error["loc"] if isinstance(p, str | int)]
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_keys(model, path[:-1])
        guess = difflib.get_close_matches(str(path[-1]), known, n=1)
        hint = (
            f"; did you mean {guess[0]!r}?" if guess else f"; expected one of: {', '.join(known)}"
        )
        message = f"{_dotted(path[:-1])}: unknown key {path[-1]!r}{hint}"
        return Problem(file, *_locate(node, path, key=True), message)
    if kind == "missing":
        message = f"{_dotted(path[:-1])}: missing required key {path[-1]!r}"
        return Problem(file, *_locate(node, path[:-1]), message)
    text = str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", "")).replace(" or ", ", ")
        text = f"{error['input']!r} is not allowed; expected one of: {expected}"
    return Problem(file, *_locate(node, path), f"{_dotted(path)}: {text}")


def _dotted(path: PathParts) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _locate(node: Any, path: PathParts, *, key: bool = False) -> tuple[int, int]:
    """1-based position of the value at ``path`` (or its key), or the deepest ancestor's."""
    if node is None:
        return 0, 0
    line, col = _own(node, (0, 0))
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, CommentedMap) and part in node:
            line, col = node.lc.key(part) if (last and key) else node.lc.value(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
        if not (last and key):
            line, col = _own(node, (line, col))
    return line + 1, col + 1


def _own(node: Any, default: tuple[int, int]) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return default
    return int(lc.line), int(lc.col)


def _known_keys(model: type[BaseModel], path: PathParts) -> list[str]:
    """The keys allowed in the mapping at ``path`` of ``model`` (for "did you mean")."""
    current: type[BaseModel] | None = model
    for part in path:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if (f.alias or name) == part), None
        )
        current = _model_in(field.annotation) if field is not None else None
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _plain(node: Any) -> Any:
    """Convert ruamel round-trip values to plain Python values (bool before int: bool is an int)."""
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node
