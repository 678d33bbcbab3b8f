"""Fine-tuning checkpoints that resume bit-exactly or not at all: weights, optimiser, every RNG
stream (torch CPU and CUDA, Python, NumPy) and a hash of the config that shapes the run; a
checkpoint written under another config is refused. Also the final model dir, written
atomically."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_dir, atomic_path
from causal_semloss.errors import ConfigError
from causal_semloss.model.backbone import Backbone, save_backbone

# Settings that do not change what a run computes: a checkpoint may resume under other values.
_RESUMABLE_ACROSS = ("threads", "log_steps", "eval_steps", "checkpoint_steps", "eval_batch_size")


def run_config_hash(cfg: DictConfig) -> str:
    """Hash of everything that shapes a training run (seed, task, data, model, loss, train) but
    bookkeeping such as thread count or logging cadence."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    train = {k: v for k, v in plain["train"].items() if k not in _RESUMABLE_ACROSS}
    shaping = {k: plain[k] for k in ("seed", "task", "data", "model", "loss")} | {"train": train}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()


def save_checkpoint(path: Path, cfg: DictConfig, model, optimizer, **state) -> None:
    payload = {
        **state,
        "config_hash": run_config_hash(cfg),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "python_rng": random.getstate(),
        "numpy_rng": np.random.get_state(),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path, cfg: DictConfig, model, optimizer, device) -> dict:
    """Restore weights, optimiser and RNG streams from `path`; the payload's own entries back."""
    payload = torch.load(path, map_location=device, weights_only=False)
    if payload.get("config_hash") != run_config_hash(cfg):
        raise ConfigError(
            f"{path} was written by a run with another config; resume with the same "
            "settings, or use a new output dir"
        )
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["torch_rng"].cpu())  # map_location moved it to the device
    if payload["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in payload["cuda_rng"]])
    random.setstate(payload["python_rng"])
    np.random.set_state(payload["numpy_rng"])
    return payload


def save_model_dir(backbone: Backbone, target: Path) -> None:
    """The fine-tuned model (safetensors + tokenizer) at `target`, assembled beside it and renamed
    into place, so a crash never leaves half a model."""
    with atomic_dir(target) as staging:
        save_backbone(backbone, staging)
