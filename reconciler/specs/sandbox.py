"""Templates to values: Jinja2 in an immutable sandbox, strict about undefined names.

Pure. Spec property values are rendered one at a time in ``ImmutableSandboxedEnvironment`` with
``StrictUndefined``, no loader (no file access), no globals but ``secret``, an allow-list of
filters, no string multiplication or power, and caps on template and output size
(practices.md D5), and within the step, text and time budgets of ``budget`` (per value and per
file). Every filter returns plain data (a generator becomes a list) and a value prints only
plain data: text, numbers, booleans, lists and mappings, never an object's ``repr``
(``filters``). ``secret("NAME")`` renders as a ``SecretRef``: the value is never known here,
and the names in ``reserved`` (the tool's own credentials) are refused. Errors come back as
located diagnostics, at the line of the template string.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import marshal
from collections.abc import Container, Mapping, Sequence
from types import CodeType
from typing import Any

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reconciler.model import (
    Diagnostic,
    Location,
    Locator,
    PathPart,
    PropertyValue,
    SecretRef,
    dotted,
    json_path,
)
from reconciler.specs import budget, filters, rendercache
from reconciler.specs.budget import MAX_OUTPUT_CHARS as MAX_OUTPUT_CHARS
from reconciler.specs.budget import FileBudget, OverBudget

MAX_TEMPLATE_CHARS = 4096

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

CALL_STEPS = 10
MAX_INT_BITS = 8192  # an integer an operator may make: about 2,466 digits

_SEQUENCES = (str, list, tuple, bytes)

_SECRET_OPEN = "\x00secret:"  # noqa: S105 - a marker, not a secret
_SECRET_CLOSE = "\x00"  # noqa: S105 - a marker, not a secret


class _SpecSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with the operators that turn a tiny template into a huge output refused."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Templates read data; they never need a method. Refusing every callable attribute
        # closes the str.format family of escapes (CVE-2024-56326, CVE-2025-27516) for good.
        return not callable(value) and super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:  # noqa: ARG002 - Jinja's signature
        # Jinja hands out a sandboxed str.format before asking is_safe_attribute; specs need no
        # format method at all, so the question goes to is_safe_attribute, which refuses it.
        return None

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call a template makes (a macro, ``secret()``, ``loop()``) is ten steps.

        A macro call costs Jinja about as much as ten loop iterations. The text a call returns
        is charged too: a macro's literal text reaches the output without passing ``_finalize``
        (``{% call %}``), so every character of a rendering has been charged at least once.
        """
        budget.step(CALL_STEPS)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str):
            budget.made(len(result))
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # Repeating any sequence (a tuple too: ``(0,) * 10**5 * 10**5``) builds an object of
        # any size from a tiny template; printf widths (``'%0999999999d' % 1``, and
        # ``'%(a)0999999999d' % {...}``) do the same; so does squaring an integer in a loop.
        budget.step()
        if operator == "**" or (
            operator == "*" and (isinstance(left, _SEQUENCES) or isinstance(right, _SEQUENCES))
        ):
            raise SecurityError(f"the operator {operator!r} is not allowed in spec templates")
        if operator == "%" and isinstance(left, str) and _too_wide(left):
            raise SecurityError(
                f"a % format width or precision over {MAX_OUTPUT_CHARS} is not allowed"
            )
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list | tuple):
            if len(result) > MAX_OUTPUT_CHARS:
                raise SecurityError(
                    f"the result of {operator!r} is over {MAX_OUTPUT_CHARS} items or characters"
                )
            if isinstance(result, str):
                budget.made(len(result))
        elif isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise SecurityError(
                f"the result of {operator!r} is an integer over {MAX_INT_BITS} bits"
            )
        return result


def _too_wide(text: str) -> bool:
    return budget.format_width(text) > MAX_OUTPUT_CHARS


class _Secret:
    """The ``secret`` global; printed by itself it shows its name, never a function's repr."""

    def __call__(self, name: object) -> str:
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise SecurityError(
                'secret() takes the name of an environment variable, e.g. "API_KEY"'
            )
        return f"{_SECRET_OPEN}{name}{_SECRET_CLOSE}"

    def __repr__(self) -> str:
        return "secret"

    __str__ = __repr__


def _make_environment() -> _SpecSandbox:
    env = _SpecSandbox(undefined=StrictUndefined, autoescape=False, loader=None)
    env.globals.clear()
    env.globals["secret"] = _Secret()
    env.filters = filters.bounded({name: env.filters[name] for name in ALLOWED_FILTERS})
    env.filters.update(budget.HIDDEN_FILTERS)
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "number")}
    env.finalize = filters.finalizer(printable=(_Secret,))
    return env


