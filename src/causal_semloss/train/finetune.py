"""The fine-tune stage: `train(cfg, out_dir)` — pre-train stage first where the model needs it,
then data, the trainer, and the model dir + train_metrics.json it leaves behind."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from causal_semloss.atomic import remove_stale_staging, write_json
from causal_semloss.paths import TRAIN_METRICS
from causal_semloss.runtime import Runtime
from causal_semloss.train.cached_lm_stage import prepare_backbone
from causal_semloss.train.checkpoints import (
    refuse_another_config,
    remove_checkpoint,
    save_model_dir,
    sidecar_of,
)
from causal_semloss.train.finetune_data import prepare, require_premise_groups
from causal_semloss.train.trainer import CHECKPOINT, ProbeFactory, Trainer


def train(
    cfg: DictConfig,
    out_dir: str | Path,
    interrupt_at: int | None = None,
    logger=None,
    probe_factory: ProbeFactory | None = None,
    runtime: Runtime | None = None,
) -> dict:
    """Train per `cfg` into `out_dir` (resuming a checkpoint there); returns the metrics dict.

    Writes `out_dir/model/` (safetensors + tokenizer) and `out_dir/train_metrics.json`, each
    atomically; the checkpoint is removed once the final model is in place. A finished training
    in `out_dir` under another config is refused (ConfigError); under the same one it is redone.
    """
    out_dir = Path(out_dir)
    refuse_another_config(out_dir, cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Temp files and staging dirs of a run killed mid-write (this job is the dir's one writer).
    for path in (out_dir / CHECKPOINT, sidecar_of(out_dir / CHECKPOINT), out_dir / "model"):
        remove_stale_staging(path)
    runtime = (runtime or Runtime.of(cfg)).use_threads()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    require_premise_groups(cfg)
    prepare_backbone(cfg, runtime)  # the pre-train stage, before fine-tuning
    backbone, train_set, val_set, data_dir = prepare(cfg)
    trainer = Trainer(cfg, out_dir, backbone, train_set, val_set, probe_factory, runtime)
    resumed = trainer.maybe_resume()
    start_step, started = trainer.state.step, time.perf_counter()
    state = trainer.run(interrupt_at=interrupt_at, logger=logger)
    seconds = time.perf_counter() - started
    n_params = sum(p.numel() for p in backbone.model.parameters())
    n_trainable = sum(p.numel() for p in backbone.model.parameters() if p.requires_grad)
    metrics = {
        "steps": state.step,
        "total_steps": trainer.total_steps,
        "examples_seen": state.step * trainer.per_step,
        "n_train": len(train_set),
        "n_val": len(val_set),
        "params": n_params,
        "trainable_params": n_trainable,
        "resumed": resumed,
        "data_dir": str(data_dir),
        "history": state.history,
        "validation": state.validation,
        "trajectory": state.trajectory,
        # Wall time of the training loop in this process (probes and validation included; a
        # resumed run counts only the steps it ran here): a measurement, not a result.
        "timing": {
            "train_seconds": round(seconds, 1),
            "examples_per_second": round((state.step - start_step) * trainer.per_step / seconds, 1)
            if seconds > 0
            else None,
        },
    }
    save_model_dir(backbone, out_dir / "model", cfg)
    write_json(out_dir / TRAIN_METRICS, metrics)
    remove_checkpoint(out_dir / CHECKPOINT)
    return metrics


def load_metrics(out_dir: str | Path) -> dict:
    return json.loads((Path(out_dir) / TRAIN_METRICS).read_text())
