"""Spec files to desired runs: find, load, validate, render, digest.

An edge (it reads files) that composes the pure steps: ``documents`` parses YAML with positions,
``schema`` validates against ``schemas/execution.v1.json``, ``render`` runs the templates and
``digest`` fingerprints the result. Every problem in every file is collected; the caller gets
either desired runs or the complete list of located diagnostics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.digest import compute_digest
from reconciler.documents import Document, display_path, iter_yaml_files, load_file
from reconciler.model import DesiredRun, Diagnostic, Location, PathPart, RunRequest
from reconciler.render import Renderer
from reconciler.schema import make_validator, validate_document

API_VERSION = "reconciler/v1"
KINDS = ("Execution",)
SCHEMA_FILE = "execution.v1.json"


@dataclass
class LoadResult:
    """What a set of spec files produced."""

    runs: list[DesiredRun] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0


def schema_path() -> Path:
    """Where the published schema lives: in the wheel, or at the repository root."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_schemas" / SCHEMA_FILE, package.parent / "schemas" / SCHEMA_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(SCHEMA_FILE)


@cache
def load_schema() -> dict[str, Any]:
    """The execution schema as a dict (read once per process)."""
    data: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return data


def load_desired(paths: Sequence[Path], *, root: Path) -> LoadResult:
    """Load every spec under ``paths``; names and positions are shown relative to ``root``."""
    result = LoadResult()
    validator = make_validator(load_schema())
    seen: dict[str, Location] = {}
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        location = Location(file=display_path(path, root))
        result.diagnostics.append(
            Diagnostic(location=location, message="no such file or folder; expected spec files")
        )
    for path in iter_yaml_files(p for p in paths if p.exists()):
        result.files += 1
        documents, problems = load_file(path, shown_as=display_path(path, root))
        result.diagnostics.extend(problems)
        for document in documents:
            run = _desired_run(document, validator, result.diagnostics)
            if run is None:
                continue
            first = seen.get(run.name)
            if first is not None:
                result.diagnostics.append(_duplicate(document, run.name, first))
                continue
            seen[run.name] = run.source
            result.runs.append(run)
    result.diagnostics.sort(key=lambda d: (d.location.file, d.location.line, d.location.col))
    result.runs.sort(key=lambda r: r.name)
    return result


def _desired_run(document: Document, validator: Any, sink: list[Diagnostic]) -> DesiredRun | None:
    data = document.data
    if not isinstance(data, dict):
        message = "expected a mapping with apiVersion, kind, metadata and spec"
        sink.append(Diagnostic(location=document.locate([]), message=message))
        return None
    header = _check_header(document, data)
    if header:
        sink.extend(header)
        return None
    problems = validate_document(validator, document)
    if problems:
        sink.extend(problems)
        return None
    return _render(document, data, sink)


def _check_header(document: Document, data: dict[str, Any]) -> list[Diagnostic]:
    problems = []
    version = data.get("apiVersion")
    if version is not None and version != API_VERSION:
        problems.append(
            Diagnostic(
                location=document.locate(["apiVersion"]),
                message=f'apiVersion: unsupported version "{version}"; supported: "{API_VERSION}"',
                path="$.apiVersion",
            )
        )
    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        supported = ", ".join(f'"{k}"' for k in KINDS)
        problems.append(
            Diagnostic(
                location=document.locate(["kind"]),
                message=f'kind: unsupported kind "{kind}"; supported: {supported}',
                path="$.kind",
            )
        )
    return problems


def _render(document: Document, data: dict[str, Any], sink: list[Diagnostic]) -> DesiredRun | None:
    name = str(data["metadata"]["name"])
    spec = data["spec"]
    context = {"vars": spec.get("vars") or {}, "name": name}
    renderer = Renderer(context, lambda path: document.locate(path))
    dynamic = {
        key: renderer.value(value, ["spec", "dynamicProperties", key])
        for key, value in (spec.get("dynamicProperties") or {}).items()
    }
    process: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(spec.get("processProperties") or []):
        base: list[PathPart] = ["spec", "processProperties", index, "values"]
        values = {k: renderer.value(v, [*base, k]) for k, v in item["values"].items()}
        process.setdefault(str(item["componentId"]).lower(), {}).update(values)
    if renderer.diagnostics:
        sink.extend(renderer.diagnostics)
        return None
    request = RunRequest(
        process_id=str(spec["processId"]).lower(),
        atom_id=str(spec["atomId"]).lower(),
        dynamic_properties=dynamic,
        process_properties=process,
    )
    source = document.locate(["metadata", "name"])
    return DesiredRun(name=name, request=request, digest=compute_digest(request), source=source)


def _duplicate(document: Document, name: str, first: Location) -> Diagnostic:
    return Diagnostic(
        location=document.locate(["metadata", "name"]),
        message=f'metadata.name: duplicate execution name "{name}", first defined at {first}; '
        "expected names unique across the repository",
        path="$.metadata.name",
    )


def spec_paths(given: Iterable[Path], default: Path) -> list[Path]:
    """The paths to load: the ones given, or the configured specs folder."""
    paths = list(given)
    return paths or [default]
