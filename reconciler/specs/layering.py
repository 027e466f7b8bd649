"""Set defaults layered under an execution item, each value with the path it came from.

Pure. ``merge`` takes the run fields of ``spec.defaults`` and of one item (or of an
``Execution``'s spec) and returns one ``Merged``: the later layer wins field by field, and
every value keeps the JSON path it was written at, so a problem found later (a template that
fails, an unknown alias) is reported where the user wrote the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import PathPart
from reconciler.specs.language import Policy, RunFields

Path_ = tuple[PathPart, ...]


@dataclass
class Merged:
    """One execution's run fields after layering defaults under the item, with origins."""

    process: tuple[str, str, Path_] | None = None  # ("processId" | "process", value, path)
    runtime: tuple[str, str, Path_] | None = None
    dynamic: dict[str, tuple[Any, Path_]] = field(default_factory=dict)
    components: dict[str, dict[str, tuple[Any, Path_]]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    depends: list[tuple[str, Path_]] = field(default_factory=list)
    policy: dict[str, tuple[Any, Path_]] = field(default_factory=dict)


def merge(layers: Sequence[tuple[RunFields, Path_]]) -> Merged:
    """The run fields of ``layers`` (lowest first, each with the path it sits at) as one."""
    merged = Merged()
    for fields, base in layers:
        given = fields.model_fields_set
        if fields.process_id is not None:
            merged.process = ("processId", fields.process_id, (*base, "processId"))
        if fields.process is not None:
            merged.process = ("process", fields.process, (*base, "process"))
        if fields.atom_id is not None:
            merged.runtime = ("atomId", fields.atom_id, (*base, "atomId"))
        if fields.runtime is not None:
            merged.runtime = ("runtime", fields.runtime, (*base, "runtime"))
        for key, value in (fields.dynamic_properties or {}).items():
            merged.dynamic[key] = (value, (*base, "dynamicProperties", key))
        _merge_components(merged, fields, base)
        merged.vars.update(fields.vars or {})
        if "depends_on" in given and fields.depends_on is not None:
            merged.depends = [
                (name, (*base, "dependsOn", i)) for i, name in enumerate(fields.depends_on)
            ]
        if fields.policy is not None:
            for name in fields.policy.model_fields_set:
                where = (*base, "policy", Policy.model_fields[name].alias or name)
                merged.policy[name] = (getattr(fields.policy, name), where)
    return merged


def _merge_components(merged: Merged, fields: RunFields, base: Path_) -> None:
    """Merge ``processProperties`` in either form: a map of components, or a list of groups."""
    props = fields.process_properties
    if isinstance(props, list):
        for index, group in enumerate(props):
            target = merged.components.setdefault(group.component_id.lower(), {})
            for key, value in group.values.items():
                target[key] = (value, (*base, "processProperties", index, "values", key))
    elif isinstance(props, dict):
        for component, values in props.items():
            target = merged.components.setdefault(component.lower(), {})
            for key, value in values.items():
                target[key] = (value, (*base, "processProperties", component, key))
