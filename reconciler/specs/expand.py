"""Validated spec documents to desired runs: defaults, matrices, aliases, variables, templates.

Pure. Takes one document's pydantic model (built after JSON Schema validation) and a locator
for its positions, and returns one ``Expanded`` per execution (a set with a matrix yields one
per combination), or located diagnostics. Nothing here reads files, the environment or the
clock: config variables, aliases, allow-listed environment variables, git facts and ``--var``
overrides all arrive in a ``SpecContext``. Repository-wide checks (unique names, ``dependsOn``
targets, cycles) live in ``graph.py``.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.model import (
    DesiredRun,
    Diagnostic,
    Location,
    Locator,
    PathPart,
    PropertyValue,
    RunPolicy,
    RunRequest,
    SecretRef,
    SecretUse,
    dotted,
    json_path,
)
from reconciler.model.digest import compute_digest, compute_revision, source_digest
from reconciler.specs.budget import FileBudget
from reconciler.specs.language import (
    NAME_PATTERN,
    PATTERN_WORDS,
    ExecutionDocument,
    ExecutionSetDocument,
)
from reconciler.specs.layering import Merged, Path_, merge
from reconciler.specs.policies import read_policy
from reconciler.specs.rendercache import Cache
from reconciler.specs.sandbox import Renderer

MAX_COMBINATIONS = 256


@dataclass(frozen=True)
class SpecContext:
    """Everything outside the spec files that shapes what they render to, and how they are read.

    ``reserved_secrets`` are names ``secret()`` refuses (the tool's own credentials and the
    config's ``secrets.reserved``); ``read`` reads a spec file's bytes (``reconciler.files``'s
    bounded reader, from the configuration; ``sources.read_regular`` when not given).
    """

    environment: str = "default"
    vars: Mapping[str, Any] = field(default_factory=dict)  # config vars, then environment vars
    process_aliases: Mapping[str, str] = field(default_factory=dict)
    runtime_aliases: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # only the allow-listed variables
    git: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)  # --var key=value
    reserved_secrets: Container[str] = frozenset()
    read: Callable[[Path], bytes] | None = None
    #: The environments reconciler.yaml defines (``policy.promote`` may name only these);
    #: None leaves the names unchecked.
    environments: tuple[str, ...] | None = None
    #: Where compiled templates and loaded files outlive the process (``store.cache``);
    #: None: nowhere, everything is computed again.
    cache: Cache | None = None


@dataclass(frozen=True)
class Expanded:
    """One desired run, plus where its ``dependsOn`` entries are written."""

    run: DesiredRun
    name_field: str = "metadata.name"
    depends_at: tuple[Location, ...] = ()
    depends_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Item:
    """One execution item, resolved once for all of its matrix combinations."""

    merged: Merged
    process_id: str | None
    atom_id: str | None
    policy: RunPolicy
    variables: dict[str, Any]
    source: Location
    name_field: str
    depends_at: tuple[Location, ...]
    depends_paths: tuple[str, ...]
    failed: bool  # the process, the runtime or the policy had a problem
    written: str  # the source_digest of the item's request fields as written (its revision)


#: The text a scalar at a path is written as, when YAML reads it as other than text
#: (``documents.Document.written``).
Written = Callable[[Sequence[PathPart]], str | None]


class _Expander:
    """Turns one document into expanded runs, collecting diagnostics."""

    def __init__(
        self,
        context: SpecContext,
        locate: Locator,
        locate_key: Locator,
        budget: FileBudget,
        written: Written,
    ) -> None:
        self.context = context
        self.locate = locate
        self.locate_key = locate_key
        self.budget = budget
        self.written = written
        self.diagnostics: list[Diagnostic] = []
        self.notices: list[Diagnostic] = []  # property values taken as written
        self.names: list[str] = []  # every execution name, including those that failed to build
        self.env = dict(context.env)  # shared by every run's template context (read-only there)
        self.git = dict(context.git)

    def renderer(self, context: Mapping[str, Any]) -> Renderer:
        """A renderer for one run's values, charged to this file's budget."""
        return Renderer(
            context, self.locate, budget=self.budget, reserved=self.context.reserved_secrets
        )

    def problem(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        location = self.locate_key(path) if key else self.locate(path)
        self.diagnostics.append(
            Diagnostic(location=location, message=message, path=json_path(list(path)))
        )

    def execution(self, doc: ExecutionDocument) -> list[Expanded]:
        meta = doc.metadata
        self.names.append(meta.name)
        merged = merge([(doc.spec, ("spec",))])
        item = self.prepare(merged, item_path=("spec",), name_path=("metadata", "name"))
        one = self.build(
            item,
            name=meta.name,
            matrix={},
            labels=dict(meta.labels),
            description=meta.description,
        )
        return [one] if one else []

    def execution_set(self, doc: ExecutionSetDocument) -> list[Expanded]:
        spec = doc.spec
        combos = self.combinations(spec.matrix or {})
        out: list[Expanded] = []
        for index, item in enumerate(spec.executions):
            item_path: Path_ = ("spec", "executions", index)
            merged = merge([(spec.defaults, ("spec", "defaults")), (item, item_path)])
            prepared: _Item | None = None  # what every combination of the item shares
            names: dict[str, dict[str, Any]] = {}
            for combo in combos:
                name = self.name(item.name, (*item_path, "name"), merged, combo)
                if name is None:
                    continue
                if name in names and combo:
                    self.same_name(item.name, (*item_path, "name"), name, names[name], combo)
                    continue
                names[name] = combo
                self.names.append(name)
                if prepared is None:
                    prepared = self.prepare(merged, item_path, (*item_path, "name"))
                one = self.build(
                    prepared,
                    name=name,
                    matrix=combo,
                    labels={**doc.metadata.labels, **item.labels},
                    description=item.description or doc.metadata.description,
                )
                if one:
                    out.append(one)
        return out

    def combinations(self, matrix: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
        axes = list(matrix)
        total = 1
        for axis in axes:
            total *= len(matrix[axis])
        if total > MAX_COMBINATIONS:
            self.problem(
                ("spec", "matrix"),
                f"spec.matrix: {total} combinations; expected at most {MAX_COMBINATIONS}",
            )
            return []
        return [
            dict(zip(axes, values, strict=True)) for values in itertools.product(*matrix.values())
        ]

    def variables(self, merged: Merged) -> dict[str, Any]:
        # Precedence, lowest to highest: config, environment, set defaults, spec, --var.
        return {**self.context.vars, **merged.vars, **self.context.overrides}

    def name(self, raw: str, path: Path_, merged: Merged, combo: Mapping[str, Any]) -> str | None:
        renderer = self.renderer({"vars": self.variables(merged), "matrix": dict(combo)})
        value = renderer.value(raw, path)
        self.diagnostics.extend(renderer.diagnostics)
        if renderer.failed:
            return None
        if not isinstance(value, str):
            self.problem(path, f"{dotted(list(path))}: a name cannot be a secret; expected text")
            return None
        if not re.fullmatch(NAME_PATTERN, value):
            shown = (
                _quoted(value)
                if value == raw
                else f"{_quoted(value)} (rendered from {_quoted(raw)})"
            )
            self.problem(
                path,
                f"{dotted(list(path))}: {shown} is not a valid name; "
                f"expected {PATTERN_WORDS[NAME_PATTERN]}",
            )
            return None
        return value

    def same_name(
        self, raw: str, path: Path_, name: str, first: Mapping[str, Any], combo: Mapping[str, Any]
    ) -> None:
        axes = ", ".join(f"{k}={v}" for k, v in first.items())
        other = ", ".join(f"{k}={v}" for k, v in combo.items())
        example = "-".join(["{{ matrix.%s }}" % k for k in combo])  # noqa: UP031 - Jinja braces
        self.problem(
            path,
            f'{dotted(list(path))}: "{raw}" renders the same name "{name}" for matrix {axes} '
            f"and {other}; expected a name template that uses every matrix axis, e.g. "
            f'"{name}-{example}"',
        )

    def prepare(self, merged: Merged, item_path: Path_, name_path: Path_) -> _Item:
        """What one execution item gives every run it defines (each matrix combination)."""
        before = len(self.diagnostics)
        merged = self.as_written(merged)
        process_id = self.resolve(merged.process, "process", item_path)
        atom_id = self.resolve(merged.runtime, "runtime", item_path)
        return _Item(
            merged=merged,
            process_id=process_id,
            atom_id=atom_id,
            policy=self.policy(merged) or RunPolicy(),
            variables=self.variables(merged),
            source=self.locate(name_path),
            name_field=dotted(list(name_path)),
            depends_at=tuple(self.locate(path) for _, path in merged.depends),
            depends_paths=tuple(dotted(list(path)) for _, path in merged.depends),
            failed=len(self.diagnostics) > before,
            written=source_digest(_as_written(merged)),
        )

    def build(
        self,
        item: _Item,
        *,
        name: str,
        matrix: Mapping[str, Any],
        labels: dict[str, str],
        description: str,
    ) -> Expanded | None:
        merged = item.merged
        context = {
            "vars": item.variables,
            "matrix": dict(matrix),
            "name": name,
            "env": self.env,
            "git": self.git,
        }
        renderer = self.renderer(context)
        dynamic: dict[str, PropertyValue] = {
            key: renderer.value(value, path) for key, (value, path) in merged.dynamic.items()
        }
        components = {
            component: {key: renderer.value(value, path) for key, (value, path) in values.items()}
            for component, values in merged.components.items()
        }
        depends: list[str] = []
        if merged.depends:
            names_renderer = self.renderer({"vars": item.variables, "matrix": dict(matrix)})
            for raw, path in merged.depends:
                value = names_renderer.value(raw, path)
                depends.append(value if isinstance(value, str) else "")
            renderer.diagnostics.extend(names_renderer.diagnostics)
            renderer.skipped |= names_renderer.skipped
        self.diagnostics.extend(renderer.diagnostics)
        if renderer.failed or item.failed or item.process_id is None or item.atom_id is None:
            return None
        request = RunRequest(
            process_id=item.process_id,
            atom_id=item.atom_id,
            dynamic_properties=dynamic,
            process_properties=components,
        )
        run = DesiredRun(
            name=name,
            request=request,
            digest=compute_digest(request),
            source=item.source,
            revision=compute_revision(item.written, name, matrix),
            policy=item.policy,
            depends_on=tuple(depends),
            labels=labels,
            description=description,
            secret_uses=self.secret_uses(merged, dynamic, components),
        )
        return Expanded(
            run=run,
            name_field=item.name_field,
            depends_at=item.depends_at,
            depends_paths=item.depends_paths,
        )

    def as_written(self, merged: Merged) -> Merged:
        """``merged`` with each property value YAML would rewrite replaced by its text.

        Property values are text on the platform. A value YAML reads as a number, a boolean
        or a date is sent as written (``0755``, ``1.50``, ``1e3``, ``True``), and where that
        differs from what YAML reads a notice says so. A value whose text is what YAML reads
        (``8080``, ``true``, ``1.5``) is kept as it is, so its digest and revision do not move.
        """
        dynamic = {key: self.text_of(value, path) for key, (value, path) in merged.dynamic.items()}
        components = {
            component: {key: self.text_of(value, path) for key, (value, path) in values.items()}
            for component, values in merged.components.items()
        }
        return dataclasses.replace(merged, dynamic=dynamic, components=components)

    def text_of(self, value: Any, path: Path_) -> tuple[Any, Path_]:
        """One property value and its path; the value as written if YAML would rewrite it."""
        if isinstance(value, str) and not value[:1].isdigit():
            return value, path  # text: only a date YAML read starts with a digit, as all do
        written = self.written(path)
        if written is None:
            return value, path
        read = _as_read(value)
        if written == read:
            return value, path
        location = self.locate(path)
        self.notices.append(
            Diagnostic(
                location=location,
                message=f"{dotted(list(path))}: taken as written: {_quoted(written)} (YAML "
                f"reads {read}); quote it to say it is text",
                path=json_path(list(path)),
            )
        )
        return written, path

    def secret_uses(
        self,
        merged: Merged,
        dynamic: Mapping[str, PropertyValue],
        components: Mapping[str, Mapping[str, PropertyValue]],
    ) -> tuple[SecretUse, ...]:
        """Where each rendered value that is a secret reference is written (rare: located)."""
        found = [(dynamic[key], path) for key, (_, path) in merged.dynamic.items()]
        for component, values in merged.components.items():
            found.extend((components[component][key], path) for key, (_, path) in values.items())
        return tuple(
            SecretUse(secret=value.secret, path=dotted(list(path)), at=self.locate(path))
            for value, path in found
            if isinstance(value, SecretRef)
        )

    def resolve(
        self, slot: tuple[str, str, Path_] | None, what: str, item_path: Path_
    ) -> str | None:
        id_field = "processId" if what == "process" else "atomId"
        if slot is None:
            self.problem(item_path, missing_message(item_path, what), key=len(item_path) == 1)
            return None
        field_name, value, path = slot
        if field_name == id_field:
            return value.lower()
        aliases = (
            self.context.process_aliases if what == "process" else self.context.runtime_aliases
        )
        if value in aliases:
            return aliases[value].lower()
        section = "processes" if what == "process" else "runtimes"
        guess = difflib.get_close_matches(value, list(aliases), n=1)
        if guess:
            hint = f'did you mean "{guess[0]}"?'
        elif aliases:
            hint = f"expected one of: {', '.join(sorted(aliases))}"
        else:
            hint = f"expected an alias defined under aliases.{section} in reconciler.yaml"
        env = self.context.environment
        self.problem(
            path,
            f'{dotted(list(path))}: unknown {what} alias "{value}" (environment "{env}"); {hint}',
        )
        return None

    def policy(self, merged: Merged) -> RunPolicy | None:
        return read_policy(merged.policy, self.context.environments, self.problem)


def _as_written(merged: Merged) -> dict[str, Any]:
    """The request fields of one execution item as written: what its revision covers.

    Templates before rendering and aliases before resolving (each environment resolves them
    its own way), and the spec's own ``vars``; never the policy, labels, description or
    ``dependsOn``, which do not change what is sent.
    """
    return {
        "process": _target(merged.process),
        "runtime": _target(merged.runtime),
        "dynamicProperties": {key: value for key, (value, _) in merged.dynamic.items()},
        "processProperties": {
            component: {key: value for key, (value, _) in values.items()}
            for component, values in merged.components.items()
        },
        "vars": merged.vars,
    }


def _as_read(value: Any) -> str:
    """The text YAML's reading of a value gives (what was sent before values were as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _target(slot: tuple[str, str, Path_] | None) -> list[str] | None:
    """A process or runtime as written: ``[field, value]``, an id in lower case like the digest."""
    if slot is None:
        return None
    field_name, value, _ = slot
    return [field_name, value if field_name in ("process", "runtime") else value.lower()]


def _quoted(text: str) -> str:
    """``text`` in double quotes, with its control characters escaped as Python does."""
    return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in text) + '"'


