"""Pre-train a from-config backbone on the training premises' text before any fine-tuning.

Why: the paper fine-tunes a *pretrained* Gemma. A randomly initialised tiny Gemma trained on the
Yes/No answer alone sits on a loss plateau for thousands of steps (README "Training"): nothing in
a random network matches the random node names of a question to those of its premise. A short
language-modelling stage on the prompts — premise and question text of the training split of
both tasks, never an answer, never an evaluation split — stands in for pretraining. It runs once
per backbone config and is cached, so every variant and seed starts from the same backbone, as
every variant in the paper starts from the same Gemma checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import uuid
from pathlib import Path

import torch
from filelock import FileLock
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import write_json
from causal_semloss.batches import collate, encode_records
from causal_semloss.data.build import build_data, config_for_task, data_identity, read_split
from causal_semloss.loop import LoopPlan, autocast, epoch_order, lr_factor, optimise, resolve_device
from causal_semloss.losses import cross_entropy
from causal_semloss.modeling import build_from_config
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.schema import checked

log = logging.getLogger(__name__)


def corpus_config(cfg: DictConfig, task: str) -> DictConfig:
    """The corpus is the training split of the *default* data setting (pretrain.corpus_per_task
    examples, pretrain.seed), whatever data setting the run fine-tunes on — so one backbone
    serves every experiment, as one Gemma checkpoint serves every row of the paper."""
    plain = OmegaConf.to_container(config_for_task(cfg, task), resolve=True)
    plain["data"] = OmegaConf.to_container(
        OmegaConf.load(CONFIG_DIR / "data" / "default.yaml"), resolve=True
    )
    plain["data"]["n_train"] = cfg.model.pretrain.corpus_per_task
    plain["seed"] = cfg.model.pretrain.seed
    return checked(OmegaConf.create(plain))


def backbone_identity(cfg: DictConfig) -> dict:
    """Everything that determines the pre-trained weights (not the fine-tuning seed or data) —
    the device kind, precision and CPU thread count too: they change the float summation order,
    so a cache built by a 2-thread process must not be reused by a 1-thread one."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    device = resolve_device(cfg.train.device)
    return {
        "model": {k: model[k] for k in ("architecture", "tokenizer_words", "prompt", "pretrain")},
        "corpus": [data_identity(corpus_config(cfg, task)) for task in cfg.model.pretrain.tasks],
        "device": device.type,
        "bf16": bool(cfg.train.bf16 and device.type == "cuda"),
        "threads": cfg.train.threads if device.type == "cpu" else None,
    }


def pretrained_dir(cfg: DictConfig) -> Path:
    blob = json.dumps(backbone_identity(cfg), sort_keys=True).encode()
    return (
        Path(cfg.paths.cache_root)
        / "backbones"
        / f"{cfg.model.name}-{hashlib.sha256(blob).hexdigest()[:12]}"
    )


def needs_pretraining(cfg: DictConfig) -> bool:
    return cfg.model.source == "config" and cfg.model.pretrain.steps > 0


def ensure_pretrained(cfg: DictConfig) -> Path:
    """The pre-train stage of a from-config model: the cached backbone dir for `cfg`, trained
    first if missing. Called explicitly by the train, run and evaluate entry points (and
    `python -m causal_semloss.pretrain model=tiny_gemma3`); loading never trains."""
    target = pretrained_dir(cfg)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One job pre-trains; concurrent jobs wait for the lock, then load the backbone it wrote.
    with FileLock(target.with_name(f"{target.name}.lock")):
        if not (target / "config.json").exists():
            _pretrain(cfg, target)
    return target


def _pretrain(cfg: DictConfig, target: Path) -> None:
    """Train the backbone of `cfg` and rename it into `target` (the caller holds its lock)."""
    pc = cfg.model.pretrain
    device = resolve_device(cfg.train.device)
    if device.type == "cpu":
        torch.set_num_threads(cfg.train.threads)  # part of the identity: see backbone_identity
    bf16 = bool(cfg.train.bf16 and device.type == "cuda")
    log.info("pre-training backbone %s on %s (bf16=%s)", target.name, device, bf16)
    torch.manual_seed(pc.seed)
    model, tokenizer = build_from_config(cfg)
    model.to(device)
    records = []
    for task in pc.tasks:
        data_dir, _, _ = build_data(corpus_config(cfg, task))
        records += read_split(data_dir, "train")
    corpus = encode_records(records, tokenizer, cfg.model.prompt)
    optimizer = torch.optim.AdamW(model.parameters(), lr=pc.lr, weight_decay=0.0, betas=(0.9, 0.98))
    steps_per_epoch = max(1, len(corpus) // pc.batch_size)
    losses = []

    orders: dict[int, list[int]] = {}  # the current epoch's order, computed once per epoch

    def accumulate(step: int) -> dict:
        epoch, offset = divmod(step, steps_per_epoch)
        if epoch not in orders:
            orders.clear()
            orders[epoch] = epoch_order(len(corpus), pc.seed, epoch)
        batch = collate(
            corpus,
            orders[epoch][offset * pc.batch_size : (offset + 1) * pc.batch_size],
            tokenizer.pad_token_id,
            with_answer=False,
        )
        with autocast(device, bf16):
            logits = model(
                input_ids=batch["input_ids"].to(device, non_blocking=True),
                attention_mask=batch["attention_mask"].to(device, non_blocking=True),
                position_ids=batch["position_ids"].to(device, non_blocking=True),
                use_cache=False,
            ).logits
        loss = cross_entropy(
            logits.float(),
            batch["labels"].to(device, non_blocking=True),
            0,
            batch["answer_col"],
            "full",
            paper_ce_bug=False,
        )
        loss.backward()
        losses.append(loss.detach())
        return {"loss": losses[-1]}

    model.train()
    optimise(
        model,
        optimizer,
        LoopPlan(pc.steps, pc.steps, pc.steps, 1.0, "pretrain backbone"),
        start=0,
        lr_at=lambda step: pc.lr * lr_factor(step, pc.steps, pc.warmup_steps, "constant"),
        accumulate=accumulate,
        on_log=lambda done, values: None,  # every step's loss is kept in `losses`
    )
    losses = torch.stack(losses).tolist() if losses else []  # one host sync, not one per step
    model.to("cpu")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_json(
            staging / "pretrain_metrics.json",
            {"steps": pc.steps, "lm_loss": losses, **backbone_identity(cfg)},
        )
        if target.exists():  # a stale dir without config.json: moved aside, then deleted
            aside = target.with_name(f".{target.name}.stale-{uuid.uuid4().hex[:8]}")
            target.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("pre-trained backbone cached in %s", target)
