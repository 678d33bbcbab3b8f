"""Which question to ask of a premise graph.

`natural_query` is each split's own question distribution (its %Yes is the split's natural
balance); `random_query` is uniform over the question space and is what class-targeted
resampling draws from.
"""

from __future__ import annotations

import random

from causal_semloss.graphs import CausalGraph

Query = tuple[str, str, tuple[str, ...]]


def _random_given(
    rng: random.Random, graph: CausalGraph, x: str, y: str, max_given: int
) -> tuple[str, ...]:
    others = [n for n in graph.nodes if n not in (x, y)]
    k = rng.randint(0, min(max_given, len(others)))
    return tuple(sorted(rng.sample(others, k), key=graph.nodes.index))


def natural_query(rng: random.Random, task: str, graph: CausalGraph, max_given: int) -> Query:
    """Transitivity: (earlier, later) in generation order, as the authors asked. D-sep: random."""
    if task == "transitivity":
        i, j = sorted(rng.sample(range(len(graph.nodes)), 2))
        return graph.nodes[i], graph.nodes[j], ()
    return random_query(rng, task, graph, max_given)


def random_query(rng: random.Random, task: str, graph: CausalGraph, max_given: int) -> Query:
    x, y = rng.sample(graph.nodes, 2)
    given = _random_given(rng, graph, x, y, max_given) if task == "dseparation" else ()
    return x, y, given
