"""The one optimisation loop every training stage runs: backbone pre-training (`pretrain.py`,
`cached_lm_stage.py`) and fine-tuning (`trainer.py`).

A stage supplies what differs — how one step's forward and backward passes are made
(`accumulate`), the learning rate per step, what to do on log and evaluation steps, and when to
stop — and the loop does the rest the same way everywhere: rate, gradient clipping, optimiser
step, a progress bar, and loss values read back to the host (one sync) only on log steps, so a
GPU is never stalled by a `.item()` per step.

A loss or gradient norm that turns NaN or infinite stops training with `TrainingDiverged`: the
first such step is kept on the device (`FiniteWatch`) and checked on log steps, at the end and
before every checkpoint, so no stage ever saves weights a non-finite step produced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm

StepValues = dict[str, "torch.Tensor | float"]


def adamw(params, settings, fused: bool = False) -> torch.optim.AdamW:
    """The optimiser of every training stage: AdamW with `settings.lr`, `.weight_decay` and
    `.betas` (`train`, `model.pretrain` or a build stage). `fused` (CUDA): one kernel per step;
    otherwise torch picks its default implementation."""
    return torch.optim.AdamW(
        params,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        betas=tuple(settings.betas),
        fused=fused or None,
    )


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


class TrainingDiverged(RuntimeError):
    """A loss, gradient norm or weight became NaN or infinite: training stopped, nothing saved.
    Not a UserError: a sweep records the job as failed with this reason."""


class FiniteWatch:
    """The first step whose loss or gradient norm was not finite, kept as a device tensor so that
    watching costs no host sync per step; `check()` syncs once and raises TrainingDiverged."""

    def __init__(self, desc: str):
        self.desc = desc
        self.first_bad: torch.Tensor | None = None  # 1-based step, -1 while all were finite

    def observe(self, done: int, *values: torch.Tensor | float) -> None:
        """Record step `done` (1-based, as the callbacks count) if any value is not finite."""
        tensors = [torch.as_tensor(v).detach().double() for v in values]
        total = torch.stack([t.to(tensors[0].device) for t in tensors]).sum()
        if self.first_bad is None:
            self.first_bad = torch.full((), -1, dtype=torch.long, device=total.device)
        bad = ~torch.isfinite(total) & (self.first_bad < 0)
        self.first_bad = self.first_bad.masked_fill(bad, done)

    def check(self) -> None:
        if self.first_bad is not None and (step := int(self.first_bad)) >= 0:
            raise TrainingDiverged(
                f"{self.desc}: loss or gradient norm not finite (NaN or inf) at step {step}; "
                "training stopped and nothing was saved (check the learning rate, gradient clip, "
                "λ schedule and loss options)"
            )


def require_finite_weights(model: torch.nn.Module, desc: str, done: int) -> None:
    """One host sync: every parameter finite, or TrainingDiverged."""
    flags = [p.detach().isfinite().all() for p in model.parameters()]
    if flags and not bool(torch.stack([f.to(flags[0].device) for f in flags]).all()):
        raise TrainingDiverged(
            f"{desc}: weights not finite (NaN or inf) after step {done}; training stopped and "
            "nothing was saved"
        )


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
    watch: FiniteWatch | None = None,
) -> int:
    """Optimiser steps `start` .. `plan.total_steps - 1`; returns the number of steps done.

    Steps are counted as updates done (1-based) in every callback. `accumulate(step)` runs the
    forward and backward passes of step `step` (0-based) and returns its loss values as device
    tensors. Logging happens on the first step, every `log_steps` and the last; evaluation every
    `eval_steps` and on the last. `finish_early(done)` true makes `done` the last step (a time
    budget); `after_step(done)` runs after everything else (checkpoints; it may raise to stop).
    A non-finite loss or gradient norm raises TrainingDiverged on the next log step or at the end
    (pass `watch` to check it yourself too, e.g. before a checkpoint); so do non-finite weights
    at the end.
    """
    watch = watch or FiniteWatch(plan.desc)
    done = start
    with tqdm(
        total=plan.total_steps, initial=start, desc=plan.desc, unit="step", mininterval=1.0
    ) as bar:
        while done < plan.total_steps:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(done)
            values = accumulate(done)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), plan.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done += 1
            watch.observe(done, values["loss"], norm)
            bar.update(1)
            early = finish_early is not None and finish_early(done)
            last = done == plan.total_steps or early
            if done == 1 or done % plan.log_steps == 0 or last:
                watch.check()  # read_back syncs here anyway
                floats = read_back(values)
                on_log(done, floats)
                bar.set_postfix(loss=f"{floats['loss']:.4f}")
            if on_eval is not None and (done % plan.eval_steps == 0 or last):
                on_eval(done)
            if after_step is not None:
                after_step(done)
            if early:
                break
    watch.check()
    if done > start:
        require_finite_weights(model, plan.desc, done)
    return done
