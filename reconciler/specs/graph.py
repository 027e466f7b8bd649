"""Repository-wide checks of expanded runs: ``dependsOn`` targets and dependency cycles.

Pure. Runs arrive from every file at once, because a dependency may name an execution defined
in another file. Every unknown target is reported at its ``dependsOn`` entry with the closest
known name; every cycle is reported once, whole (``a → b → c → a``), at the entry of its
alphabetically first member that starts it. The order and the cycles themselves come from
``model.order``, the one implementation the planner shares.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence

from reconciler.model import Diagnostic
from reconciler.model.order import dependency_order, find_cycles
from reconciler.specs.expand import Expanded


def check_dependencies(
    runs: Sequence[Expanded], known: Collection[str] = ()
) -> tuple[list[Diagnostic], set[str]]:
    """Unknown ``dependsOn`` targets and cycles among ``runs`` (names already unique).

    ``known`` holds names defined by executions that failed to build: depending on one of them
    is not a second error. Returns the problems and the names of the runs they concern.
    """
    bad: set[str] = set()
    by_name = {item.run.name: item for item in runs}
    problems: list[Diagnostic] = []
    edges: dict[str, list[str]] = {}
    for item in runs:
        targets = edges.setdefault(item.run.name, [])
        for index, dep in enumerate(item.run.depends_on):
            if dep in by_name:
                targets.append(dep)
                continue
            if dep in known or not dep:
                continue
            bad.add(item.run.name)
            guess = difflib.get_close_matches(dep, sorted({*by_name, *known}), n=1)
            hint = (
                f'did you mean "{guess[0]}"?'
                if guess
                else "expected the name of an execution defined in the specs"
            )
            problems.append(
                Diagnostic(
                    location=item.depends_at[index],
                    message=f'{item.depends_paths[index]}: unknown execution "{dep}"; {hint}',
                    path="$." + item.depends_paths[index],
                )
            )
    _, cyclic = dependency_order(edges)  # the walk ``plan`` takes meets every cycle
    for cycle in find_cycles(edges) if cyclic else ():
        bad.update(cycle)
        start = by_name[cycle[0]]
        index = start.run.depends_on.index(cycle[1])
        shown = " → ".join(cycle)
        problems.append(
            Diagnostic(
                location=start.depends_at[index],
                message=f"{start.depends_paths[index]}: dependency cycle {shown}; expected "
                "dependsOn to form no cycle",
                path="$." + start.depends_paths[index],
            )
        )
    return problems, bad
