"""Spec files to desired runs: find, load, validate, expand, render, check the whole repository.

An edge (it reads files) that composes the pure steps: ``documents`` parses YAML with positions,
``schema`` validates each document against ``schemas/execution.v1.json`` (generated from
``spec_model``), the pydantic models are built from the validated data, ``expand`` applies set
defaults, matrices, aliases, variables and templates, and ``graph`` checks ``dependsOn`` across
every file. Every problem in every file is collected; the caller gets the desired runs and the
complete list of located diagnostics (an empty list means the specs are valid).
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.model import DesiredRun, Diagnostic, Location, PathPart
from reconciler.specs import sandbox
from reconciler.specs.budget import FileBudget
from reconciler.specs.diagnose import model_disagreement
from reconciler.specs.documents import Document, load_file
from reconciler.specs.expand import Expanded, SpecContext, expand, missing_message
from reconciler.specs.graph import check_dependencies
from reconciler.specs.language import (
    API_VERSION,
    KINDS,
    ExecutionDocument,
    ExecutionSetDocument,
    kind_schema,
)
from reconciler.specs.parallel import ordered_map
from reconciler.specs.rendercache import is_reads, values_digest
from reconciler.specs.schema import SchemaValidator, make_validator, validate_document
from reconciler.specs.sources import display_path, display_paths, iter_yaml_files, read_regular

SCHEMA_FILE = "execution.v1.json"

__all__ = ["API_VERSION", "KINDS", "LoadResult", "SpecContext", "load_desired", "spec_paths"]


@dataclass
class LoadResult:
    """What a set of spec files produced."""

    runs: list[DesiredRun] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    #: Not problems: what the operator should know (property values taken as written).
    notices: list[Diagnostic] = field(default_factory=list)


def schema_path() -> Path:
    """Where the published schema lives: in the wheel, or at the repository root."""
    package = Path(__file__).resolve().parents[1]  # reconciler/
    for candidate in (package / "_schemas" / SCHEMA_FILE, package.parent / "schemas" / SCHEMA_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(SCHEMA_FILE)


@cache
def load_schema() -> dict[str, Any]:
    """The spec schema as a dict (read once per process)."""
    data: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return data


@cache
def _validators() -> dict[str, SchemaValidator]:
    schema = load_schema()
    return {kind: make_validator(kind_schema(schema, kind)) for kind in KINDS}


def load_desired(
    paths: Sequence[Path],
    *,
    root: Path,
    context: SpecContext | None = None,
    jobs: int | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> LoadResult:
    """Load every spec under ``paths``; names and positions are shown relative to ``root``.

    ``context`` carries what lies outside the spec files: config and environment variables,
    aliases, allow-listed environment variables, git facts and ``--var`` overrides. Files are
    loaded independently, by up to ``jobs`` processes (``reconciler.specs.parallel``); everything
    that spans files (unique names, ``dependsOn``) is checked here, in file order, so the
    result never depends on how many processes loaded them. ``meanwhile`` is other work of the
    caller's (reading the state) done by this process while the others load files.
    """
    context = context or SpecContext()
    result = LoadResult()
    sink: list[Diagnostic] = []
    for path in (p for p in paths if not p.exists()):
        location = Location(file=display_path(path, root))
        sink.append(
            Diagnostic(location=location, message="no such file or folder; expected spec files")
        )
    files = iter_yaml_files(p for p in paths if p.exists())
    result.files = len(files)
    shown = display_paths(files, root)
    _validators()  # built once here, not once in each process that loads files
    sandbox.use_cache(context.cache)
    try:
        loaded = ordered_map(
            functools.partial(_load_file, context=context, root=root, settled=_settled(context)),
            list(zip(files, shown, strict=True)),
            jobs=jobs,
            meanwhile=meanwhile,
        )
    finally:
        sandbox.use_cache(None)
    if context.cache is not None:
        context.cache.maybe_prune()
    expanded: list[Expanded] = []
    seen: dict[str, Location] = {}
    known: set[str] = set()
    notices: list[Diagnostic] = []
    for one in loaded:
        sink.extend(one.diagnostics)
        notices.extend(one.notices)
        known.update(one.names)
        for item in one.expanded:
            first = seen.get(item.run.name)
            if first is not None:
                sink.append(_duplicate(item, first))
                continue
            seen[item.run.name] = item.run.source
            expanded.append(item)
    problems, bad = check_dependencies(expanded, known)
    sink.extend(problems)
    result.diagnostics = _in_order(sink)
    result.notices = _in_order(notices)  # a defaults value is noticed once, not once per item
    result.runs = sorted(
        (item.run for item in expanded if item.run.name not in bad), key=lambda r: r.name
    )
    return result


def _in_order(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic once, by file, line and column."""
    return sorted(
        dict.fromkeys(diagnostics),
        key=lambda d: (d.location.file, d.location.line, d.location.col),
    )


