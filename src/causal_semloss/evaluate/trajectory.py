"""The trajectory probe: the trained task's ID test and every OOD split scored while training
runs, at fixed numbers of examples seen (`train.trajectory.examples`), so a collapse that comes
and goes between the first and the last step is seen (docs/studies/claims.md).

Collapse depends on how long one trains; scoring only the final model would miss a model that
collapsed at 10k examples and recovered by 150k, or the reverse. Each point scores the first
`train.trajectory.max_examples` rows of each split (stratified, so a balanced split stays
balanced): cheap enough to run often. The final model is scored on the full splits by
`evaluate`, as for every run. The trainer calls `probe(model, step)` and stores the rows it
returns in train_metrics.json under "trajectory" (and in the checkpoint, so resume keeps them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from causal_semloss.evaluate.eval_sets import encode_capped, load_builtin_sets
from causal_semloss.evaluate.metrics import binary_metrics, split_collapsed
from causal_semloss.model.backbone import Backbone
from causal_semloss.model.batches import EncodedSet
from causal_semloss.model.scoring import scoring_options, yes_no_margins


@dataclass
class TrajectoryProbe:
    """Scores `sets` ({eval-set key: encoded prompts}) at the optimiser steps `steps`."""

    backbone: Backbone
    sets: dict[str, EncodedSet]
    steps: tuple[int, ...]  # optimiser steps done (0 = before the first step)
    per_step: int  # examples a step
    cfg: DictConfig

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, step: int) -> list[dict]:
        was_training = model.training
        model.eval()
        rows = []
        device = next(model.parameters()).device
        for key, encoded in self.sets.items():
            margins = yes_no_margins(
                model,
                encoded,
                pad_id=self.backbone.tokenizer.pad_token_id,
                yes_id=self.backbone.yes_id,
                no_id=self.backbone.no_id,
                batch_size=self.cfg.eval.batch_size,
                bf16=self.cfg.runtime.bf16,
                **scoring_options(self.cfg.eval, device),
            )
            metrics = binary_metrics((margins > 0).tolist(), encoded.oracle.tolist())
            rows.append(
                {
                    "step": step,
                    "examples": step * self.per_step,
                    "set": key,
                    "n": len(encoded),
                    "yes_rate": metrics["yes_rate"],
                    "true_yes_rate": metrics["true_yes"] / len(encoded),
                    "accuracy": metrics["accuracy"],
                    "balanced_accuracy": metrics["balanced_accuracy"],
                    "mcc": metrics["mcc"],
                    "collapsed": split_collapsed(
                        key.split("/", 1)[1],
                        metrics["yes_rate"],
                        metrics["true_yes"] / len(encoded),
                        self.cfg.eval.collapse_threshold,
                        len(encoded),
                        self.cfg.eval.collapse_min_answers,
                    ),
                }
            )
        if was_training:
            model.train()
        return rows


def probe_steps(examples: list[int], per_step: int, total_steps: int) -> tuple[int, ...]:
    """Each point in examples seen as the first optimiser step that reaches it; points past the
    end of training are left out (the full evaluation scores the end)."""
    steps = {math.ceil(point / per_step) for point in examples}
    return tuple(sorted(step for step in steps if step <= total_steps))


def probe_factory(cfg: DictConfig):
    """What the trainer calls to build the probe `cfg.train.trajectory` asks for; None when it
    lists no point."""
    if not cfg.train.trajectory.examples:
        return None
    return lambda backbone, per_step, total_steps: build_probe(cfg, backbone, per_step, total_steps)


def build_probe(
    cfg: DictConfig, backbone: Backbone, per_step: int, total_steps: int
) -> TrajectoryProbe:
    spec = cfg.train.trajectory
    sets = {
        eval_set.key: encode_capped(eval_set, backbone.tokenizer, cfg)
        for eval_set in load_builtin_sets(cfg, [cfg.task.name], spec.max_examples)
    }
    return TrajectoryProbe(
        backbone=backbone,
        sets=sets,
        steps=probe_steps(list(spec.examples), per_step, total_steps),
        per_step=per_step,
        cfg=cfg,
    )