_ENVIRONMENT = _make_environment()

#: Where compiled templates outlive the process (``use_cache``); None: nowhere.
_DISK: rendercache.Cache | None = None
#: What the values rendered since ``collect_reads`` read from their context; None: not asked.
_COLLECTED: set[tuple[str, str | None]] | None = None


def use_cache(cache: rendercache.Cache | None) -> None:
    """Keep compiled templates in ``cache`` too (forked workers inherit it), or stop."""
    global _DISK
    _DISK = cache


def collect_reads() -> set[tuple[str, str | None]]:
    """Start collecting what rendered templates read from their context (one file's worth)."""
    global _COLLECTED
    _COLLECTED = set()
    return _COLLECTED


def stop_collecting() -> None:
    """Stop collecting reads."""
    global _COLLECTED
    _COLLECTED = None


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> tuple[Template, rendercache.Reads]:
    """Compile a template once per process, with what it reads from its context.

    Compiling costs a thousand times more than rendering, and specs repeat a few templates
    across thousands of executions (set defaults, matrices): without this, planning 10,000
    executions spent a third of its time compiling the same strings again. A failure is not
    cached, so it is reported each time. Loops and ``~`` are routed through the budget.

    Across processes and runs, the compiled code and the reads are kept in the disk cache
    (``use_cache``), under a digest of the source and the cache's fingerprint (the tool's,
    Jinja's and Python's versions and the sandbox's own code). An entry that does not load
    as exactly what was stored is a miss.
    """
    key = ""
    if _DISK is not None:
        key = hashlib.sha256(f"{_DISK.fingerprint}\0{source}".encode()).hexdigest()
        found = _from_disk(_DISK.get("jinja", key))
        if found is not None:
            return found
    tree = _ENVIRONMENT.parse(source)
    reads = rendercache.reads(tree)  # before compiling: the optimizer rewrites the tree
    code = _ENVIRONMENT.compile(budget.instrument(tree, _ENVIRONMENT))
    if _DISK is not None:
        _DISK.put("jinja", key, marshal.dumps((reads, code)))
    return _template(code), reads


def _template(code: Any) -> Template:
    """The template of compiled ``code``, as ``Environment.from_string`` makes it."""
    return _ENVIRONMENT.template_class.from_code(
        _ENVIRONMENT, code, _ENVIRONMENT.make_globals(None), None
    )


def _from_disk(payload: bytes | None) -> tuple[Template, rendercache.Reads] | None:
    """A cached ``(template, reads)``; None when absent or not of the stored shape."""
    if payload is None:
        return None
    try:
        reads, code = marshal.loads(payload)  # noqa: S302 - signed by this user's own key
        if not isinstance(code, CodeType) or not rendercache.is_reads(reads):
            return None
        return _template(code), reads
    except Exception:
        return None


