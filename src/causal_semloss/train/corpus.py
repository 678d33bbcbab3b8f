"""Causal text for building a backbone: a language-model corpus and an instruction corpus.

Why two: a randomly initialised tiny Gemma fine-tuned on one Yes/No token per example sits on a
loss plateau (docs/models.md). A real instruction-tuned LM arrives with circuits that copy
and match names and an answer format; the stand-in backbone gets them in two stages:
- LM text: a premise followed by statements it implies ("So A causes C."), every token a
  target — predicting C after "So A causes" is reachability, learnt from dense supervision;
- instruction text: a premise followed by several questions of *both* tasks, each answered
  Yes/No by the exact oracles; only the answer tokens are targets. The first question block is
  exactly the suite's evaluation prompt, so the model learns the format it is scored in.

Graphs come from each task's training-split shape with the build's own seed, never a sweep's
seed. Generation runs in worker processes over fixed chunks seeded by chunk index, so the
corpus is the same whatever the number of workers.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import networkx as nx
import torch

from causal_semloss.graphs import make_graph
from causal_semloss.model.batches import IGNORE
from causal_semloss.oracles import build_graph
from causal_semloss.schema import SplitShapeConfig
from causal_semloss.tasks import get_task, task_index
from causal_semloss.text import render_hypothesis, render_premise

# Bump when the generation below changes: it is part of the corpus cache key.
CORPUS_VERSION = 2
CHUNK = 2000  # graphs per worker task; part of the corpus identity (seeds are per chunk)
_TRIES = 20  # random questions drawn per wanted answer before taking what comes


@dataclass(frozen=True)
class GraphText:
    """One premise with its questions (task, text, oracle answer) and implied statements."""

    premise: str
    questions: tuple[tuple[str, str, bool], ...]
    statements: tuple[str, ...]


@dataclass(frozen=True)
class CorpusSpec:
    """What the worker processes need: plain values only (they are pickled)."""

    seed: int
    shapes: tuple[SplitShapeConfig, ...]  # graph shapes, drawn in turn
    hypotheses: dict[str, str]  # task -> hypothesis template
    questions: dict[str, int]  # task -> questions per premise
    max_given: dict[str, int]  # task -> largest conditioning set (its training shape's)
    statements: int
    statement_template: str


def _questions(rng: random.Random, spec: CorpusSpec, graph, nx_graph) -> list:
    asked, out = set(), []
    for task, count in spec.questions.items():
        plugin = get_task(task)
        want = rng.random() < 0.5
        for _ in range(count):
            pick = None
            for _ in range(_TRIES):
                query = plugin.random_query(rng, graph, spec.max_given[task])
                if query in asked:
                    continue
                answer = plugin.answer(nx_graph, *query)
                pick = (query, answer)
                if answer == want:
                    break
            if pick is None:
                continue
            (x, y, given), answer = pick
            asked.add((x, y, given))
            text = render_hypothesis(spec.hypotheses[task], x, y, given)
            out.append((task, text, answer))
            want = not want
    rng.shuffle(out)
    return out


def _statements(rng: random.Random, spec: CorpusSpec, graph, nx_graph) -> list[str]:
    # sorted: a set's order depends on PYTHONHASHSEED, and the corpus must not
    implied = [
        (x, y)
        for x in graph.nodes
        for y in sorted(nx.descendants(nx_graph, x), key=graph.nodes.index)
    ]
    rng.shuffle(implied)
    return [spec.statement_template.format(x=x, y=y) for x, y in implied[: spec.statements]]


def _chunk(args: tuple[CorpusSpec, int, int]) -> list[GraphText]:
    spec, index, count = args
    rng = random.Random(f"causal-semloss-corpus:{spec.seed}:{index}")
    out = []
    while len(out) < count:
        shape = spec.shapes[len(out) % len(spec.shapes)]
        graph = make_graph(rng, shape)
        if len(graph.nodes) < 2:
            continue
        nx_graph = build_graph(graph.edges)
        out.append(
            GraphText(
                premise=render_premise(graph.edges),
                questions=tuple(_questions(rng, spec, graph, nx_graph)),
                statements=tuple(_statements(rng, spec, graph, nx_graph)),
            )
        )
    return out


def generate_texts(spec: CorpusSpec, n_graphs: int, workers: int = 0) -> list[GraphText]:
    """`n_graphs` premises with questions and statements; identical for any `workers`."""
    jobs = [
        (spec, i, min(CHUNK, n_graphs - start)) for i, start in enumerate(range(0, n_graphs, CHUNK))
    ]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) == 1:
        chunks = [_chunk(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            chunks = list(pool.map(_chunk, jobs))
    return [text for chunk in chunks for text in chunk]


@dataclass
class TokenCorpus:
    """Right-padded token ids and per-position targets (IGNORE where nothing is scored).

    `targets[:, t]` is the token at t when position t is scored (predicted from t-1);
    `task_of_answer[:, t]` is the task's registry index (`tasks.task_index`) at answer
    positions, else -1.
    """

    tokens: torch.Tensor
    targets: torch.Tensor
    text_targets: torch.Tensor
    task_of_answer: torch.Tensor

    def __len__(self) -> int:
        return self.tokens.shape[0]


def _pad(rows: Sequence[list[int]], fill: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def _encode_all(tokenizer, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def lm_corpus(texts: list[GraphText], tokenizer) -> TokenCorpus:
    """<bos> premise statements…: every token after <bos> is a target."""
    premise_ids = _encode_all(tokenizer, [t.premise for t in texts])
    statement_ids = _encode_all(tokenizer, [" ".join(t.statements) for t in texts])
    rows = [
        [tokenizer.bos_token_id, *p, *s] for p, s in zip(premise_ids, statement_ids, strict=True)
    ]
    tokens = _pad(rows, tokenizer.pad_token_id)
    targets = _pad([[IGNORE, *row[1:]] for row in rows], IGNORE)
    return TokenCorpus(tokens, targets, targets.clone(), torch.full_like(tokens, -1))


def instruction_corpus(texts: list[GraphText], tokenizer, yes_id: int, no_id: int) -> TokenCorpus:
    """<bos> premise (question answer)…: answers are targets; the rest are text targets."""
    premise_ids = _encode_all(tokenizer, [t.premise for t in texts])
    flat = [q for t in texts for (_, q, _) in t.questions]
    question_ids = iter(_encode_all(tokenizer, flat))
    rows, answers, text_rows, tasks = [], [], [], []
    for text, premise in zip(texts, premise_ids, strict=True):
        row = [tokenizer.bos_token_id, *premise]
        answer_row = [IGNORE] * len(row)
        task_row = [-1] * len(row)
        for task, _, answer in text.questions:
            q = next(question_ids)
            row += [*q, yes_id if answer else no_id]
            answer_row += [IGNORE] * len(q) + [row[-1]]
            task_row += [-1] * len(q) + [task_index(task)]
        rows.append(row)
        answers.append(answer_row)
        text_rows.append(
            [
                IGNORE,
                *(
                    tok if a == IGNORE else IGNORE
                    for tok, a in zip(row[1:], answer_row[1:], strict=True)
                ),
            ]
        )
        tasks.append(task_row)
    return TokenCorpus(
        _pad(rows, tokenizer.pad_token_id),
        _pad(answers, IGNORE),
        _pad(text_rows, IGNORE),
        _pad(tasks, -1),
    )
