"""Templates to values: Jinja2 in an immutable sandbox, strict about undefined names.

Pure. Spec property values are rendered one at a time in ``ImmutableSandboxedEnvironment`` with
``StrictUndefined``, no loader (no file access), no globals but ``secret``, an allow-list of
filters, no string multiplication or power, and caps on template and output size
(practices.md D5). ``secret("NAME")`` renders as a ``SecretRef``: the value is never known here.
Errors come back as located diagnostics, at the line of the template string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reconciler.model import (
    Diagnostic,
    Location,
    PathPart,
    PropertyValue,
    SecretRef,
    dotted,
    json_path,
)

MAX_TEMPLATE_CHARS = 4096
MAX_OUTPUT_CHARS = 65536

ALLOWED_FILTERS = (
    "default",
    "d",
    "lower",
    "upper",
    "title",
    "capitalize",
    "replace",
    "trim",
    "int",
    "float",
    "string",
    "tojson",
    "join",
    "first",
    "last",
    "length",
    "truncate",
    "urlencode",
    "round",
    "abs",
    "min",
    "max",
    "sort",
    "unique",
)

_SECRET_OPEN = "\x00secret:"  # noqa: S105 - a marker, not a secret
_SECRET_CLOSE = "\x00"  # noqa: S105 - a marker, not a secret


class _SpecSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with the operators that turn a tiny template into a huge output refused."""

    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Templates read data; they never need a method. Refusing every callable attribute
        # closes the str.format family of escapes (CVE-2024-56326, CVE-2025-27516) for good.
        return not callable(value) and super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:  # noqa: ARG002 - Jinja's signature
        # Jinja hands out a sandboxed str.format before asking is_safe_attribute; specs need no
        # format method at all, so the question goes to is_safe_attribute, which refuses it.
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" or (
            operator == "*" and (isinstance(left, str | list) or isinstance(right, str | list))
        ):
            raise SecurityError(f"the operator {operator!r} is not allowed in spec templates")
        return super().call_binop(context, operator, left, right)


def _secret(name: object) -> str:
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise SecurityError('secret() takes the name of an environment variable, e.g. "API_KEY"')
    return f"{_SECRET_OPEN}{name}{_SECRET_CLOSE}"


def _make_environment() -> _SpecSandbox:
    env = _SpecSandbox(undefined=StrictUndefined, autoescape=False, loader=None)
    env.globals.clear()
    env.globals["secret"] = _secret
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "number")}
    return env


_ENVIRONMENT = _make_environment()

Locator = Callable[[Sequence[PathPart]], Location]


class Renderer:
    """Renders the string values of one spec with one template context."""

    def __init__(self, context: Mapping[str, Any], locate: Locator) -> None:
        self._context = dict(context)
        self._locate = locate
        self.diagnostics: list[Diagnostic] = []

    def value(self, raw: object, path: Sequence[PathPart]) -> PropertyValue:
        """Render one property value; a problem is recorded and an empty string returned."""
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if not isinstance(raw, str):
            return str(raw)
        if "{" not in raw:
            return raw
        field = dotted(list(path))
        if len(raw) > MAX_TEMPLATE_CHARS:
            self._fail(path, f"{field}: template is {len(raw)} characters", MAX_TEMPLATE_CHARS)
            return ""
        try:
            output = _ENVIRONMENT.from_string(raw).render(self._context)
        except TemplateSyntaxError as exc:
            self._report(path, exc.lineno, f"{field}: template syntax error: {exc.message}")
            return ""
        except UndefinedError as exc:
            self._report(path, 1, f"{field}: {self._undefined(raw, exc.message)}")
            return ""
        except SecurityError as exc:
            self._report(path, 1, f"{field}: refused by the template sandbox: {exc}")
            return ""
        except RecursionError:
            self._report(path, 1, f"{field}: template failed: recursion too deep")
            return ""
        except (TemplateError, ArithmeticError, ValueError, TypeError, OverflowError) as exc:
            self._report(path, 1, f"{field}: template failed: {type(exc).__name__}: {exc}")
            return ""
        if len(output) > MAX_OUTPUT_CHARS:
            self._fail(
                path, f"{field}: rendered value is {len(output)} characters", MAX_OUTPUT_CHARS
            )
            return ""
        return self._secret_or_text(output, path, field)

    def _undefined(self, raw: str, jinja_message: str | None) -> str:
        """Name the missing variable with its namespace, and list what that namespace holds."""
        for namespace, key in _lookups(raw):
            holder = self._context.get(namespace)
            if isinstance(holder, Mapping) and key not in holder:
                known = ", ".join(sorted(map(str, holder))) or "none"
                hint = _NAMESPACE_HINTS.get(namespace, "")
                return (
                    f'undefined template variable "{namespace}.{key}"; '
                    f"defined {namespace}: {known}{hint}"
                )
        name = _undefined_name(jinja_message)
        known = ", ".join([*sorted(self._context), "secret()"])
        return f"undefined template variable {name}; expected one of: {known}"

    def _secret_or_text(self, output: str, path: Sequence[PathPart], field: str) -> PropertyValue:
        if _SECRET_OPEN not in output:
            return output
        if output.startswith(_SECRET_OPEN) and output.endswith(_SECRET_CLOSE):
            name = output[len(_SECRET_OPEN) : -len(_SECRET_CLOSE)]
            if _SECRET_OPEN not in name and _SECRET_CLOSE not in name:
                return SecretRef(secret=name)
        hint = 'expected the whole value to be {{ secret("NAME") }}, with no text around it'
        self._report(path, 1, f"{field}: a secret cannot be combined with other text; {hint}")
        return ""

    def _fail(self, path: Sequence[PathPart], what: str, limit: int) -> None:
        self._report(path, 1, f"{what}; expected at most {limit}")

    def _report(self, path: Sequence[PathPart], template_line: int | None, message: str) -> None:
        location = self._locate(path)
        # A block scalar's template line n sits n lines below the key; a flow scalar has one line.
        offset = max(0, (template_line or 1) - 1)
        location = Location(file=location.file, line=location.line + offset, col=location.col)
        self.diagnostics.append(
            Diagnostic(location=location, message=message, path=json_path(list(path)))
        )


_NAMESPACE_HINTS = {
    "env": " (only variables listed in templateEnv of reconciler.yaml, and set)",
    "matrix": " (the axes of the set's matrix)",
}


def _lookups(raw: str) -> list[tuple[str, str]]:
    """Every ``ns.key`` / ``ns["key"]`` lookup on a top-level name in a template, in order."""
    try:
        tree = _ENVIRONMENT.parse(raw)
    except TemplateError:
        return []
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            found.append((node.node.name, str(node.attr)))
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.node, nodes.Name)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            found.append((node.node.name, node.arg.value))
    return sorted(found, key=lambda item: raw.find(item[1]))


def _undefined_name(message: str | None) -> str:
    """Jinja's "'dict object' has no attribute 'x'" or "'x' is undefined" → '"x"'."""
    text = message or ""
    for marker in ("has no attribute '", "'"):
        start = text.find(marker)
        if start >= 0:
            start += len(marker)
            end = text.find("'", start)
            if end > start:
                return f'"{text[start:end]}"'
    return text
