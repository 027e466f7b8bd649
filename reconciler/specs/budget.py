"""The budgets of template rendering: steps, text and time, per value and per file.

Pure, but for one reading of a monotonic clock that a caller may replace (tests pass a fake
one). A template of 4 KiB can ask for more than any machine has: nested loops over a list,
a macro that calls itself twice, ``x ~ x`` in a loop. The sandbox (``sandbox``) charges every
loop iteration, call, operator and filter as a step, and every piece of text it makes (printed,
joined, concatenated, formatted) to the ``ValueBudget`` of the value being rendered, which
belongs to the ``FileBudget`` of its spec file. Whichever limit is crossed first stops the
rendering with ``OverBudget``, which the renderer reports at the value's line, naming the
property; once a file's budget is spent, its remaining values are not rendered at all.

``instrument`` rewrites a parsed template so the budget sees what Jinja does not route through
the sandbox: each ``for`` loop's iterable is wrapped (an iteration is a step, and charges the
literal text of its body) and each ``~`` goes through a concatenation that charges its
result. ``format_width`` reads a printf-style format the way ``str.__mod__`` does, so
``"%(a)02999999999d" % {...}`` is refused before Python allocates 3 GB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.exceptions import TemplateError
from jinja2.runtime import Context
from jinja2.visitor import NodeTransformer

MAX_OUTPUT_CHARS = 65536  # characters of one rendered value
MAX_STEPS_PER_VALUE = 100_000
MAX_STEPS_PER_FILE = 1_000_000
MAX_TEXT_PER_VALUE = 1 << 20  # characters made while rendering one value
MAX_OUTPUT_PER_FILE = 16 << 20  # characters of the rendered values of one file
MAX_SECONDS_PER_VALUE = 1.0
MAX_SECONDS_PER_FILE = 10.0

LOOP_FILTER = "reconciler loop"  # a space: no template can name these two filters
CONCAT_FILTER = "reconciler concat"

Clock = Callable[[], float]


class OverBudget(TemplateError):
    """A template asked for more steps, text or time than its value or its file may use."""


class FileBudget:
    """What the values of one spec file have used so far, and whether that is all of it."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.steps = 0
        self.output = 0
        self.seconds = 0.0
        self.spent = False  # a file limit was crossed: render nothing more of this file

    def start(self) -> ValueBudget:
        """The budget of the next value (its own limits, and what is left of the file's)."""
        return ValueBudget(self)

    def close(self, value: ValueBudget) -> None:
        """Add what ``value`` used to the file's account."""
        self.steps += value.steps
        self.seconds += self.clock() - value.started

    def rendered(self, characters: int) -> None:
        """Count a rendered value's output; raise when the file's output is over its limit."""
        self.output += characters
        if self.output > MAX_OUTPUT_PER_FILE:
            self.spent = True
            raise OverBudget(
                f"the rendered values of this file are over {MAX_OUTPUT_PER_FILE:,} characters; "
                f"expected at most {MAX_OUTPUT_PER_FILE:,} per file"
            )


class ValueBudget:
    """The steps, text and time one value's rendering has used."""

    __slots__ = ("file", "started", "steps", "text")

    def __init__(self, file: FileBudget) -> None:
        self.file = file
        self.started = file.clock()
        self.steps = 0
        self.text = 0

    def step(self, count: int = 1) -> None:
        """Charge ``count`` steps, and check the clock."""
        self.steps += count
        if self.steps > MAX_STEPS_PER_VALUE:
            raise OverBudget(
                f"template takes over {MAX_STEPS_PER_VALUE:,} steps (loop iterations, calls, "
                f"operators and filters); expected at most {MAX_STEPS_PER_VALUE:,} per value"
            )
        if self.file.steps + self.steps > MAX_STEPS_PER_FILE:
            self.file.spent = True
            raise OverBudget(
                f"the templates of this file take over {MAX_STEPS_PER_FILE:,} steps; expected "
                f"at most {MAX_STEPS_PER_FILE:,} per file"
            )
        elapsed = self.file.clock() - self.started
        if elapsed > MAX_SECONDS_PER_VALUE:
            raise OverBudget(
                f"template renders for over {MAX_SECONDS_PER_VALUE:g} s; expected at most "
                f"{MAX_SECONDS_PER_VALUE:g} s per value"
            )
        if self.file.seconds + elapsed > MAX_SECONDS_PER_FILE:
            self.file.spent = True
            raise OverBudget(
                f"the templates of this file render for over {MAX_SECONDS_PER_FILE:g} s; "
                f"expected at most {MAX_SECONDS_PER_FILE:g} s per file"
            )

    def made(self, characters: int) -> None:
        """Charge text made while rendering (printed, joined, concatenated, formatted)."""
        self.text += characters
        if self.text > MAX_TEXT_PER_VALUE:
            raise OverBudget(
                f"template makes over {MAX_TEXT_PER_VALUE:,} characters of text while rendering; "
                f"expected at most {MAX_TEXT_PER_VALUE:,} per value"
            )


