"""Random causal graphs of the shapes the paper's splits use; always acyclic, names distinct.

A `CausalGraph` keeps the generation order of its nodes (the chain order, which defines the
"natural" question of the transitivity splits) and its edges in premise-sentence order.
"""

from __future__ import annotations

import math
import random
import string
from dataclasses import dataclass

from causal_semloss.oracles import Edge, edges_are_acyclic
from causal_semloss.schema import SplitShapeConfig
from causal_semloss.text import is_name

NAME_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class CausalGraph:
    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]

    @property
    def key(self) -> frozenset[Edge]:
        """Identity of the premise regardless of sentence order (used for leakage checks)."""
        return frozenset(self.edges)


def random_names(rng: random.Random, count: int, length: tuple[int, int]) -> list[str]:
    """`count` distinct names of random length in `length`: names of the text grammar, none
    equal to a prompt word. The alphabet stays ASCII (the suite's tokenizer spells names in
    characters from it); only parsing of external files accepts Unicode."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = "".join(rng.choice(NAME_ALPHABET) for _ in range(rng.randint(*length)))
        if name in seen or not is_name(name):
            continue
        seen.add(name)
        names.append(name)
    return names


def _chain_edges(
    rng: random.Random, n: int, flip_prob: float, leaf_prob: float
) -> list[tuple[int, int]]:
    """Chain 0-1-2-... where each later node may instead hang off an earlier node as a leaf."""
    edges = []
    chain_end = 0
    for node in range(1, n):
        if node >= 2 and rng.random() < leaf_prob:
            parent = rng.randint(0, chain_end)
        else:
            parent, chain_end = chain_end, node
        edge = (parent, node)
        edges.append(edge[::-1] if rng.random() < flip_prob else edge)
    return edges


def _random_dag_edges(rng: random.Random, n: int, density: float) -> list[tuple[int, int]]:
    """Each node gets 1..min(n*density, 5) random later children (the authors' d-sep graphs)."""
    cap = max(1, min(int(n * density), 5))
    edges = []
    for node in range(n - 1):
        later = list(range(node + 1, n))
        for child in sorted(rng.sample(later, min(rng.randint(1, cap), len(later)))):
            edges.append((node, child))
    return edges


def _branched_edges(rng: random.Random, n: int, branching: float) -> list[tuple[int, int]]:
    """Dense DAG: every node has on average `branching` children among later nodes."""
    whole, frac = math.floor(branching), branching - math.floor(branching)
    edges = []
    for node in range(n - 1):
        later = list(range(node + 1, n))
        k = min(whole + (rng.random() < frac), len(later))
        for child in sorted(rng.sample(later, k)):
            edges.append((node, child))
    return edges


def make_graph(rng: random.Random, shape: SplitShapeConfig) -> CausalGraph:
    """Draw one premise graph of `shape`; raises if the result is not a DAG (never expected).

    `shape` should be a plain `SplitShapeConfig` (see `plain_shape`): this runs 10^5 times.
    """
    n = rng.randint(*shape.nodes)
    if shape.shape == "chain":
        index_edges = _chain_edges(rng, n, rng.choice(list(shape.flip_probs)), shape.leaf_prob)
    elif shape.shape == "random_dag":
        index_edges = _random_dag_edges(rng, n, rng.uniform(*shape.density))
    elif shape.shape == "branched":
        index_edges = _branched_edges(rng, n, rng.uniform(*shape.branching_factor))
    else:
        raise ValueError(f"unknown shape {shape.shape!r}")
    names = random_names(rng, n, tuple(shape.name_length))
    edges = [(names[u], names[v]) for u, v in index_edges]
    if shape.reverse_edges:
        edges = [(v, u) for u, v in edges]
    if shape.shuffle:
        rng.shuffle(edges)
    used = {node for edge in edges for node in edge}
    graph = CausalGraph(nodes=tuple(x for x in names if x in used), edges=tuple(edges))
    if not edges_are_acyclic(graph.edges):
        raise AssertionError(f"generated a cyclic premise: {graph.edges}")
    return graph


def plain_shape(shape) -> SplitShapeConfig:
    """A DictConfig split shape as a plain dataclass (attribute access 50x faster)."""
    if isinstance(shape, SplitShapeConfig):
        return shape
    from omegaconf import OmegaConf

    return SplitShapeConfig(**OmegaConf.to_container(shape, resolve=True))
