"""Which rows each fine-tuning step trains on: a pure function of (seed, epoch), so a resumed
run sees the same batches. Two samplers:

- rows: a permutation of the training rows, `batch_size` rows a micro-batch (the default);
- premise groups: a permutation of premises, whole premises a micro-batch (`premise_groups`),
  used when a loss term ties the answers of one premise together.

The epoch's order and every micro-batch's shape are computed once per epoch on the host, so the
training loop never syncs with the device for them.
"""

from __future__ import annotations

import torch

from causal_semloss.model.batches import PaddedSet
from causal_semloss.train.loop import epoch_permutation
from causal_semloss.train.premise_groups import PremiseGroups, batches_per_epoch, group_batches

MicroBatch = tuple[
    torch.Tensor, int, int, dict
]  # (indices on the device, width, answer_col, extras)


class BatchPlanner:
    def __init__(
        self,
        padded: PaddedSet,
        seed: int,
        micro_batch: int,
        grad_accum: int,
        device: torch.device,
        groups: PremiseGroups | None = None,
    ):
        self.padded, self.seed, self.micro, self.accum = padded, seed, micro_batch, grad_accum
        self.device, self.groups = device, groups
        batches = (
            len(padded) // micro_batch if groups is None else batches_per_epoch(groups, micro_batch)
        )
        self.steps_per_epoch = batches // grad_accum
        self._plan: tuple[int, list[MicroBatch]] | None = None

    def micro_batches(self, step: int) -> list[MicroBatch]:
        epoch, offset = divmod(step, self.steps_per_epoch)
        if self._plan is None or self._plan[0] != epoch:
            self._plan = (epoch, self._epoch(epoch))
        return self._plan[1][offset * self.accum : (offset + 1) * self.accum]

    def _epoch(self, epoch: int) -> list[MicroBatch]:
        n_batches = self.steps_per_epoch * self.accum
        if self.groups is None:
            order = epoch_permutation(len(self.padded), self.seed, epoch)
            order = order[: n_batches * self.micro]
            widths, answer_cols = self.padded.shapes(order, self.micro)
            on_device = order.to(self.device)
            return [
                (on_device[k * self.micro : (k + 1) * self.micro], widths[k], answer_cols[k], {})
                for k in range(n_batches)
            ]
        order = epoch_permutation(len(self.groups), self.seed, epoch)
        plan = []
        for batch in group_batches(self.groups, order, self.micro)[:n_batches]:
            rows = batch.pop("rows")
            (width,), (answer_col,) = self.padded.shapes(rows, len(rows))
            extras = {k: v.to(self.device) for k, v in batch.items()}
            plan.append((rows.to(self.device), width, answer_col, extras))
        return plan
