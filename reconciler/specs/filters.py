"""The sandbox's filters and its printing: plain data out, every piece of text charged.

Pure. ``bounded`` wraps each allowed Jinja filter so it is a step of the budget, charges the
text it returns, and returns a list where Jinja would return a generator (``unique``, and
``reversed``-like iterators), so ``{{ vars.l | unique }}`` renders ``[1, 2]`` and never
``<generator object ... at 0x...>``. ``replace``, ``tojson`` and ``join`` are replaced by
versions that refuse, before building it, a result past the output cap (a replacement, an
indent, a separator repeated). ``finalizer`` makes what ``{{ ... }}`` prints: text, numbers,
booleans, lists and mappings only, never an object's ``repr`` (a macro, ``loop``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

from jinja2 import Undefined, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reconciler.specs import budget
from reconciler.specs.budget import MAX_OUTPUT_CHARS

MAX_TOJSON_INDENT = 16

_JINJA = ImmutableSandboxedEnvironment().filters
_JINJA_TOJSON = _JINJA["tojson"]
_JINJA_JOIN = _JINJA["join"]


def bounded(given: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """``given`` with ``replace``, ``tojson`` and ``join`` made safe, and every filter bounded."""
    chosen = dict(given)
    replacements: dict[str, Callable[..., Any]] = {
        "replace": _replace,
        "tojson": pass_eval_context(_tojson),
        "join": pass_eval_context(_join),
    }
    chosen.update({name: func for name, func in replacements.items() if name in chosen})
    return {name: _plain_result(func) for name, func in chosen.items()}


def _replace(value: object, old: object, new: object, count: object = None) -> str:
    """The ``replace`` filter, refusing a result over the output cap before building it."""
    text, old_text, new_text = str(value), str(old), str(new)
    times = text.count(old_text) if old_text else len(text) + 1
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        times = min(times, count)
    if len(text) + times * (len(new_text) - len(old_text)) > MAX_OUTPUT_CHARS:
        raise SecurityError(f"replace would make a value over {MAX_OUTPUT_CHARS} characters")
    return text.replace(old_text, new_text, -1 if count is None else int(str(count)))


def _tojson(eval_ctx: EvalContext, value: Any, indent: Any = None) -> str:
    """The ``tojson`` filter, with an indent of at most ``MAX_TOJSON_INDENT`` spaces."""
    if indent is not None and (
        type(indent) is not int or not 0 <= indent <= MAX_TOJSON_INDENT  # not a bool
    ):
        raise SecurityError(
            f"tojson(indent=...) takes a whole number from 0 to {MAX_TOJSON_INDENT}"
        )
    return str(_JINJA_TOJSON(eval_ctx, value, indent))


def _join(eval_ctx: EvalContext, value: Any, d: Any = "", attribute: Any = None) -> str:
    """The ``join`` filter, refusing a separator that would repeat past the output cap."""
    items = value if isinstance(value, list | tuple | str | dict) else list(value)
    if len(str(d)) * max(0, len(items) - 1) > MAX_OUTPUT_CHARS:
        raise SecurityError(f"join would make a value over {MAX_OUTPUT_CHARS} characters")
    return str(_JINJA_JOIN(eval_ctx, items, d, attribute))


def _plain_result(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that is a step, charges the text it makes, and returns a list, not a generator."""

    @functools.wraps(func)  # keeps Jinja's pass_* marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget.step()
        result = func(*args, **kwargs)
        if isinstance(result, str):
            budget.made(len(result))
        elif isinstance(result, Iterator) and not isinstance(result, LoopContext):
            result = list(result)  # unique, and reversed(), map() and the like
        return result

    return bounded


def finalizer(printable: tuple[type, ...] = ()) -> Callable[[Any], Any]:
    """What ``{{ ... }}`` prints: plain data only (and ``printable`` objects), charged as text."""

    def finalize(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            budget.made(len(value))
            return value
        if kind is int or kind is float or kind is bool or value is None:
            return value
        if isinstance(value, (Undefined, *printable)):
            return value  # printing an undefined value raises the undefined-variable error
        if isinstance(value, Generator):
            value = list(value)
        _check_plain(value)
        text = str(value)
        budget.made(len(text))
        return text

    return finalize


def _check_plain(value: Any) -> None:
    """Refuse a value that would print an object's ``repr`` (a macro, a loop, a function)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | int | float | bool) or item is None:
            continue
        if isinstance(item, Undefined):
            str(item)  # raises the undefined-variable error, naming the variable
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            raise SecurityError(
                f"the template prints a {type(item).__name__} object; expected text, numbers, "
                "booleans, lists or mappings"
            )