def missing_message(item_path: Sequence[PathPart], what: str) -> str:
    """The message for an execution that names no process (or no runtime) at all."""
    id_field = "processId" if what == "process" else "atomId"
    noun = "process component to run" if what == "process" else "runtime to run it on"
    where = " (in the execution or in spec.defaults)" if len(item_path) > 1 else ""
    return (
        f'{dotted([*item_path, id_field])}: missing required field "{id_field}"; expected the id '
        f'of the {noun} (a GUID), or "{what}": an alias from reconciler.yaml{where}'
    )


@dataclass(frozen=True)
class ExpandResult:
    """What one document expanded to.

    ``names`` include executions that failed to build, so that a ``dependsOn`` on them is not
    also reported as unknown; ``notices`` say which property values were taken as written.
    """

    runs: list[Expanded]
    diagnostics: list[Diagnostic]
    names: list[str]
    notices: list[Diagnostic]


def expand(
    model: ExecutionDocument | ExecutionSetDocument,
    context: SpecContext,
    locate: Locator,
    locate_key: Locator,
    budget: FileBudget | None = None,
    written: Written | None = None,
) -> ExpandResult:
    """Expand one validated document into its runs, problems, names and notices.

    Templates are charged to ``budget``, the budget of the document's file (a fresh one when
    not given). ``written`` gives a scalar's text as written (``Document.written``); without
    it, values are taken as YAML reads them.
    """
    expander = _Expander(
        context, locate, locate_key, budget or FileBudget(), written or (lambda _path: None)
    )
    if isinstance(model, ExecutionDocument):
        runs = expander.execution(model)
    else:
        runs = expander.execution_set(model)
    return ExpandResult(runs, expander.diagnostics, expander.names, expander.notices)
