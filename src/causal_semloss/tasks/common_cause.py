"""Common cause: "A causes B. A causes C. Do B and C share a common cause?"

Definition (also in conf/task/common_cause.yaml): Yes iff some node Z, distinct from X and Y,
has a directed path Z -> ... -> X and a directed path Z -> ... -> Y, i.e. X and Y have a common
*proper* ancestor: An(X) ∩ An(Y) ≠ ∅ with a node never its own ancestor. So X -> Y alone is No
(X causes Y; nothing causes both), W -> X -> Y is Yes (W is upstream of both), and a collider
X -> C <- Y is No. A self-query (X = Y) is a question error, as for the other tasks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence

import networkx as nx

from causal_semloss.constraints import Atom, Clause, no, yes
from causal_semloss.tasks.base import Pair, Task, chain_edges
from causal_semloss.text import NAME


def has_common_cause(graph: nx.DiGraph, x: str, y: str) -> bool:
    """Whether x and y have a common proper ancestor in `graph` (a node absent from the graph
    has none)."""
    if x == y:
        raise ValueError(f"self-query: {x!r} and {y!r}")
    if x not in graph or y not in graph:
        return False
    return not nx.ancestors(graph, x).isdisjoint(nx.ancestors(graph, y))


def _fork_or_chain(rng: random.Random) -> Pair:
    """(p ->)* h, x <- h -> y asked of x, y (Yes) vs one of h's edges reversed, x -> h -> y or
    x <- h <- y (No: one end of the path is then a root)."""
    prefix = rng.randint(0, 2)
    hub = prefix
    x, y = hub + 1, hub + 2
    edges = [(i, i + 1) for i in range(prefix)] + [(hub, x), (hub, y)]
    flip = len(edges) - rng.randint(1, 2)
    flipped = [e[::-1] if i == flip else e for i, e in enumerate(edges)]
    return edges, (x, y, ()), flipped, (x, y, ())


def _root_flip(rng: random.Random) -> Pair:
    """p -> x -> ... -> y asked of x, y (Yes: p is upstream of both) vs p's edge reversed,
    x -> p (No: x is then a root)."""
    edges = chain_edges(rng, 3, 5)  # p = 0, x = 1
    y = rng.randint(2, len(edges))
    return edges, (1, y, ()), [(1, 0), *edges[1:]], (1, y, ())


def _query_moved(rng: random.Random) -> Pair:
    """One chain r -> ... -> y: a middle node and y share r (Yes); the root and y share
    nothing (No)."""
    edges = chain_edges(rng)
    n = len(edges) + 1
    middle = rng.randint(1, n - 2)
    return edges, (middle, n - 1, ()), edges, (0, n - 1, ())


def _collider_or_fork(rng: random.Random) -> Pair:
    """x -> c <- y shares nothing (No); x <- c -> y shares c (Yes): c's edges reversed."""
    return [(0, 2), (1, 2)], (0, 1, ()), [(2, 0), (2, 1)], (0, 1, ())


class CommonCause(Task):
    name = "common_cause"
    question = re.compile(
        rf"(?<!\w)Do\s+(?P<x>{NAME})\s+and\s+(?P<y>{NAME})\s+share\s+a\s+common\s+cause\s*\?",
        re.IGNORECASE,
    )
    adversarial_kinds = (
        ("fork_or_chain", _fork_or_chain),
        ("root_flip", _root_flip),
        ("query_moved", _query_moved),
        ("collider_or_fork", _collider_or_fork),
    )

    def answer(self, graph: nx.DiGraph, x: str, y: str, given: Sequence[str] = ()) -> bool:
        return has_common_cause(graph, x, y)

    def clauses(self, atoms: Sequence[Atom], edges: Sequence[Sequence[str]]) -> list[Clause]:
        """Symmetry: cc(x,y) ↔ cc(y,x); a stated parent of both: Yes(x,y); downstream: a
        common cause of a and b causes every child c of b, so cc(a,b) → cc(a,c) for a stated
        edge b → c (c ≠ a)."""
        slot = {(x, y): i for i, (x, y, _) in enumerate(atoms)}
        parents: dict[str, set[str]] = {}
        for u, v in edges:
            parents.setdefault(v, set()).add(u)
        clauses: list[Clause] = []
        for (x, y), i in slot.items():
            mirror = slot.get((y, x))
            if mirror is not None and i < mirror:
                clauses += [(no(i), yes(mirror)), (yes(i), no(mirror))]  # symmetry
            if (parents.get(x, set()) & parents.get(y, set())) - {x, y}:
                clauses.append((yes(i),))
        for u, v in edges:
            for (a, b), ab in slot.items():
                ac = slot.get((a, v))
                if b == u and ac is not None and v != a:
                    clauses.append((no(ab), yes(ac)))  # downstream
        return clauses

    def companion_candidates(
        self,
        labeled: list[Atom],
        nodes: list[str],
        edges: list[tuple[str, str]],
        graph: nx.DiGraph,
        rng: random.Random,
    ) -> Iterator[Atom]:
        """Reverse pairs, then the first question with y moved to one of its stated children,
        then two stated children of one node."""
        yield from super().companion_candidates(labeled, nodes, edges, graph, rng)
        x, y, _ = labeled[0]
        children = [v for u, v in edges if u == y and v != x]
        if children:
            yield (x, rng.choice(children), ())
        kids: dict[str, list[str]] = {}
        for u, v in edges:
            if v not in kids.setdefault(u, []):
                kids[u].append(v)
        hubs = [u for u, vs in kids.items() if len(vs) >= 2]
        if hubs:
            a, b = rng.sample(kids[rng.choice(hubs)], 2)
            yield (a, b, ())

    def direct_link(self, query: Sequence[str] | None, edges: set[tuple[str, str]]) -> bool:
        """Yes iff one sentence's cause is stated to cause both x and y."""
        if query is None:
            return False
        x, y = query
        return any((u, y) in edges for u, v in edges if v == x and u != y)
