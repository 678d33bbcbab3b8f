"""One example as a JSON-ready dict: text for the model, structure and oracle answer for the loss."""

from __future__ import annotations

from collections.abc import Sequence

from causal_semloss.graphs import CausalGraph
from causal_semloss.text import render_hypothesis, render_premise


def make_record(
    *,
    task: str,
    split: str,
    index: int,
    graph_id: str,
    graph: CausalGraph,
    hypothesis_template: str,
    x: str,
    y: str,
    given: Sequence[str],
    answer: bool,
    kind: str | None = None,
    pair_id: str | None = None,
) -> dict:
    return {
        "id": f"{task}-{split}-{index:07d}",
        "task": task,
        "split": split,
        "premise": render_premise(graph.edges),
        "hypothesis": render_hypothesis(hypothesis_template, x, y, given),
        "label": "Yes" if answer else "No",
        "oracle": answer,
        "graph_id": graph_id,
        "nodes": list(graph.nodes),
        "edges": [list(edge) for edge in graph.edges],
        "query": [x, y],
        "given": list(given),
        "kind": kind,
        "pair_id": pair_id,
    }
