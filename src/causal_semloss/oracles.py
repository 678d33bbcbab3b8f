"""Exact graph predicates: the only source of labels in this suite. Each task's oracle
(`Task.answer`, `causal_semloss.tasks`) is one of these on the premise graph.

Directed path: is there one source -> target (source != target)?
D-separation: networkx.is_d_separator — exact, no path enumeration with cut-offs (the
authors' checker had both a cut-off and a missing blocking rule; PAPER.md "Pitfalls").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx

Edge = tuple[str, str]


def build_graph(edges: Iterable[Edge], nodes: Iterable[str] = ()) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def is_acyclic(graph: nx.DiGraph) -> bool:
    return nx.is_directed_acyclic_graph(graph)


def edges_are_acyclic(edges: Iterable[Edge]) -> bool:
    """Kahn's algorithm on an edge list: the generator's per-premise DAG check, without networkx
    overhead (tested against `is_acyclic`)."""
    children: dict[str, list[str]] = {}
    indegree: dict[str, int] = {}
    for u, v in edges:
        children.setdefault(u, []).append(v)
        indegree[v] = indegree.get(v, 0) + 1
        indegree.setdefault(u, 0)
    ready = [node for node, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for child in children.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return seen == len(indegree)


def has_directed_path(graph: nx.DiGraph, source: str, target: str) -> bool:
    """A directed path source -> target. A self-query is a question error, not a trivial Yes."""
    if source == target:
        raise ValueError(f"self-query: {source!r} -> {target!r}")
    return nx.has_path(graph, source, target)


def is_d_separated(graph: nx.DiGraph, x: str, y: str, given: Sequence[str] = ()) -> bool:
    """D-separation oracle: True when every path between x and y is blocked by `given`."""
    if x == y:
        raise ValueError(f"self-query: {x!r} and {y!r}")
    return nx.is_d_separator(graph, {x}, {y}, set(given))
