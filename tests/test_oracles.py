"""The oracles (every task's) against an independent brute-force definition, on textbook and
random graphs."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_semloss.oracles import (
    build_graph,
    edges_are_acyclic,
    has_directed_path,
    is_d_separated,
)
from causal_semloss.tasks import get_task


def _descendants(edges, node):
    children = {}
    for u, v in edges:
        children.setdefault(u, []).append(v)
    seen, stack = set(), [node]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def brute_force_d_separated(edges, x, y, given):
    """Definition: every simple undirected path x..y is blocked by `given` (no cut-off)."""
    directed = set(edges)
    neighbours = {}
    for u, v in edges:
        neighbours.setdefault(u, set()).add(v)
        neighbours.setdefault(v, set()).add(u)

    def blocked(path):
        for a, m, b in zip(path, path[1:], path[2:], strict=False):
            collider = (a, m) in directed and (b, m) in directed
            if collider:
                if m not in given and not (_descendants(edges, m) & set(given)):
                    return True
            elif m in given:
                return True
        return False

    def paths(node, visited):
        if node == y:
            yield list(visited)
            return
        for nxt in neighbours.get(node, ()):
            if nxt not in visited:
                visited.append(nxt)
                yield from paths(nxt, visited)
                visited.pop()

    return all(blocked(p) for p in paths(x, [x]))


def brute_force_path(edges, source, target):
    return target in _descendants(edges, source)


@st.composite
def dag_queries(draw):
    n = draw(st.integers(2, 7))
    names = [f"n{i}" for i in draw(st.permutations(range(n)))]
    pairs = list(itertools.combinations(range(n), 2))
    mask = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    edges = [(names[i], names[j]) for (i, j), keep in zip(pairs, mask, strict=True) if keep]
    x, y = draw(st.permutations(names))[:2]
    others = [v for v in names if v not in (x, y)]
    given = (
        draw(st.lists(st.sampled_from(others), unique=True, max_size=len(others))) if others else []
    )
    return names, edges, x, y, given


@settings(max_examples=1000, deadline=None)
@given(dag_queries())
def test_d_separation_matches_definition(case):
    names, edges, x, y, given = case
    graph = build_graph(edges, names)
    assert is_d_separated(graph, x, y, given) == brute_force_d_separated(edges, x, y, given)


@settings(max_examples=1000, deadline=None)
@given(dag_queries())
def test_transitivity_matches_definition(case):
    names, edges, x, y, _ = case
    graph = build_graph(edges, names)
    assert has_directed_path(graph, x, y) == brute_force_path(edges, x, y)
    assert has_directed_path(graph, x, y) == nx.has_path(graph, x, y)


def test_self_query_is_an_error():
    graph = build_graph([("A", "B")])
    with pytest.raises(ValueError):
        has_directed_path(graph, "A", "A")
    with pytest.raises(ValueError):
        is_d_separated(graph, "A", "A")


@pytest.mark.parametrize(
    ("edges", "x", "y", "given", "expected"),
    [
        ([("A", "B"), ("B", "C")], "A", "C", [], False),  # chain open
        ([("A", "B"), ("B", "C")], "A", "C", ["B"], True),  # chain blocked
        ([("B", "A"), ("B", "C")], "A", "C", [], False),  # fork open
        ([("B", "A"), ("B", "C")], "A", "C", ["B"], True),  # fork blocked
        ([("A", "B"), ("C", "B")], "A", "C", [], True),  # collider blocks
        ([("A", "B"), ("C", "B")], "A", "C", ["B"], False),  # conditioning opens it
        ([("A", "B"), ("C", "B"), ("B", "D")], "A", "C", ["D"], False),  # observed descendant
        ([("C", "B"), ("B", "A")], "A", "C", [], False),  # reversed chain a <- b <- c, open
        ([("C", "B"), ("B", "A")], "A", "C", ["B"], True),  # ...blocked at b (the authors' bug)
        ([("A", "B")], "A", "B", [], False),  # adjacent: never separated
    ],
)
def test_d_separation_textbook(edges, x, y, given, expected):
    assert is_d_separated(build_graph(edges), x, y, given) is expected


@pytest.mark.parametrize(
    ("edges", "source", "target", "expected"),
    [
        ([("A", "B"), ("B", "C")], "A", "C", True),
        ([("A", "B"), ("B", "C")], "C", "A", False),
        ([("C", "B"), ("B", "A")], "A", "C", False),  # reversed chain
        ([("A", "B"), ("C", "B")], "A", "C", False),  # collider: no directed path
        ([("B", "A"), ("B", "C")], "A", "C", False),  # common cause
    ],
)
def test_transitivity_textbook(edges, source, target, expected):
    assert has_directed_path(build_graph(edges), source, target) is expected


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=12))
def test_fast_acyclicity_check_matches_networkx(pairs):
    edges = [(f"n{u}", f"n{v}") for u, v in pairs]
    assert edges_are_acyclic(edges) == nx.is_directed_acyclic_graph(nx.DiGraph(edges))


def test_isolated_query_node_has_no_edges():
    """A query node that the premise never mentions is a node without edges: never caused,
    never causing, d-separated from everything."""
    graph = build_graph([("A", "B"), ("B", "C")], nodes=["Q"])
    assert get_task("transitivity").answer(graph, "A", "Q") is False
    assert get_task("transitivity").answer(graph, "Q", "C") is False
    assert get_task("dseparation").answer(graph, "A", "Q") is True
    assert get_task("dseparation").answer(graph, "Q", "C", ["B"]) is True


def brute_force_common_cause(edges, names, x, y):
    """Definition: some node z, neither x nor y, with directed paths z -> x and z -> y."""
    return any(
        brute_force_path(edges, z, x) and brute_force_path(edges, z, y)
        for z in names
        if z not in (x, y)
    )


@settings(max_examples=1000, deadline=None)
@given(dag_queries())
def test_common_cause_matches_definition(case):
    names, edges, x, y, _ = case
    graph = build_graph(edges, names)
    answer = get_task("common_cause").answer(graph, x, y)
    assert answer == brute_force_common_cause(edges, names, x, y)
    assert answer == get_task("common_cause").answer(graph, y, x)  # symmetric


@pytest.mark.parametrize(
    ("edges", "x", "y", "expected"),
    [
        ([("B", "A"), ("B", "C")], "A", "C", True),  # fork
        ([("Z", "B"), ("B", "A"), ("B", "C")], "A", "C", True),  # fork below a root
        ([("A", "B"), ("C", "B")], "A", "C", False),  # collider
        ([("A", "C")], "A", "C", False),  # a cause is not a common cause
        ([("W", "A"), ("A", "C")], "A", "C", True),  # W is upstream of both
        ([("A", "B"), ("B", "C")], "A", "C", False),  # chain from A: A has no cause
        ([("C", "B"), ("B", "A")], "A", "B", True),  # reversed chain: C causes both
    ],
)
def test_common_cause_textbook(edges, x, y, expected):
    assert get_task("common_cause").answer(build_graph(edges), x, y) is expected


def test_common_cause_self_query_is_an_error_and_an_absent_node_has_no_cause():
    graph = build_graph([("A", "B"), ("A", "C")], nodes=["Q"])
    with pytest.raises(ValueError):
        get_task("common_cause").answer(graph, "B", "B")
    assert get_task("common_cause").answer(graph, "B", "Q") is False
    assert get_task("common_cause").answer(graph, "B", "missing") is False
