"""Premise groups for the exact constraint loss: which rows of a training set ask about one
premise, which truth assignments of those rows satisfy the premise's formula, and a batch
sampler that never splits a group.

Everything per group is computed once, when the set is encoded: the formula's clauses
(`Task.clauses`) become a boolean mask over the 2**atoms assignments, so a
training step only gathers rows and runs one log-sum-exp (`losses.constraint_term`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from causal_semloss.errors import ConfigError
from causal_semloss.schema import MAX_CONSTRAINT_ATOMS
from causal_semloss.tasks import get_task


@cache
def assignments(n_atoms: int) -> torch.Tensor:
    """(2**n_atoms, n_atoms) float: row k is the binary expansion of k, atom i = bit i."""
    k = torch.arange(2**n_atoms)[:, None]
    return ((k >> torch.arange(n_atoms)) & 1).float()


def satisfying_mask(clauses: torch.Tensor) -> torch.Tensor:
    """(groups, clauses, atoms) literal signs (+1 Yes, -1 No, 0 absent; an all-zero clause is
    padding) -> (groups, 2**atoms) bool: which assignments satisfy every clause."""
    bits = assignments(clauses.shape[-1])
    true_literals = (clauses > 0).float() @ bits.T + (clauses < 0).float() @ (1 - bits).T
    padding = (clauses == 0).all(dim=-1)[..., None]
    return ((true_literals > 0) | padding).all(dim=1)


@dataclass
class PremiseGroups:
    start: torch.Tensor  # (g,) first row of each group (a group's rows are consecutive)
    size: torch.Tensor  # (g,) rows (= atoms) per group
    labeled: torch.Tensor  # (g,) labeled rows per group
    satisfying: torch.Tensor  # (g, 2**atoms) bool
    constrained: torch.Tensor  # (g,) bool: the group's formula has at least one clause

    @property
    def atoms(self) -> int:
        return int(self.satisfying.shape[1]).bit_length() - 1

    def __len__(self) -> int:
        return self.start.shape[0]


def build_premise_groups(records: list[dict], task: str) -> PremiseGroups:
    """One group per run of consecutive records sharing a `graph_id`; its atoms are its rows."""
    bounds: list[int] = [0]
    for i in range(1, len(records)):
        if records[i]["graph_id"] != records[i - 1]["graph_id"]:
            bounds.append(i)
    bounds.append(len(records))
    ids = [records[b]["graph_id"] for b in bounds[:-1]]
    if len(set(ids)) != len(ids):
        raise ConfigError("training records: a premise's questions are not consecutive")
    sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    atoms = max(sizes)
    if atoms > MAX_CONSTRAINT_ATOMS:
        raise ConfigError(
            f"a premise has {atoms} questions; the constraint loss enumerates at most "
            f"{MAX_CONSTRAINT_ATOMS} (lower data.queries_per_graph or data.companions.max_atoms)"
        )
    build = get_task(task).clauses
    formulas = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        group = records[a:b]
        atom_list = [(r["query"][0], r["query"][1], tuple(r["given"])) for r in group]
        formulas.append(build(atom_list, group[0]["edges"]))
    width = max((len(f) for f in formulas), default=0) or 1
    clauses = torch.zeros((len(formulas), width, atoms), dtype=torch.int8)
    for g, formula in enumerate(formulas):
        for c, clause in enumerate(formula):
            for literal in clause:
                clauses[g, c, abs(literal) - 1] = 1 if literal > 0 else -1
    return PremiseGroups(
        start=torch.tensor(bounds[:-1]),
        size=torch.tensor(sizes),
        labeled=torch.tensor(
            [
                sum(not r.get("companion") for r in records[a:b])
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        ),
        satisfying=satisfying_mask(clauses),
        constrained=torch.tensor([bool(f) for f in formulas]),
    )


def batches_per_epoch(groups: PremiseGroups, batch_size: int) -> int:
    return int(groups.labeled.sum()) // batch_size


def group_batches(groups: PremiseGroups, order: torch.Tensor, batch_size: int) -> list[dict]:
    """Whole groups in `order`, cut where the running count of labeled rows crosses a multiple of
    `batch_size`: a batch holds batch_size ± (largest group - 1) labeled rows, batch_size on
    average, so a variant with companions sees as many answers per step as one without;
    companions ride along. Each batch:
    `rows` (set indices), `group_slots` (groups, atoms: batch position of each atom, -1 where a
    group has fewer), `group_satisfying`, `group_constrained`."""
    n_batches = batches_per_epoch(groups, batch_size)
    labeled_cum = groups.labeled[order].cumsum(0)
    cuts = torch.searchsorted(labeled_cum, torch.arange(1, n_batches + 1) * batch_size)
    slot = torch.arange(groups.atoms)
    out, first = [], 0
    for cut in (cuts + 1).tolist():
        chosen = order[first:cut]
        first = cut
        size = groups.size[chosen]
        offset = size.cumsum(0) - size
        rows = torch.repeat_interleave(groups.start[chosen] - offset, size) + torch.arange(
            int(size.sum())
        )
        slots = torch.where(slot < size[:, None], offset[:, None] + slot, -1)
        out.append(
            {
                "rows": rows,
                "group_slots": slots,
                "group_satisfying": groups.satisfying[chosen],
                "group_constrained": groups.constrained[chosen],
            }
        )
    return out