class Renderer:
    """Renders the string values of one spec with one template context."""

    def __init__(
        self,
        context: Mapping[str, Any],
        locate: Locator,
        *,
        budget: FileBudget | None = None,
        reserved: Container[str] = (),
    ) -> None:
        """``budget`` is the spec file's (a fresh one by default); ``reserved`` secret names."""
        self._context = dict(context)
        self._shared: Context | None = None
        self._locate = locate
        self._budget = budget if budget is not None else FileBudget()
        self._reserved = reserved
        self.diagnostics: list[Diagnostic] = []
        self.skipped = False  # a value was not rendered: the file's budget was spent before it

    @property
    def failed(self) -> bool:
        """Whether any value failed (reported) or was skipped (its file's budget is spent)."""
        return self.skipped or bool(self.diagnostics)

    def value(self, raw: object, path: Sequence[PathPart]) -> PropertyValue:
        """Render one property value; a problem is recorded and an empty string returned."""
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if not isinstance(raw, str):
            return str(raw)
        if "{" not in raw:
            return raw
        if self._budget.spent:
            self.skipped = True  # the file's budget is reported once, where it ran out
            return ""
        if len(raw) > MAX_TEMPLATE_CHARS:
            field = dotted(list(path))
            self._fail(path, f"{field}: template is {len(raw)} characters", MAX_TEMPLATE_CHARS)
            return ""
        try:
            output = self._render(raw)
            if len(output) > MAX_OUTPUT_CHARS:  # what it holds was charged: at most 1 MiB
                raise OverBudget(
                    f"rendered value is {len(output)} characters; expected at most "
                    f"{MAX_OUTPUT_CHARS}"
                )
            self._budget.rendered(len(output))
        except (
            TemplateError,
            RecursionError,
            MemoryError,
            ArithmeticError,
            ValueError,
            TypeError,
            OverflowError,
        ) as exc:
            self._render_failed(exc, raw, path)
            return ""
        if "\x00" not in output:
            return output  # the common case: no problem, so no field name to build
        return self._secret_or_text(output, path, dotted(list(path)))

    def _render(self, raw: str) -> str:
        """The template's output for this context, rendered once per distinct input.

        The output of a template follows from its source and the values it reads (the
        sandbox, its filters and ``secret()`` are pure), so equal inputs share one rendering:
        in a large repository most values are the same few templates over the same variables.
        A template without statements (no ``{%``) cannot assign to its context, so the values
        of one spec share one Jinja context instead of copying it for each. The rendering is
        charged to a fresh ``ValueBudget`` of this file's budget.
        """
        template, reads = _compile(raw)
        if _COLLECTED is not None:
            _COLLECTED.update(reads)
        key = rendercache.key(raw, reads, self._context)
        if key is not None and (cached := rendercache.get(key)) is not None:
            return cached
        spending = self._budget.start()
        token = budget.activate(spending)
        try:
            if "{%" in raw:
                context = template.new_context(self._context)
            else:
                if self._shared is None:
                    # Jinja's own new_context(vars) copies its globals and the vars for each
                    # template; the same mapping, made once, is shared by this spec's values.
                    scope = {**_ENVIRONMENT.globals, **self._context}
                    self._shared = template.new_context(scope, shared=True)
                context = self._shared
            output = _ENVIRONMENT.concat(template.root_render_func(context))
        finally:
            budget.deactivate(token)
            self._budget.close(spending)
        if key is not None:
            rendercache.put(key, output)
        return output

    def _render_failed(self, exc: BaseException, raw: str, path: Sequence[PathPart]) -> None:
        field = dotted(list(path))
        if isinstance(exc, TemplateSyntaxError):
            self._report(path, exc.lineno, f"{field}: template syntax error: {exc.message}")
        elif isinstance(exc, UndefinedError):
            self._report(path, 1, f"{field}: {self._undefined(raw, exc.message)}")
        elif isinstance(exc, SecurityError):
            self._report(path, 1, f"{field}: refused by the template sandbox: {exc}")
        elif isinstance(exc, OverBudget):
            self._report(path, 1, f"{field}: {exc}")
        elif isinstance(exc, RecursionError):
            self._report(path, 1, f"{field}: template failed: recursion too deep")
        elif isinstance(exc, MemoryError):
            self._report(path, 1, f"{field}: template failed: the value is too large")
        else:
            self._report(path, 1, f"{field}: template failed: {type(exc).__name__}: {exc}")

    def _undefined(self, raw: str, jinja_message: str | None) -> str:
        """Name the missing variable with its namespace, and list what that namespace holds."""
        for namespace, key in _lookups(raw):
            holder = self._context.get(namespace)
            if isinstance(holder, Mapping) and key not in holder:
                names = sorted(map(str, holder))
                known = ", ".join(names) or "none"
                hint = _NAMESPACE_HINTS.get(namespace, "")
                guess = _guess(key, names, namespace)
                return (
                    f'undefined template variable "{namespace}.{key}"{guess}; '
                    f"defined {namespace}: {known}{hint}"
                )
        name = _undefined_name(jinja_message)
        names = sorted(self._context)
        known = ", ".join([*names, "secret()"])
        guess = _guess(name[1:-1], names) if name.startswith('"') else ""
        return f"undefined template variable {name}{guess}; expected one of: {known}"

    def _secret_or_text(self, output: str, path: Sequence[PathPart], field: str) -> PropertyValue:
        # A NUL only comes from the secret marker (transformed: ``secret("X")|upper``, ``[1:]``).
        if "\x00" not in output:
            return output
        if output.startswith(_SECRET_OPEN) and output.endswith(_SECRET_CLOSE):
            name = output[len(_SECRET_OPEN) : -len(_SECRET_CLOSE)]
            if _SECRET_OPEN not in name and _SECRET_CLOSE not in name:
                if name in self._reserved:
                    self._report(
                        path,
                        1,
                        f'{field}: secret("{name}") is refused: {name} is reserved '
                        "(reconciler's own credentials, GitHub's and the runner's variables and "
                        "secrets.reserved in reconciler.yaml never reach the platform); expected "
                        "a variable set for this process's properties only",
                    )
                    return ""
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


def _guess(name: str, known: list[str], namespace: str = "") -> str:
    """`` (did you mean "vars.region"?)`` for the closest defined name (difflib), or nothing."""
    close = difflib.get_close_matches(name, known, n=1)
    prefix = f"{namespace}." if namespace else ""
    return f' (did you mean "{prefix}{close[0]}"?)' if close else ""


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
