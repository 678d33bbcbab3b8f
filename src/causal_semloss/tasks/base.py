"""What a question type is: one `Task` subclass per task, everything task-specific behind it.

A task knows its exact oracle, the grammar of its question (a regex whose named groups `x`,
`y` and optionally `given` the hypothesis template fills), how to draw a question of a premise
(each split's natural distribution, and the uniform one resampling draws from), its adversarial
minimal pairs, the logical formulas its answers obey on one premise and the unlabeled
companion questions that give them something to tie together, and its surface heuristic
baseline. The stages (data, train, evaluate, report) ask the registry (`causal_semloss.tasks`)
for a task by name and never branch on the name themselves.

A task module imports only the graph/oracle-level helpers (`oracles`, `text`, `constraints`):
it sits below every stage.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

import networkx as nx

from causal_semloss.constraints import Atom, Clause
from causal_semloss.text import NAME_RE, PROMPT_HEADER_RE

if TYPE_CHECKING:
    from causal_semloss.graphs import CausalGraph

Query = tuple[str, str, tuple[str, ...]]
# An adversarial minimal pair: (edges_a, query_a, edges_b, query_b); nodes are indices, named
# by the generator (`data.adversarial`). Its two answers must differ for most draws.
Pair = tuple[list[tuple[int, int]], tuple, list[tuple[int, int]], tuple]
PairBuilder = Callable[[random.Random], Pair]


def chain_edges(rng: random.Random, lo: int = 3, hi: int = 6) -> list[tuple[int, int]]:
    """0 -> 1 -> ... -> n-1 with n in [lo, hi]: the spine of several adversarial pairs."""
    return [(i, i + 1) for i in range(rng.randint(lo, hi) - 1)]


class Task(ABC):
    """One question type. Subclasses set the class attributes and override what differs;
    the defaults are those of a question about two nodes with no conditioning set."""

    name: ClassVar[str]
    # The question as it appears in a hypothesis or prompt: named groups x, y (and given).
    question: ClassVar[re.Pattern[str]]
    # (kind, builder) in rotation; generate_adversarial names the nodes and checks the answers.
    adversarial_kinds: ClassVar[tuple[tuple[str, PairBuilder], ...]]

    # --- oracle -------------------------------------------------------------------------
    @abstractmethod
    def answer(self, graph: nx.DiGraph, x: str, y: str, given: Sequence[str] = ()) -> bool:
        """The exact Yes (True) / No (False) for one question on one premise graph."""

    # --- grammar ------------------------------------------------------------------------
    def parse_question(self, text: str) -> tuple[str, str, list[str]] | None:
        """(x, y, given) of the task's question in `text` (last match wins), or None — also
        when a conditioning-set entry is not a name."""
        matches = list(self.question.finditer(text))
        if not matches:
            return None
        m = matches[-1]
        if "given" not in self.question.groupindex:
            return m.group("x"), m.group("y"), []
        given = [g.strip() for g in (m.group("given") or "").split(",")]
        if given == [""]:
            given = []
        if not all(NAME_RE.fullmatch(g) for g in given):
            return None
        return m.group("x"), m.group("y"), given

    def split_question(self, text: str) -> tuple[str, str]:
        """Split a prompt into (premise, question part) at the task's question; the paper's
        chat header ("... Given the following causal relationships:") leaves the premise."""
        matches = list(self.question.finditer(text))
        start = matches[-1].start() if matches else len(text)
        premise, question = text[:start], text[start:]
        return PROMPT_HEADER_RE.sub("", premise, count=1), question

    # --- queries ------------------------------------------------------------------------
    def random_query(self, rng: random.Random, graph: CausalGraph, max_given: int) -> Query:
        """Uniform over the question space: what class-targeted resampling draws from."""
        x, y = rng.sample(graph.nodes, 2)
        return x, y, ()

    def natural_query(self, rng: random.Random, graph: CausalGraph, max_given: int) -> Query:
        """Each split's own question distribution (its %Yes is the split's natural balance)."""
        return self.random_query(rng, graph, max_given)

    # --- constraints and companions -----------------------------------------------------
    @abstractmethod
    def clauses(self, atoms: Sequence[Atom], edges: Sequence[Sequence[str]]) -> list[Clause]:
        """CNF over the atoms (questions) of one premise that the true answers always satisfy
        (`constraints` says how a clause is written)."""

    def companion_candidates(
        self,
        labeled: list[Atom],
        nodes: list[str],
        edges: list[tuple[str, str]],
        graph: nx.DiGraph,
        rng: random.Random,
    ) -> Iterator[Atom]:
        """Unlabeled questions on a premise, in priority order, that let `clauses` bite
        (`data.companions` keeps the new ones up to its atom budget)."""
        yield from ((y, x, given) for x, y, given in labeled)

    # --- trivial baseline ---------------------------------------------------------------
    @abstractmethod
    def direct_link(self, query: Sequence[str] | None, edges: set[tuple[str, str]]) -> bool:
        """The surface heuristic's answer from the premise's sentences alone; `query` is None
        when the row's question did not parse (the heuristic then reads no sentence)."""
