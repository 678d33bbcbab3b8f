"""Our adversarial set (the paper does not publish its 1,000 samples): balanced minimal pairs.

Every pair is two questions whose oracle answers differ while the surface barely changes — one
edge reversed, the query turned around, or the conditioning set moved onto / off a collider —
so a model answering from surface cues (or a collapsed one) scores exactly 50%. Labels always
come from the oracle; a construction whose answers do not differ is discarded.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from causal_semloss.data.records import make_record
from causal_semloss.graphs import CausalGraph, random_names
from causal_semloss.oracles import build_graph, oracle_answer
from causal_semloss.schema import SplitShapeConfig

# A pair: (edges_a, query_a, edges_b, query_b); nodes are indices, named later.
Pair = tuple[list[tuple[int, int]], tuple, list[tuple[int, int]], tuple]


def _chain(rng: random.Random, lo: int = 3, hi: int = 6) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(rng.randint(lo, hi) - 1)]


def _edge_flip_path(rng: random.Random) -> Pair:
    """A->...->B asked "Does A cause B?" (Yes) vs the same chain with one edge on it reversed."""
    edges = _chain(rng)
    n = len(edges) + 1
    i, j = sorted(rng.sample(range(n), 2))
    k = rng.randint(i, j - 1)
    flipped = [e[::-1] if idx == k else e for idx, e in enumerate(edges)]
    return edges, (i, j, ()), flipped, (i, j, ())


def _adjacent_unlinked(rng: random.Random) -> Pair:
    """ "v causes u" is in the text; "Does u cause v?" (No) vs "Does v cause u?" (Yes)."""
    edges = [e[::-1] if rng.random() < 0.5 else e for e in _chain(rng)]
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


KINDS: dict[str, list[tuple[str, Callable[[random.Random], Pair]]]] = {
    "transitivity": [
        ("edge_flip", _edge_flip_path),
        ("adjacent_unlinked", _adjacent_unlinked),
        ("common_cause", _common_cause),
    ],
    "dseparation": [
        ("collider", _collider),
        ("collider_descendant", _collider_descendant),
        ("chain_fork_blocked", _chain_or_fork_blocked),
        ("edge_flip", _dsep_edge_flip),
    ],
}


def _distractor_leaves(rng: random.Random, n_nodes: int) -> list[tuple[int, int]]:
    """Up to two extra leaves with one parent each: dead ends that change no answer."""
    return [(rng.randrange(n_nodes), leaf) for leaf in range(n_nodes, n_nodes + rng.randint(0, 2))]


def generate_adversarial(
    *,
    task: str,
    shape: SplitShapeConfig,
    hypothesis_template: str,
    n: int,
    rng: random.Random,
    forbidden: set | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """`n` records (n even): n/2 minimal pairs, kinds in rotation, exactly half Yes."""
    kinds = KINDS[task]
    records: list[dict] = []
    pair_index = 0
    while len(records) < n:
        kind, build = kinds[pair_index % len(kinds)]
        edges_a, query_a, edges_b, query_b = build(rng)
        n_nodes = 1 + max(max(e) for e in edges_a + edges_b)
        leaves = _distractor_leaves(rng, n_nodes)
        names = random_names(rng, n_nodes + len(leaves), tuple(shape.name_length))
        # One sentence order for both sides, so a pair differs only where its kind says.
        order = list(range(len(edges_a) + len(leaves)))
        if shape.shuffle:
            rng.shuffle(order)
        sides = []
        for edges, (x, y, given) in ((edges_a, query_a), (edges_b, query_b)):
            named = [(names[u], names[v]) for u, v in edges + leaves]
            named = [named[i] for i in order]
            graph = CausalGraph(
                nodes=tuple(n for n in names if any(n in e for e in named)), edges=tuple(named)
            )
            answer = oracle_answer(
                task, build_graph(graph.edges), names[x], names[y], [names[g] for g in given]
            )
            sides.append((graph, names[x], names[y], [names[g] for g in given], answer))
        if sides[0][4] == sides[1][4] or (forbidden and any(s[0].key in forbidden for s in sides)):
            continue
        pair_id = f"{task}-adversarial-p{pair_index:06d}"
        for side, (graph, x, y, given, answer) in enumerate(sides):
            records.append(
                make_record(
                    task=task,
                    split="adversarial",
                    index=len(records),
                    graph_id=f"{pair_id}-{'a' if edges_a == edges_b else 'ab'[side]}",
                    graph=graph,
                    hypothesis_template=hypothesis_template,
                    x=x,
                    y=y,
                    given=given,
                    answer=answer,
                    kind=kind,
                    pair_id=pair_id,
                )
            )
        pair_index += 1
        if progress is not None:
            progress(2)
    return records
