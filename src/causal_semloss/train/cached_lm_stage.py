"""The cached language-model stage of a from-config backbone (`tiny_gemma3`): before any
fine-tuning, train it on the training premises' text once per backbone config, and reuse it.
The pre-train entry point that builds a shipped stand-in backbone is `pretrain.py`.

Why: the paper fine-tunes a *pretrained* Gemma. A randomly initialised tiny Gemma trained on the
Yes/No answer alone sits on a loss plateau for thousands of steps (docs/models.md): nothing in
a random network matches the random node names of a question to those of its premise. A short
language-modelling stage on the prompts — premise and question text of the training split of
both tasks, never an answer, never an evaluation split — stands in for pretraining. It runs once
per backbone config and is cached, so every recipe and seed starts from the same backbone, as
every row of the paper starts from the same Gemma checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from filelock import FileLock
from omegaconf import DictConfig

from causal_semloss.atomic import atomic_dir, remove_stale_staging, write_json
from causal_semloss.data.build import build_data, read_split
from causal_semloss.errors import ConfigError, DataError
from causal_semloss.model.backbone import build_from_config
from causal_semloss.model.batches import collate, encode_records
from causal_semloss.model.cache import (
    backbone_identity,
    corpus_config,
    needs_lm_stage,
    pretrained_dir,
)
from causal_semloss.model.card import CARD, read_card, write_card
from causal_semloss.runtime import Runtime
from causal_semloss.train.loop import LoopPlan, adamw, epoch_order, lr_factor, optimise
from causal_semloss.train.losses import cross_entropy

log = logging.getLogger(__name__)


def prepare_backbone(cfg: DictConfig, runtime: Runtime | None = None) -> Path | None:
    """The pre-train stage where the model has one (a from-config model with
    `model.pretrain.steps`): its cached backbone dir, trained first if missing. None for a model
    loaded as it is. Every entry point that loads `cfg.model` calls this first."""
    return ensure_pretrained(cfg, runtime) if needs_lm_stage(cfg) else None


def ensure_pretrained(cfg: DictConfig, runtime: Runtime | None = None) -> Path:
    """The pre-train stage of a from-config model: the cached backbone dir for `cfg`, trained
    first if missing. Called explicitly by the train, run and evaluate entry points (and
    `python -m causal_semloss.train.pretrain model=tiny_gemma3`); loading never trains.

    A cached dir is checked against its card's hashes, as a shipped backbone is; one without a
    card (cached before backbones had cards, or half-written) is built again."""
    target = pretrained_dir(cfg)
    if (target / CARD).exists():
        return _verified(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One job pre-trains; concurrent jobs wait for the lock, then load the backbone it wrote.
    with FileLock(target.with_name(f"{target.name}.lock")):
        remove_stale_staging(target)  # of writers killed mid-build: no live one holds the lock
        if not (target / CARD).exists():
            _pretrain(cfg, target, runtime or Runtime.of(cfg))
    return _verified(target)


def _verified(target: Path) -> Path:
    try:
        read_card(target)
    except ConfigError as exc:
        raise DataError(f"{exc} (a cached backbone: delete {target} to build it again)") from None
    return target


def _pretrain(cfg: DictConfig, target: Path, runtime: Runtime) -> None:
    """Train the backbone of `cfg` and rename it into `target` (the caller holds its lock)."""
    pc = cfg.model.pretrain
    device = runtime.use_threads().device  # threads are part of the identity: backbone_identity
    log.info("pre-training backbone %s on %s (bf16=%s)", target.name, device, runtime.bf16)
    torch.manual_seed(pc.seed)
    model, tokenizer = build_from_config(cfg)
    model.to(device)
    records = []
    for task in pc.tasks:
        data_dir, _, _ = build_data(corpus_config(cfg, task))
        records += read_split(data_dir, "train")
    corpus = encode_records(records, tokenizer, cfg.model.prompt)
    optimizer = adamw(model.parameters(), pc)
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
        with runtime.autocast():
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
        LoopPlan(pc.steps, pc.steps, pc.steps, pc.grad_clip, "pretrain backbone"),
        start=0,
        lr_at=lambda step: pc.lr * lr_factor(step, pc.steps, pc.warmup_steps, pc.lr_schedule),
        accumulate=accumulate,
        on_log=lambda done, values: None,  # every step's loss is kept in `losses`
    )
    losses = torch.stack(losses).tolist() if losses else []  # one host sync, not one per step
    model.to("cpu")
    with atomic_dir(target) as staging:  # replaces a stale dir without config.json
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_json(
            staging / "pretrain_metrics.json",
            {"steps": pc.steps, "lm_loss": losses, **backbone_identity(cfg)},
        )
        write_card(staging, {"kind": "cached pre-trained backbone", "steps": pc.steps})
    log.info("pre-trained backbone cached in %s", target)
