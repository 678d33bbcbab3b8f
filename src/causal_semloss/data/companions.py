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

from causal_semloss.oracles import build_graph
from causal_semloss.tasks import get_task
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


def companions_for(
    group: list[dict], *, task: str, hypothesis_template: str, max_atoms: int, rng: random.Random
) -> list[dict]:
    """Companion records for one premise group: at most `max_atoms` questions in all, drawn
    from the task's `companion_candidates` in its priority order."""
    spec = get_task(task)
    first = group[0]
    nodes, edges = first["nodes"], [tuple(e) for e in first["edges"]]
    nx_graph = build_graph(edges, nodes)
    order = {n: i for i, n in enumerate(nodes)}
    labeled = [(r["query"][0], r["query"][1], tuple(r["given"])) for r in group]
    seen = {(x, y, frozenset(g)) for x, y, g in labeled}
    out: list[dict] = []
    for x, y, given in spec.companion_candidates(labeled, nodes, edges, nx_graph, rng):
        if len(group) + len(out) >= max_atoms:
            break
        if (x, y, frozenset(given)) in seen:
            continue
        seen.add((x, y, frozenset(given)))
        given = tuple(sorted(given, key=order.__getitem__))
        answer = spec.answer(nx_graph, x, y, given)
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
