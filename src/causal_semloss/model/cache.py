"""Where a from-config model's pre-trained backbone lives: a cache dir named by everything that
determines its weights. The model stage loads from it; the train stage's pre-training writes
it — so this is the one place both read the name from, and neither imports the other."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from causal_semloss.config_checks import checked
from causal_semloss.data.build import config_for_task, data_identity
from causal_semloss.runtime import Runtime


def corpus_config(cfg: DictConfig, task: str) -> DictConfig:
    """The corpus is the training split of the *default* data setting (pretrain.corpus_per_task
    examples, pretrain.seed), whatever data setting the run fine-tunes on — so one backbone
    serves every experiment, as one Gemma checkpoint serves every row of the paper."""
    plain = OmegaConf.to_container(config_for_task(cfg, task), resolve=True)
    plain["data"] = plain["corpus_data"]  # conf/config.yaml: data@corpus_data: default
    plain["data"]["n_train"] = cfg.model.pretrain.corpus_per_task
    plain["seed"] = cfg.model.pretrain.seed
    return checked(OmegaConf.create(plain))


def backbone_identity(cfg: DictConfig) -> dict:
    """Everything that determines the pre-trained weights (not the fine-tuning seed or data) —
    the device kind, precision and CPU thread count too: they change the float summation order,
    so a cache built by a 2-thread process must not be reused by a 1-thread one."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    runtime = Runtime.of(cfg)
    device = runtime.device
    return {
        "model": {k: model[k] for k in ("architecture", "tokenizer_words", "prompt", "pretrain")},
        "corpus": [data_identity(corpus_config(cfg, task)) for task in cfg.model.pretrain.tasks],
        "device": device.type,
        "bf16": runtime.bf16,
        "threads": runtime.threads if device.type == "cpu" else None,
    }


def pretrained_dir(cfg: DictConfig) -> Path:
    blob = json.dumps(backbone_identity(cfg), sort_keys=True).encode()
    return (
        Path(cfg.paths.cache_root)
        / "backbones"
        / f"{cfg.model.name}-{hashlib.sha256(blob).hexdigest()[:12]}"
    )


def needs_lm_stage(cfg: DictConfig) -> bool:
    return cfg.model.source == "config" and cfg.model.pretrain.steps > 0
