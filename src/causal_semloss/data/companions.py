"""Unlabeled companion questions: the extra questions on a premise that the constraint formulas
(`causal_semloss.constraints`) need to bite — the reverse pair of every question, a middle node
for closure, a stated edge — so the exact semantic loss has something to tie together.

Companions follow their premise's labeled questions in the training split, carry
`"companion": true` and `"label": null` (the loss never trains them on an answer; the oracle's
answer is kept only so the data can be audited), and are never written to an evaluation split.
They are drawn from their own random stream, so turning them on leaves the labeled questions
byte-identical.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from causal_semloss.constraints import Atom
from causal_semloss.oracles import build_graph, oracle_answer
from causal_semloss.text import render_hypothesis


def _premise_groups(records: list[dict]) -> Iterator[list[dict]]:
    """Consecutive records of one premise (generated splits keep a premise's questions together)."""
    group: list[dict] = []
    for record in records:
        if group and record["graph_id"] != group[0]["graph_id"]:
            yield group
            group = []
        group.append(record)
    if group:
        yield group


def _candidates(task: str, labeled: list[Atom], nodes: list[str], edges, nx_graph, rng):
    """Companion atoms in priority order: reverse pairs, then (transitivity) a middle node of the
    first question, then a stated edge (both directions for d-separation)."""
    yield from ((y, x, given) for x, y, given in labeled)
    x, y, given = labeled[0]
    if task == "transitivity":
        middles = [n for n in nodes if n not in (x, y)]
        on_path = [
            n
            for n in middles
            if oracle_answer(task, nx_graph, x, n) and oracle_answer(task, nx_graph, n, y)
        ]
        if middles:
            b = rng.choice(on_path or middles)
            yield (x, b, ())
            yield (b, y, ())
    if edges:
        u, v = rng.choice(edges)
        if task == "transitivity":
            yield (u, v, ())
        else:
            kept = tuple(z for z in given if z not in (u, v))
            yield (u, v, kept)
            yield (v, u, kept)


def companions_for(
    group: list[dict], *, task: str, hypothesis_template: str, max_atoms: int, rng: random.Random
) -> list[dict]:
    """Companion records for one premise group: at most `max_atoms` questions in all."""
    first = group[0]
    nodes, edges = first["nodes"], [tuple(e) for e in first["edges"]]
    nx_graph = build_graph(edges, nodes)
    order = {n: i for i, n in enumerate(nodes)}
    labeled = [(r["query"][0], r["query"][1], tuple(r["given"])) for r in group]
    seen = {(x, y, frozenset(g)) for x, y, g in labeled}
    out: list[dict] = []
    for x, y, given in _candidates(task, labeled, nodes, edges, nx_graph, rng):
        if len(group) + len(out) >= max_atoms:
            break
        if (x, y, frozenset(given)) in seen:
            continue
        seen.add((x, y, frozenset(given)))
        given = tuple(sorted(given, key=order.__getitem__))
        answer = oracle_answer(task, nx_graph, x, y, given)
        out.append(
            {
                **first,
                "hypothesis": render_hypothesis(hypothesis_template, x, y, given),
                "label": None,
                "oracle": answer,
                "query": [x, y],
                "given": list(given),
                "kind": None,
                "pair_id": None,
                "companion": True,
            }
        )
    return out


def add_companions(
    records: list[dict],
    *,
    task: str,
    hypothesis_template: str,
    max_atoms: int,
    rng: random.Random,
) -> list[dict]:
    """`records` with each premise's companions inserted after its labeled questions; companion
    ids continue from the split's ids with a `c` prefix."""
    out: list[dict] = []
    count = 0
    for group in _premise_groups(records):
        out.extend(group)
        for companion in companions_for(
            group,
            task=task,
            hypothesis_template=hypothesis_template,
            max_atoms=max_atoms,
            rng=rng,
        ):
            companion["id"] = f"{task}-{group[0]['split']}-c{count:07d}"
            count += 1
            out.append(companion)
    return out
