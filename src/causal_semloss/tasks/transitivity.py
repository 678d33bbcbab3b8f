"""Transitivity: "A causes B. B causes C. Does A cause C?" — Yes iff the premise DAG has a
directed path x -> ... -> y (x != y; a self-query is a question error, not a trivial Yes)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import networkx as nx

from causal_semloss.constraints import Atom, Clause, no, yes
from causal_semloss.oracles import has_directed_path
from causal_semloss.tasks.base import Pair, Query, Task, chain_edges
from causal_semloss.text import NAME

if TYPE_CHECKING:
    from causal_semloss.graphs import CausalGraph


def _edge_flip_path(rng: random.Random) -> Pair:
    """A->...->B asked "Does A cause B?" (Yes) vs the same chain with one edge on it reversed."""
    edges = chain_edges(rng)
    n = len(edges) + 1
    i, j = sorted(rng.sample(range(n), 2))
    k = rng.randint(i, j - 1)
    flipped = [e[::-1] if idx == k else e for idx, e in enumerate(edges)]
    return edges, (i, j, ()), flipped, (i, j, ())


def _adjacent_unlinked(rng: random.Random) -> Pair:
    """ "v causes u" is in the text; "Does u cause v?" (No) vs "Does v cause u?" (Yes)."""
    edges = [e[::-1] if rng.random() < 0.5 else e for e in chain_edges(rng)]
    u, v = rng.choice(edges)
    return edges, (v, u, ()), edges, (u, v, ())


def _common_cause(rng: random.Random) -> Pair:
    """Siblings a <- h -> b are not causally linked (No); h -> b is (Yes)."""
    prefix = rng.randint(0, 2)
    edges = [(i, i + 1) for i in range(prefix)]
    hub = prefix
    a, b = hub + 1, hub + 2
    edges += [(hub, a), (hub, b)]
    return edges, (a, b, ()), edges, (rng.randint(0, hub), b, ())


class Transitivity(Task):
    name = "transitivity"
    question = re.compile(
        rf"(?<!\w)Does\s+(?P<x>{NAME})\s+cause\s+(?P<y>{NAME})\s*\?", re.IGNORECASE
    )
    adversarial_kinds = (
        ("edge_flip", _edge_flip_path),
        ("adjacent_unlinked", _adjacent_unlinked),
        ("common_cause", _common_cause),
    )

    def answer(self, graph: nx.DiGraph, x: str, y: str, given: Sequence[str] = ()) -> bool:
        return has_directed_path(graph, x, y)

    def natural_query(self, rng: random.Random, graph: CausalGraph, max_given: int) -> Query:
        """(earlier, later) in generation order, as the authors asked."""
        i, j = sorted(rng.sample(range(len(graph.nodes)), 2))
        return graph.nodes[i], graph.nodes[j], ()

    def clauses(self, atoms: Sequence[Atom], edges: Sequence[Sequence[str]]) -> list[Clause]:
        """Closure: Yes(a,b) ∧ Yes(b,c) → Yes(a,c); asymmetry: Yes(a,b) → No(b,a) (a cycle
        would be needed otherwise); a stated edge u → v: Yes(u,v)."""
        slot = {(x, y): i for i, (x, y, _) in enumerate(atoms)}
        stated = {(u, v) for u, v in edges}
        clauses: list[Clause] = []
        for (x, y), i in slot.items():
            back = slot.get((y, x))
            if back is not None and i < back:
                clauses.append((no(i), no(back)))  # asymmetry
            if (x, y) in stated:
                clauses.append((yes(i),))
        for (a, b), ab in slot.items():
            for (b2, c), bc in slot.items():
                ac = slot.get((a, c))
                if b2 == b and ac is not None and c != a:
                    clauses.append((no(ab), no(bc), yes(ac)))  # closure
        return clauses

    def companion_candidates(
        self,
        labeled: list[Atom],
        nodes: list[str],
        edges: list[tuple[str, str]],
        graph: nx.DiGraph,
        rng: random.Random,
    ) -> Iterator[Atom]:
        """Reverse pairs, then a middle node of the first question (on its path if there is
        one), then a stated edge."""
        yield from super().companion_candidates(labeled, nodes, edges, graph, rng)
        x, y, _ = labeled[0]
        middles = [n for n in nodes if n not in (x, y)]
        on_path = [n for n in middles if self.answer(graph, x, n) and self.answer(graph, n, y)]
        if middles:
            b = rng.choice(on_path or middles)
            yield (x, b, ())
            yield (b, y, ())
        if edges:
            u, v = rng.choice(edges)
            yield (u, v, ())

    def direct_link(self, query: Sequence[str] | None, edges: set[tuple[str, str]]) -> bool:
        """Yes iff "x causes y" is a sentence."""
        return query is not None and tuple(query) in edges
