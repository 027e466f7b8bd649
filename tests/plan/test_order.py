"""The one dependency order: the planner's depth-first order, without recursion.

``reference`` is the recursive walk the planner used before (kept here as the oracle, on graphs
small enough for recursion): on every graph, cycles and unknown targets included, the iterative
walk gives the same order, and it says "cyclic" exactly when ``find_cycles`` finds one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from hypothesis import given
from hypothesis import strategies as st

from reconciler.model.order import dependency_order, find_cycles

NAMES = [f"n{i}" for i in range(12)]


def reference(edges: Mapping[str, Sequence[str]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2 or name not in edges:
            return
        if state.get(name) == 1:
            return
        state[name] = 1
        for dep in edges[name]:
            visit(dep)
        state[name] = 2
        order.append(name)

    for name in sorted(edges):
        visit(name)
    return order


graphs = st.dictionaries(
    st.sampled_from(NAMES),
    st.lists(st.sampled_from([*NAMES, "unknown"]), max_size=4),
    max_size=len(NAMES),
)


@given(graphs)
def test_the_order_is_the_recursive_walks_order(edges: dict[str, list[str]]) -> None:
    order, cyclic = dependency_order(edges)
    assert order == reference(edges)
    assert sorted(order) == sorted(edges)
    assert cyclic == bool(find_cycles({k: [t for t in v if t in edges] for k, v in edges.items()}))


@given(graphs)
def test_without_a_cycle_every_name_comes_after_its_dependencies(
    edges: dict[str, list[str]],
) -> None:
    acyclic = {name: [t for t in targets if t < name] for name, targets in edges.items()}
    order, cyclic = dependency_order(acyclic)
    assert not cyclic
    position = {name: at for at, name in enumerate(order)}
    for name, targets in acyclic.items():
        assert all(position[t] < position[name] for t in targets if t in acyclic)


def test_a_chain_far_deeper_than_the_recursion_limit() -> None:
    steps = sys.getrecursionlimit() * 20
    chain = {f"s{i:06d}": [f"s{i + 1:06d}"] if i + 1 < steps else [] for i in range(steps)}
    order, cyclic = dependency_order(chain)
    assert not cyclic
    assert order == sorted(chain, reverse=True)
    closed = {**chain, f"s{steps - 1:06d}": ["s000000"]}
    assert dependency_order(closed)[1]
    (cycle,) = find_cycles(closed)
    assert len(cycle) == steps + 1
