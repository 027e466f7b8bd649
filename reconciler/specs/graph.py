"""Repository-wide checks of expanded runs: ``dependsOn`` targets and dependency cycles.

Pure. Runs arrive from every file at once, because a dependency may name an execution defined
in another file. Every unknown target is reported at its ``dependsOn`` entry with the closest
known name; every cycle is reported once, whole (``a → b → c → a``), at the entry of its
alphabetically first member that starts it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence

from reconciler.model import Diagnostic
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
    for cycle in find_cycles(edges):
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


def find_cycles(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected component, as ``[a, b, c, a]`` starting at its least name.

    Tarjan's algorithm, iterative so a long chain cannot exhaust the recursion limit.
    """
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, ())
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index_of:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index_of[target])
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    cycles = []
    for component in components:
        members = set(component)
        start = min(members)
        if len(members) == 1 and start not in edges.get(start, ()):
            continue
        cycles.append(_cycle_through(start, members, edges))
    return sorted(cycles)


def _cycle_through(start: str, members: set[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """The shortest path from ``start`` back to itself inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges.get(node, ())):
                if target not in members:
                    continue
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    return [start, start]
