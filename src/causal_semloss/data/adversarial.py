"""Our adversarial set (the paper does not publish its 1,000 samples): balanced minimal pairs.

Every pair is two questions whose oracle answers differ while the surface barely changes — one
edge reversed, the query turned around, or the conditioning set moved onto / off a collider;
each task lists its kinds (`Task.adversarial_kinds`) — so a model answering from surface cues
(or a collapsed one) scores exactly 50%. Labels always come from the oracle; a construction
whose answers do not differ is discarded.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from causal_semloss.data.records import make_record
from causal_semloss.graphs import CausalGraph, random_names
from causal_semloss.oracles import build_graph
from causal_semloss.schema import AdversarialSplitConfig
from causal_semloss.tasks import get_task


def _distractor_leaves(rng: random.Random, n_nodes: int) -> list[tuple[int, int]]:
    """Up to two extra leaves with one parent each: dead ends that change no answer."""
    return [(rng.randrange(n_nodes), leaf) for leaf in range(n_nodes, n_nodes + rng.randint(0, 2))]


def generate_adversarial(
    *,
    task: str,
    surface: AdversarialSplitConfig,
    hypothesis_template: str,
    n: int,
    rng: random.Random,
    forbidden: set | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """`n` records (n even): n/2 minimal pairs of the task's `adversarial_kinds` in rotation,
    exactly half Yes. Each kind builds its own graphs; `surface` sets only their names'
    lengths and whether the sentences are shuffled."""
    spec = get_task(task)
    kinds = spec.adversarial_kinds
    records: list[dict] = []
    pair_index = 0
    while len(records) < n:
        kind, build = kinds[pair_index % len(kinds)]
        edges_a, query_a, edges_b, query_b = build(rng)
        n_nodes = 1 + max(max(e) for e in edges_a + edges_b)
        leaves = _distractor_leaves(rng, n_nodes)
        names = random_names(rng, n_nodes + len(leaves), tuple(surface.name_length))
        # One sentence order for both sides, so a pair differs only where its kind says.
        order = list(range(len(edges_a) + len(leaves)))
        if surface.shuffle:
            rng.shuffle(order)
        sides = []
        for edges, (x, y, given) in ((edges_a, query_a), (edges_b, query_b)):
            named = [(names[u], names[v]) for u, v in edges + leaves]
            named = [named[i] for i in order]
            graph = CausalGraph(
                nodes=tuple(n for n in names if any(n in e for e in named)), edges=tuple(named)
            )
            answer = spec.answer(
                build_graph(graph.edges), names[x], names[y], [names[g] for g in given]
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
