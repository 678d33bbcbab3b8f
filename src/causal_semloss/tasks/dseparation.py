"""D-separation: "Are X and Y d-separated given {Z}?" — the oracle is networkx.is_d_separator,
exact, with no path enumeration or cut-off (the authors' checker had both a cut-off and a
missing blocking rule; PAPER.md "Pitfalls")."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import networkx as nx

from causal_semloss.constraints import Atom, Clause, no, yes
from causal_semloss.oracles import is_d_separated
from causal_semloss.tasks.base import Pair, Query, Task
from causal_semloss.text import NAME

if TYPE_CHECKING:
    from causal_semloss.graphs import CausalGraph


def _collider(rng: random.Random) -> Pair:
    """x -> c <- y: d-separated given {} (Yes); conditioning on the collider opens it (No)."""
    edges = [(0, 2), (1, 2)]
    return edges, (0, 1, ()), edges, (0, 1, (2,))


def _collider_descendant(rng: random.Random) -> Pair:
    """x -> c <- y, c -> d (-> e): conditioning on a descendant of the collider opens the path."""
    edges = [(0, 2), (1, 2), (2, 3)] + ([(3, 4)] if rng.random() < 0.5 else [])
    descendant = rng.choice([n for _, n in edges if n >= 3])
    return edges, (0, 1, ()), edges, (0, 1, (descendant,))


def _chain_or_fork_blocked(rng: random.Random) -> Pair:
    """x -> m -> y or x <- m -> y: open given {} (No), blocked given {m} (Yes)."""
    edges = [(0, 1), (1, 2)] if rng.random() < 0.5 else [(1, 0), (1, 2)]
    return edges, (0, 2, ()), edges, (0, 2, (1,))


def _dsep_edge_flip(rng: random.Random) -> Pair:
    """x -> m -> y given {m} (Yes) vs x -> m <- y given {m} (No): one edge reversed."""
    edges = [(0, 1), (1, 2)]
    return edges, (0, 2, (1,)), [(0, 1), (2, 1)], (0, 2, (1,))


class DSeparation(Task):
    name = "dseparation"
    question = re.compile(
        rf"(?<!\w)Are\s+(?P<x>{NAME})\s+and\s+(?P<y>{NAME})\s+d-separated"
        rf"(?:\s+given\s+\{{(?P<given>[^}}]*)\}})?\s*\?",
        re.IGNORECASE,
    )
    adversarial_kinds = (
        ("collider", _collider),
        ("collider_descendant", _collider_descendant),
        ("chain_fork_blocked", _chain_or_fork_blocked),
        ("edge_flip", _dsep_edge_flip),
    )

    def answer(self, graph: nx.DiGraph, x: str, y: str, given: Sequence[str] = ()) -> bool:
        return is_d_separated(graph, x, y, given)

    def random_query(self, rng: random.Random, graph: CausalGraph, max_given: int) -> Query:
        """A random pair and 0..max_given of the other nodes as the conditioning set, in the
        premise's node order."""
        x, y, _ = super().random_query(rng, graph, max_given)
        others = [n for n in graph.nodes if n not in (x, y)]
        k = rng.randint(0, min(max_given, len(others)))
        return x, y, tuple(sorted(rng.sample(others, k), key=graph.nodes.index))

    def clauses(self, atoms: Sequence[Atom], edges: Sequence[Sequence[str]]) -> list[Clause]:
        """Symmetry: dsep(x,y | Z) ↔ dsep(y,x | Z); a stated edge between x and y: never
        d-separated, whatever Z."""
        slot = {(x, y, frozenset(given)): i for i, (x, y, given) in enumerate(atoms)}
        adjacent = {frozenset(edge) for edge in edges}
        clauses: list[Clause] = []
        for (x, y, given), i in slot.items():
            mirror = slot.get((y, x, given))
            if mirror is not None and i < mirror:
                clauses += [(no(i), yes(mirror)), (yes(i), no(mirror))]  # symmetry
            if frozenset((x, y)) in adjacent:
                clauses.append((no(i),))
        return clauses

    def companion_candidates(
        self,
        labeled: list[Atom],
        nodes: list[str],
        edges: list[tuple[str, str]],
        graph: nx.DiGraph,
        rng: random.Random,
    ) -> Iterator[Atom]:
        """Reverse pairs, then a stated edge in both directions under the first question's
        conditioning set (less the edge's own nodes)."""
        yield from super().companion_candidates(labeled, nodes, edges, graph, rng)
        _, _, given = labeled[0]
        if edges:
            u, v = rng.choice(edges)
            kept = tuple(z for z in given if z not in (u, v))
            yield (u, v, kept)
            yield (v, u, kept)

    def direct_link(self, query: Sequence[str] | None, edges: set[tuple[str, str]]) -> bool:
        """Yes (separated) iff no sentence mentions x and y together."""
        if query is None:
            return True
        x, y = query
        return (x, y) not in edges and (y, x) not in edges
