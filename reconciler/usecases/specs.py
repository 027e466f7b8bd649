"""The read-only use cases over spec files: validate them, and show one run's request body.

Neither needs credentials, the network or the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.config.settings import Settings
from reconciler.errors import InvalidSpecs, UserError
from reconciler.model import PropertyValue, ResolvedRequest
from reconciler.plan.planner import no_such
from reconciler.specs.expand import SpecContext
from reconciler.specs.load import LoadResult, load_desired, spec_paths


def validate(
    settings: Settings, paths: Sequence[Path], context: SpecContext, *, cwd: Path
) -> LoadResult:
    """Every run the given spec files (default: the specs folder) define, or their diagnostics."""
    return load_desired(spec_paths(paths, settings.specs_dir), root=cwd, context=context)


def execution_names(settings: Settings, context: SpecContext, *, cwd: Path) -> list[str]:
    """The name of every execution the specs define; none when they do not load."""
    loaded = load_desired([settings.specs_dir], root=cwd, context=context)
    return [] if loaded.diagnostics else [run.name for run in loaded.runs]


def request_body(
    settings: Settings, name: str, context: SpecContext, *, cwd: Path
) -> tuple[dict[str, Any], str]:
    """The exact body run ``name`` would send, secrets shown as references, and its digest."""
    from reconciler.boomi.wire import execution_request_body

    loaded = load_desired([settings.specs_dir], root=cwd, context=context)
    if loaded.diagnostics:
        raise InvalidSpecs(loaded.diagnostics)
    run = next((r for r in loaded.runs if r.name == name), None)
    if run is None:
        message = no_such(name, (r.name for r in loaded.runs))
        listed = ", ".join(r.name for r in loaded.runs[:20]) or "none"
        raise UserError(message, hint="" if message.endswith("?") else f"expected one of: {listed}")
    shown = ResolvedRequest.model_validate(
        {
            "process_id": run.request.process_id,
            "atom_id": run.request.atom_id,
            "dynamic_properties": {k: _shown(v) for k, v in run.request.dynamic_properties.items()},
            "process_properties": {
                c: {k: _shown(v) for k, v in values.items()}
                for c, values in run.request.process_properties.items()
            },
        }
    )
    return execution_request_body(shown), run.digest


def _shown(value: PropertyValue) -> str:
    return value if isinstance(value, str) else f'{{{{ secret("{value.secret}") }}}}'
