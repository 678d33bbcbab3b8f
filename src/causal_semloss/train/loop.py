"""The one optimisation loop every training stage runs: backbone pre-training (`pretrain.py`,
`pretraining.py`) and fine-tuning (`trainer.py`).

A stage supplies what differs — how one step's forward and backward passes are made
(`accumulate`), the learning rate per step, what to do on log and evaluation steps, and when to
stop — and the loop does the rest the same way everywhere: rate, gradient clipping, optimiser
step, a progress bar, and loss values read back to the host (one sync) only on log steps, so a
GPU is never stalled by a `.item()` per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm

StepValues = dict[str, "torch.Tensor | float"]


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return (
        max(0.0, 1.0 - progress)
        if schedule == "linear"
        else 0.5 * (1 + math.cos(math.pi * progress))
    )


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of one epoch: a pure function of (seed, epoch), so resume is bit-exact."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=generator)


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    return epoch_permutation(n, seed, epoch).tolist()


@dataclass(frozen=True)
class LoopPlan:
    total_steps: int
    log_steps: int
    eval_steps: int
    grad_clip: float
    desc: str


def read_back(values: StepValues) -> dict[str, float]:
    """Device tensors -> floats in one host sync (numbers pass through)."""
    tensors = {k: v for k, v in values.items() if torch.is_tensor(v)}
    if not tensors:
        return dict(values)
    floats = torch.stack([t.detach().double() for t in tensors.values()]).tolist()
    return {**values, **dict(zip(tensors, floats, strict=True))}


def optimise(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    plan: LoopPlan,
    *,
    start: int,
    lr_at: Callable[[int], float],
    accumulate: Callable[[int], StepValues],
    on_log: Callable[[int, dict[str, float]], None],
    on_eval: Callable[[int], None] | None = None,
    finish_early: Callable[[int], bool] | None = None,
    after_step: Callable[[int], None] | None = None,
) -> int:
    """Optimiser steps `start` .. `plan.total_steps - 1`; returns the number of steps done.

    Steps are counted as updates done (1-based) in every callback. `accumulate(step)` runs the
    forward and backward passes of step `step` (0-based) and returns its loss values as device
    tensors. Logging happens on the first step, every `log_steps` and the last; evaluation every
    `eval_steps` and on the last. `finish_early(done)` true makes `done` the last step (a time
    budget); `after_step(done)` runs after everything else (checkpoints; it may raise to stop).
    """
    done = start
    with tqdm(
        total=plan.total_steps, initial=start, desc=plan.desc, unit="step", mininterval=1.0
    ) as bar:
        while done < plan.total_steps:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(done)
            values = accumulate(done)
            torch.nn.utils.clip_grad_norm_(model.parameters(), plan.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done += 1
            bar.update(1)
            early = finish_early is not None and finish_early(done)
            last = done == plan.total_steps or early
            if done == 1 or done % plan.log_steps == 0 or last:
                floats = read_back(values)
                on_log(done, floats)
                bar.set_postfix(loss=f"{floats['loss']:.4f}")
            if on_eval is not None and (done % plan.eval_steps == 0 or last):
                on_eval(done)
            if after_step is not None:
                after_step(done)
            if early:
                break
    return done