_CURRENT: ContextVar[ValueBudget | None] = ContextVar("reconciler_template_budget", default=None)


def activate(budget: ValueBudget) -> Any:
    """Make ``budget`` the one charged until ``deactivate(token)``; returns the token."""
    return _CURRENT.set(budget)


def deactivate(token: Any) -> None:
    """Undo ``activate``."""
    _CURRENT.reset(token)


def step(count: int = 1) -> None:
    """Charge steps to the value being rendered (nothing while compiling)."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.step(count)


def made(characters: int) -> None:
    """Charge text to the value being rendered (nothing while compiling)."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.made(characters)


@pass_context  # never folded into a constant at compile time: it must run when rendering
def _loop(context: Context, iterable: Iterable[Any], literal: int) -> Iterator[Any]:  # noqa: ARG001
    """A loop's iterable, charging a step and the body's literal text per iteration."""
    for item in iterable:
        step()
        made(literal)
        yield item


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:  # noqa: ARG001
    """``a ~ b ~ c``: one step, and the text it makes."""
    step()
    text = "".join(map(str, parts))
    made(len(text))
    return text


HIDDEN_FILTERS: dict[str, Callable[..., Any]] = {LOOP_FILTER: _loop, CONCAT_FILTER: _concat}


class _Instrument(NodeTransformer):
    """Routes loops and ``~`` through the hidden filters."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        literal = nodes.Const(_literal_text(node.body), lineno=node.lineno)
        node.iter = self._filter(node.iter, LOOP_FILTER, [literal])
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._filter(nodes.List(list(node.nodes), lineno=node.lineno), CONCAT_FILTER, [])

    def _filter(self, value: nodes.Node, name: str, args: list[nodes.Expr]) -> nodes.Filter:
        made = nodes.Filter(value, name, args, [], None, None, lineno=value.lineno)
        made.set_environment(self.environment)
        return made


def instrument(tree: nodes.Template, environment: Any) -> nodes.Template:
    """``tree`` with every loop and every ``~`` charged to the budget (changes ``tree``)."""
    _Instrument(environment).visit(tree)  # a template node is changed in place, not replaced
    return tree


def _literal_text(body: list[nodes.Node]) -> int:
    """Characters of literal text one pass over ``body`` outputs (nested loops charge theirs)."""
    total = 0
    stack: list[nodes.Node] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.Const) and isinstance(node.value, str):
            total += len(node.value)
        elif not isinstance(node, nodes.For | nodes.Macro | nodes.CallBlock):
            stack.extend(node.iter_child_nodes())
    return total


_FLAGS = frozenset("-+ #0")
_DIGITS = frozenset("0123456789")
UNBOUNDED = 1 << 62


def format_width(text: str) -> int:
    """The largest width or precision in a printf-style format, as ``str.__mod__`` reads it.

    A ``*`` (taken from the arguments) and a number of more than nine digits count as
    ``UNBOUNDED``. Keys in parentheses (``%(name)s``, nested parentheses included) and flags
    are skipped the way Python skips them, so neither hides a width from this check.
    """
    widest = 0
    size = len(text)
    at = text.find("%")
    while at >= 0:
        i = at + 1
        if i < size and text[i] == "(":
            depth = 1
            i += 1
            while i < size and depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
        while i < size and text[i] in _FLAGS:
            i += 1
        for _ in range(2):  # the width, then the precision after a "."
            if i < size and text[i] == "*":
                return UNBOUNDED
            start = i
            while i < size and text[i] in _DIGITS:
                i += 1
            if i - start > 9:
                return UNBOUNDED
            if i > start:
                widest = max(widest, int(text[start:i]))
            if i < size and text[i] == ".":
                i += 1
            else:
                break
        at = text.find("%", i + 1)
    return widest