@dataclass(frozen=True)
class _FileResult:
    """What one file produced: its runs, problems, notices, every execution name it defines."""

    expanded: list[Expanded]
    diagnostics: list[Diagnostic]
    names: set[str]
    notices: list[Diagnostic]


def _settled(context: SpecContext) -> str | None:
    """A digest of what a file's result follows from besides its bytes and templates' reads.

    The code (the cache's fingerprint), the environment, the aliases, the environments a
    policy may name and the reserved secret names; None when there is no cache, or a part
    cannot be told apart by its ``repr``.
    """
    if context.cache is None:
        return None
    reserved = context.reserved_secrets
    reserved = getattr(reserved, "names", reserved)  # config.secrets.ReservedNames: its extras
    if not isinstance(reserved, frozenset | set | tuple | list):
        return None
    parts = (
        context.cache.fingerprint,
        context.environment,
        sorted(context.process_aliases.items()),
        sorted(context.runtime_aliases.items()),
        context.environments,
        type(context.reserved_secrets).__name__,
        sorted(map(str, reserved)),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _outside(context: SpecContext) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Where each template context name draws from outside the file (``vars``: two places)."""
    return {
        "vars": {"config": context.vars, "override": context.overrides},
        "env": {"env": context.env},
        "git": {"git": context.git},
    }


def _load_file(
    where: tuple[Path, str], *, context: SpecContext, root: Path, settled: str | None = None
) -> _FileResult:
    """One file: from the cache when its inputs are those of a kept result, else loaded.

    A file's result follows from its bytes, where it is shown, ``settled`` (the rest of the
    context that is not read by templates, and the code) and the outside values its templates
    read (``rendercache.reads``: the ``vars``, ``env`` and ``git`` keys, or whole names). Two
    entries are kept: the file's reads, by its bytes (they follow from the bytes alone), and
    its result, by its bytes and the digest of the values those reads find. So a result is
    used again only when the same reads find the same values now, and a file keeps one result
    for each set of values it was planned with (two environments, a pull request's commit and
    the base's). Results with problems are never kept.
    """
    path, shown_as = where
    read = context.read or functools.partial(read_regular, root=root)
    cache = context.cache
    if cache is None or settled is None:
        return _load_uncached(path, shown_as, read, context)
    try:
        raw = read(path)
    except Exception:
        return _load_uncached(path, shown_as, read, context)
    key = hashlib.sha256(f"{settled}\0{shown_as}\0".encode() + raw).hexdigest()
    outside = _outside(context)
    known = _reads(cache.get("reads", key))
    if known is not None:
        digest = values_digest(known, outside)
        kept = _kept(cache.get("file", f"{key}:{digest}")) if digest is not None else None
        if kept is not None:
            return kept
    collected = sandbox.collect_reads()
    try:
        result = _load_uncached(path, shown_as, lambda _path: raw, context)
    finally:
        sandbox.stop_collecting()
    if not result.diagnostics:
        reads = tuple(sorted(collected, key=_order))
        digest = values_digest(reads, outside)
        if digest is not None:
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            cache.put("file", f"{key}:{digest}", payload)
            if reads != known:
                cache.put("reads", key, marshal.dumps(reads))
    return result


def _order(read: tuple[str, str | None]) -> tuple[str, str]:
    return read[0], read[1] or ""


def _reads(payload: bytes | None) -> tuple[tuple[str, str | None], ...] | None:
    """The kept reads of a file, if the entry holds them (and nothing else)."""
    if payload is None:
        return None
    try:
        reads = marshal.loads(payload)  # noqa: S302 - signed by this user's key; plain data
    except Exception:
        return None
    return reads if is_reads(reads) else None


def _kept(payload: bytes | None) -> _FileResult | None:
    """The kept result of a file, if the entry holds one."""
    if payload is None:
        return None
    try:
        result = pickle.loads(payload)  # noqa: S301 - signed by this user's own key
    except Exception:
        return None
    return result if isinstance(result, _FileResult) else None


def _load_uncached(
    path: Path, shown_as: str, read: Callable[[Path], bytes], context: SpecContext
) -> _FileResult:
    """One file: read (bounded), parsed, and each document expanded within the file's budget."""
    documents, problems = load_file(path, shown_as=shown_as, read=read)
    known: set[str] = set()
    expanded: list[Expanded] = []
    notices: list[Diagnostic] = []
    budget = FileBudget()
    for document in documents:
        expanded.extend(_expand_document(document, context, problems, known, budget, notices))
    return _FileResult(expanded=expanded, diagnostics=problems, names=known, notices=notices)


def _expand_document(
    document: Document,
    context: SpecContext,
    sink: list[Diagnostic],
    known: set[str],
    budget: FileBudget,
    notices: list[Diagnostic],
) -> list[Expanded]:
    data = document.data
    if not isinstance(data, dict):
        message = "expected a mapping with apiVersion, kind, metadata and spec"
        sink.append(Diagnostic(location=document.locate([]), message=message))
        return []
    header = _check_header(document, data)
    if header:
        sink.extend(header)
        return []
    problems = validate_document(_validators()[str(data["kind"])], document)
    if problems:
        sink.extend(problems)
        sink.extend(_missing_targets(document, data))
        return []
    model: ExecutionDocument | ExecutionSetDocument
    try:
        if data["kind"] == "Execution":
            model = ExecutionDocument.model_validate(data)
        else:
            model = ExecutionSetDocument.model_validate(data)
    except ValidationError as exc:  # the schema is generated from these models: our bug
        sink.append(model_disagreement(document, exc))
        return []
    expanded = expand(
        model,
        context,
        document.locate,
        lambda path: document.locate(path, key=True),
        budget,
        written=document.written,
    )
    sink.extend(expanded.diagnostics)
    notices.extend(expanded.notices)
    known.update(expanded.names)
    return expanded.runs


def _check_header(document: Document, data: Mapping[str, Any]) -> list[Diagnostic]:
    problems = []
    version = data.get("apiVersion")
    if version != API_VERSION:
        where: list[PathPart] = ["apiVersion"] if "apiVersion" in data else []
        what = f'unsupported version "{version}"' if version is not None else "missing"
        problems.append(
            Diagnostic(
                location=document.locate(where),
                message=f'apiVersion: {what}; supported: "{API_VERSION}"',
                path="$.apiVersion",
            )
        )
    kind = data.get("kind")
    if kind not in KINDS:
        where = ["kind"] if "kind" in data else []
        what = f'unsupported kind "{kind}"' if kind is not None else "missing"
        supported = ", ".join(f'"{k}"' for k in KINDS)
        problems.append(
            Diagnostic(
                location=document.locate(where),
                message=f"kind: {what}; supported: {supported}",
                path="$.kind",
            )
        )
    return problems


def _missing_targets(document: Document, data: Mapping[str, Any]) -> list[Diagnostic]:
    """Report a missing process or runtime even when other schema errors stop the document."""
    spec = data.get("spec")
    if data.get("kind") != "Execution" or not isinstance(spec, dict):
        return []
    problems = []
    for what, keys in (("process", ("processId", "process")), ("runtime", ("atomId", "runtime"))):
        if not any(key in spec for key in keys):
            location = document.locate(["spec"], key=True)
            problems.append(
                Diagnostic(
                    location=location,
                    message=missing_message(["spec"], what),
                    path=f"$.spec.{keys[0]}",
                )
            )
    return problems


def _duplicate(item: Expanded, first: Location) -> Diagnostic:
    return Diagnostic(
        location=item.run.source,
        message=f'{item.name_field}: duplicate execution name "{item.run.name}", first defined at '
        f"{first}; expected names unique across the repository",
        path="$." + item.name_field,
    )


def spec_paths(given: Iterable[Path], default: Path) -> list[Path]:
    """The paths to load: the ones given, or the configured specs folder."""
    paths = list(given)
    return paths or [default]
