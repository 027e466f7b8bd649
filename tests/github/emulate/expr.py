"""The ``${{ ... }}`` expressions of the shipped workflows and the action, evaluated as GitHub does.

Only what they use: the contexts the runner fills in, literals, property access (``a.b`` and
``a['b']``), ``== != && || !`` with GitHub's loose equality, parentheses, and the functions
``always() success() failure() cancelled() format() contains() startsWith() fromJSON()``.
Anything else raises ``ExpressionError``: a workflow the emulation cannot evaluate fails its test
rather than evaluating to an empty string, which would hide the mistake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||<=|>=|[!<>()\[\].,])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


class ExpressionError(AssertionError):
    """An expression the emulation does not know how to evaluate (a test failure, never empty)."""


class Missing(dict[str, Any]):
    """A context property GitHub answers with null (a step output not written yet)."""


class Payload(dict[str, Any]):
    """The event's payload: data, so an absent property is null, as on GitHub."""


def payload(value: Any) -> Any:
    """``value`` with every object a ``Payload``."""
    if isinstance(value, dict):
        return Payload({k: payload(v) for k, v in value.items()})
    if isinstance(value, list):
        return [payload(v) for v in value]
    return value


@dataclass
class Status:
    """The job's status, for ``success()`` and friends."""

    failed: bool = False
    cancelled: bool = False


Lookup = Callable[[str], Any]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read expression {text!r} at {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _string(value: Any) -> str:
    if value is None or isinstance(value, Missing):
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, Missing):
        return False
    return bool(value) if not isinstance(value, float) else value != 0.0


def _number(value: Any) -> float:
    if value is None or isinstance(value, Missing):
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def _equal(left: Any, right: Any) -> bool:
    """GitHub's loose equality: strings compare case-insensitively, mixed types as numbers."""
    if isinstance(left, Missing):
        left = None
    if isinstance(right, Missing):
        right = None
    if type(left) is type(right) or (isinstance(left, str) and isinstance(right, str)):
        if isinstance(left, str):
            return bool(left.lower() == right.lower())
        return bool(left == right)
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    return bool(_number(left) == _number(right))


class _Parser:
    def __init__(self, text: str, lookup: Lookup, status: Status) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.lookup = lookup
        self.status = status

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {self.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()} in {self.text!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if _truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while (token := self.peek()) and token[1] in ("==", "!=", "<", ">", "<=", ">="):
            self.take()
            right = self.unary()
            op = token[1]
            if op == "==":
                value = _equal(value, right)
            elif op == "!=":
                value = not _equal(value, right)
            else:
                a, b = _number(value), _number(right)
                value = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            value: Any = float(text)
        elif kind == "str":
            value = text[1:-1].replace("''", "'")
        elif text == "(":
            value = self.or_()
            self.take(")")
        elif kind == "name" and self.peek() == ("op", "("):
            return self.call(text)
        elif kind == "name" and text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        elif kind == "name":
            path = [text]
            while (token := self.peek()) and token[1] in (".", "["):
                self.take()
                if token[1] == ".":
                    path.append(self.take()[1])
                else:
                    key = self.take()
                    if key[0] != "str":
                        raise ExpressionError(f"only 'string' indexes: {self.text!r}")
                    path.append(key[1][1:-1])
                    self.take("]")
            return self.lookup(".".join(path))
        else:
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        if name == "always" and not args:
            return True
        if name == "success" and not args:
            return not self.status.failed and not self.status.cancelled
        if name == "failure" and not args:
            return self.status.failed
        if name == "cancelled" and not args:
            return self.status.cancelled
        if name == "format" and args:
            template = _string(args[0])
            return re.sub(r"\{(\d+)\}", lambda m: _string(args[1 + int(m[1])]), template)
        if name == "contains" and len(args) == 2:
            if isinstance(args[0], list):
                return any(_equal(item, args[1]) for item in args[0])
            return _string(args[1]).lower() in _string(args[0]).lower()
        if name == "startsWith" and len(args) == 2:
            return _string(args[0]).lower().startswith(_string(args[1]).lower())
        if name == "fromJSON" and len(args) == 1:
            return json.loads(_string(args[0]))
        raise ExpressionError(f"function {name}() with {len(args)} arguments is not emulated")


def evaluate(text: str, lookup: Lookup, status: Status | None = None) -> Any:
    """The value of one expression (the text between ``${{`` and ``}}``)."""
    return _Parser(text, lookup, status or Status()).parse()


def condition(text: str | bool | None, lookup: Lookup, status: Status) -> bool:
    """An ``if:``: an expression with or without ``${{ }}``; a status function is implied."""
    if text is None:
        return not status.failed and not status.cancelled
    if isinstance(text, bool):
        return text
    inner = text.strip()
    if inner.startswith("${{") and inner.endswith("}}") and inner.count("${{") == 1:
        inner = inner[3:-2]
    if not re.search(r"\b(always|success|failure|cancelled)\(\)", inner):
        inner = f"success() && ({inner})"
    return _truthy(evaluate(inner, lookup, status))


def render(value: Any, lookup: Lookup, status: Status | None = None) -> Any:
    """A ``with:``/``env:``/``name:`` value with every ``${{ }}`` replaced.

    A value that is one whole expression keeps its type (a matrix list, a number); text with
    expressions inside becomes a string, as on GitHub.
    """
    if not isinstance(value, str):
        return value
    whole = TEMPLATE.fullmatch(value.strip())
    if whole:
        return evaluate(whole[1], lookup, status)
    return TEMPLATE.sub(lambda m: _string(evaluate(m[1], lookup, status)), value)


def text_of(value: Any) -> str:
    """A rendered value as the string a step sees in its environment."""
    return _string(value)


def lookup_in(contexts: Mapping[str, Any], where: str) -> Lookup:
    """A lookup over nested dicts that fails on any name the contexts do not hold.

    A ``Missing`` dict answers any key with null: GitHub's answer for an output a step did not
    write. Everything else absent is an error naming the path and ``where`` it was evaluated.
    """

    def lookup(path: str) -> Any:
        value: Any = contexts
        walked: list[str] = []
        in_payload = False
        for part in path.split("."):
            walked.append(part)
            if isinstance(value, Missing):
                value = value.get(part, Missing())
                continue
            if isinstance(value, Payload) or (in_payload and value is None):
                in_payload = True
                value = value.get(part) if isinstance(value, Payload) else None
                continue
            if part == "*" or not isinstance(value, dict) or part not in value:
                raise ExpressionError(f"{where}: {'.'.join(walked)} is not emulated (in {path})")
            value = value[part]
        return value

    return lookup
