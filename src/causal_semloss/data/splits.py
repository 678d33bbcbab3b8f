"""Generate one split: graphs of the split's shape, questions, oracle labels, target balance."""

from __future__ import annotations

import random
from collections.abc import Callable

from causal_semloss.data.records import make_record
from causal_semloss.errors import ConfigError
from causal_semloss.graphs import make_graph
from causal_semloss.oracles import build_graph
from causal_semloss.schema import SplitShapeConfig
from causal_semloss.tasks import Task, get_task

# Draws of a random question per wanted class before giving up on a graph.
_TRIES_PER_QUERY = 20
# Graphs drawn per requested example before declaring a target balance unreachable.
_MAX_GRAPHS_PER_EXAMPLE = 200
# Graphs after which a class never seen among the questions tried is declared unreachable
# (e.g. d-separation on two-node graphs never answers Yes): fail in seconds, not minutes.
_PROBE_GRAPHS = 500


def split_rng(seed: int, task: str, split: str) -> random.Random:
    """Independent, reproducible stream per (seed, task, split); str seeds are stable in Python."""
    return random.Random(f"causal-semloss:{seed}:{task}:{split}")


def generate_split(
    *,
    task: str,
    split: str,
    shape: SplitShapeConfig,
    hypothesis_template: str,
    n: int,
    yes_rate: float | None,
    queries_per_graph: int,
    rng: random.Random,
    forbidden: set | None = None,
    seen_keys: set | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """`n` records; `yes_rate=None` keeps the natural balance, a number resamples to it exactly.

    Graphs whose edge set is in `forbidden` (the training premises) are skipped, so no
    evaluation premise equals a training premise. Keys of accepted graphs go to `seen_keys`.
    """
    spec = get_task(task)
    quota = (
        None if yes_rate is None else {True: round(n * yes_rate), False: n - round(n * yes_rate)}
    )
    records: list[dict] = []
    graphs_drawn = 0
    seen_answers: set[bool] = set()
    while len(records) < n:
        graphs_drawn += 1
        missing = [] if quota is None else [a for a in (True, False) if quota[a] > 0]
        missing = [a for a in missing if a not in seen_answers]
        if graphs_drawn > _MAX_GRAPHS_PER_EXAMPLE * n or (missing and graphs_drawn > _PROBE_GRAPHS):
            never = f"; no question on {graphs_drawn - 1} graphs had answer " + (
                "Yes" if True in missing else "No"
            )
            raise ConfigError(
                f"split {split!r} of task {task!r}: cannot reach yes_rate={yes_rate} with this "
                f"graph shape{never if missing else ''} (set data.yes_rate.{split} or the shape)"
            )
        graph = make_graph(rng, shape)
        if len(graph.nodes) < 2 or (forbidden is not None and graph.key in forbidden):
            continue
        nx_graph = build_graph(graph.edges)
        graph_id = f"{task}-{split}-g{graphs_drawn:07d}"
        asked: set = set()
        added = 0
        for _ in range(queries_per_graph):
            if len(records) >= n:
                break
            query = _pick_query(
                rng, spec, graph, nx_graph, shape.max_given, quota, asked, seen_answers
            )
            if query is None:
                continue
            (x, y, given), answer = query
            asked.add((x, y, given))
            if quota is not None:
                quota[answer] -= 1
            records.append(
                make_record(
                    task=task,
                    split=split,
                    index=len(records),
                    graph_id=graph_id,
                    graph=graph,
                    hypothesis_template=hypothesis_template,
                    x=x,
                    y=y,
                    given=given,
                    answer=answer,
                )
            )
            added += 1
        if added and seen_keys is not None:
            seen_keys.add(graph.key)
        if added and progress is not None:
            progress(added)
    return records


def _pick_query(rng, task: Task, graph, nx_graph, max_given, quota, asked, seen_answers):
    """A new question: natural without a quota; else a random one of the class drawn by the
    remaining quota. Every answer computed goes to `seen_answers` (reachability check)."""
    if quota is None:
        for _ in range(_TRIES_PER_QUERY):
            query = task.natural_query(rng, graph, max_given)
            if query not in asked:
                return query, task.answer(nx_graph, *query)
        return None
    remaining_yes, remaining_no = quota[True], quota[False]
    if remaining_yes + remaining_no <= 0:
        return None
    want = rng.random() < remaining_yes / (remaining_yes + remaining_no)
    for _ in range(_TRIES_PER_QUERY):
        query = task.random_query(rng, graph, max_given)
        if query in asked:
            continue
        answer = task.answer(nx_graph, *query)
        seen_answers.add(answer)
        if answer == want:
            return query, answer
    return None


def natural_yes_rate(*, task: str, shape: SplitShapeConfig, n: int, rng: random.Random) -> float:
    """Share of Yes among `n` natural questions on fresh graphs of `shape`."""
    spec = get_task(task)
    yes = 0
    for _ in range(n):
        graph = make_graph(rng, shape)
        query = spec.natural_query(rng, graph, shape.max_given)
        yes += spec.answer(build_graph(graph.edges), *query)
    return yes / n
