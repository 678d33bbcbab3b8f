"""One example as a JSON-ready dict: text for the model, structure and oracle answer for the loss.

`Example` names its fields; `truth` is the one place that says what an example's answer is, and
`take_by_class` the one class-quota selection every consumer of examples uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NotRequired, TypedDict, TypeVar

from causal_semloss.graphs import CausalGraph
from causal_semloss.text import render_hypothesis, render_premise

T = TypeVar("T")
YES, NO = "Yes", "No"  # the records' label words (a model's prompt words are its own)


class Example(TypedDict):
    id: str
    task: str
    split: str
    premise: str
    hypothesis: str
    label: str | None  # YES / NO; None for an unlabeled companion question
    oracle: bool | None  # the exact oracle's answer; None where a file row could not be checked
    graph_id: str
    nodes: list[str]
    edges: list[list[str]]
    query: list[str]
    given: list[str]
    kind: str | None
    pair_id: str | None
    companion: NotRequired[bool]


def truth(example: Example) -> bool:
    """The answer an example is scored against: the oracle's; a file's own label only where the
    oracle could not run (an invalid external row kept for reporting)."""
    if example.get("oracle") is not None:
        return bool(example["oracle"])
    return example.get("label") == YES


def take_by_class(
    items: Iterable[T],
    quota: dict[bool, int],
    truth_of: Callable[[T], bool] = truth,
    accept: Callable[[T], bool] = lambda item: True,
) -> Iterator[T]:
    """Items (examples, or indices with `truth_of`) in the given order, each taken while its
    class has quota left and `accept(item)` holds — asked lazily, so `accept` may depend on what
    was taken before; stops when every quota is met."""
    left = dict(quota)
    for item in items:
        if not any(left.values()):
            return
        answer = truth_of(item)
        if left.get(answer, 0) > 0 and accept(item):
            left[answer] -= 1
            yield item


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
        "label": YES if answer else NO,
        "oracle": answer,
        "graph_id": graph_id,
        "nodes": list(graph.nodes),
        "edges": [list(edge) for edge in graph.edges],
        "query": [x, y],
        "given": list(given),
        "kind": kind,
        "pair_id": pair_id,
    }
