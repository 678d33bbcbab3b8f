"""Fine-tuning: CE + λ_t · semantic terms, checkpoint/resume, collapse monitor.

The optimisation loop itself is `loop.optimise`, the same one the pre-training stages run; this
module supplies what fine-tuning adds: batches from left-padded prompt+answer tensors built once
(`PaddedSet`), the loss, validation with a collapse warning, W&B logging, checkpoints that resume
bit-exactly (data order is a pure function of (seed, epoch); RNG states are saved), and a clean
stop on SIGINT/SIGTERM. HF `Trainer` was not measured against it; it does not do multi-GPU —
the models in this suite fit one device.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_path, write_json
from causal_semloss.batches import EncodedSet, PaddedSet, encode_records
from causal_semloss.data.build import build_data, read_split
from causal_semloss.data.records import take_by_class, truth
from causal_semloss.errors import ConfigError
from causal_semloss.loop import (
    LoopPlan,
    autocast,
    lr_factor,
    optimise,
    resolve_device,
)
from causal_semloss.losses import GROUP_TERMS, compute_loss, logits_start
from causal_semloss.modeling import Backbone, load_backbone, save_backbone
from causal_semloss.premise_groups import build_premise_groups
from causal_semloss.pretraining import ensure_pretrained, needs_pretraining
from causal_semloss.run_logger import make_logger
from causal_semloss.sampling import BatchPlanner
from causal_semloss.schedules import lambda_at, parse_schedule
from causal_semloss.scoring import scoring_options, yes_no_margins

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM arrived: a checkpoint was written; rerunning with the same dir resumes."""


@dataclass
class TrainState:
    step: int = 0
    history: dict = field(
        default_factory=lambda: {"step": [], "loss": [], "ce": [], "lambda": [], "lr": []}
    )
    validation: list = field(default_factory=list)


def split_validation(records: list[dict], size: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out whole premises as the validation set: `size` questions drawn half Yes, half No
    from distinct premises, plus the other labeled questions of those premises (kept, not thrown
    away: no premise is in both sets). Companion questions are never validated on."""
    rng = random.Random(f"validation:{seed}")
    order = list(range(len(records)))
    rng.shuffle(order)
    held_graphs: set[str] = set()
    held: set[int] = set()

    def new_premise(i: int) -> bool:
        return not records[i].get("companion") and records[i]["graph_id"] not in held_graphs

    for i in take_by_class(
        order,
        {True: size // 2, False: size - size // 2},
        truth_of=lambda i: truth(records[i]),
        accept=new_premise,
    ):
        held.add(i)
        held_graphs.add(records[i]["graph_id"])
    train = [r for r in records if r["graph_id"] not in held_graphs]
    validation = [r for r in records if r["graph_id"] in held_graphs and not r.get("companion")]
    return train, validation


# Settings that do not change what a run computes: a checkpoint may resume under other values.
_RESUMABLE_ACROSS = ("threads", "log_steps", "eval_steps", "checkpoint_steps", "eval_batch_size")


def run_config_hash(cfg: DictConfig) -> str:
    """Hash of everything that shapes a training run (seed, task, data, model, loss, train) but
    bookkeeping such as thread count or logging cadence."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    train = {k: v for k, v in plain["train"].items() if k not in _RESUMABLE_ACROSS}
    shaping = {k: plain[k] for k in ("seed", "task", "data", "model", "loss")} | {"train": train}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()


class Trainer:
    def __init__(
        self,
        cfg: DictConfig,
        out_dir: Path,
        backbone: Backbone,
        train_set: EncodedSet,
        val_set: EncodedSet,
    ):
        self.cfg, self.out_dir, self.backbone = cfg, Path(out_dir), backbone
        self.train_set, self.val_set = train_set, val_set
        tc = cfg.train
        self.device = resolve_device(tc.device)
        self.model = backbone.model.to(self.device)
        # The forward pass; compiled wraps the same parameters, so checkpoints are unchanged.
        self.forward = torch.compile(self.model) if tc.compile else self.model
        self.batches = PaddedSet.build(
            train_set, backbone.tokenizer.pad_token_id, with_answer=True
        ).to(self.device)
        if GROUP_TERMS & set(cfg.loss.terms) and (
            train_set.groups is None or not train_set.groups.constrained.any()
        ):
            raise ConfigError(
                f"loss.terms={list(cfg.loss.terms)}: no training premise has a constraint to "
                "enforce (no premise groups with companions; set data.companions.enabled=true)"
            )
        self.per_step = tc.batch_size * tc.grad_accum
        self.planner = BatchPlanner(
            self.batches,
            cfg.seed,
            tc.batch_size,
            tc.grad_accum,
            self.device,
            groups=train_set.groups if uses_premise_batches(cfg) else None,
        )
        self.steps_per_epoch = self.planner.steps_per_epoch
        if self.steps_per_epoch == 0:
            raise ConfigError(
                f"training set has {len(train_set)} examples, fewer than one batch of {self.per_step}"
            )
        self.total_steps = tc.max_steps or tc.epochs * self.steps_per_epoch
        self.schedule = parse_schedule(cfg.loss.schedule)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            params,
            lr=tc.lr,
            weight_decay=tc.weight_decay,
            betas=tuple(tc.betas),
            fused=self.device.type == "cuda",  # one kernel per step; the CPU path is unchanged
        )
        self.state = TrainState()
        self._stop = False

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        payload = {
            "step": self.state.step,
            "config_hash": run_config_hash(self.cfg),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "python_rng": random.getstate(),
            "numpy_rng": np.random.get_state(),
            "history": self.state.history,
            "validation": self.state.validation,
        }
        with atomic_path(self.out_dir / CHECKPOINT) as tmp:
            torch.save(payload, tmp)

    def maybe_resume(self) -> bool:
        path = self.out_dir / CHECKPOINT
        if not path.exists():
            return False
        payload = torch.load(path, map_location=self.device, weights_only=False)
        if payload.get("config_hash") != run_config_hash(self.cfg):
            raise ConfigError(
                f"{path} was written by a run with another config; resume with the same "
                "settings, or use a new output dir"
            )
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        torch.set_rng_state(payload["torch_rng"].cpu())  # map_location moved it to the device
        if payload["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([state.cpu() for state in payload["cuda_rng"]])
        random.setstate(payload["python_rng"])
        np.random.set_state(payload["numpy_rng"])
        self.state = TrainState(
            step=payload["step"], history=payload["history"], validation=payload["validation"]
        )
        log.info("resumed from %s at step %d", path, self.state.step)
        return True

    # -- one optimisation step ---------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        tc = self.cfg.train
        return tc.lr * lr_factor(step, self.total_steps, tc.warmup_steps, tc.lr_schedule)

    def accumulate(self, step: int) -> dict:
        """Forward and backward passes of every micro-batch of `step`. Loss values come back as
        device tensors (no host sync): the loop reads them only when it logs."""
        lc, tc = self.cfg.loss, self.cfg.train
        lam = lambda_at(self.schedule, step, self.total_steps)
        totals: dict[str, torch.Tensor | float] = {"loss": 0.0, "ce": 0.0}
        for indices, width, answer_col, extras in self.planner.micro_batches(step):
            batch = self.batches.batch(indices, width, answer_col) | extras
            start = logits_start(answer_col, lc.scope)
            with autocast(self.device, tc.bf16):
                logits = self.forward(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    position_ids=batch["position_ids"],
                    logits_to_keep=width - start if start > 0 else 0,
                    use_cache=False,
                ).logits.float()
            parts = compute_loss(
                logits,
                batch,
                start=start,
                scope=lc.scope,
                paper_ce_bug=lc.paper_ce_bug,
                terms=list(lc.terms),
                lam=lam,
                yes_id=self.backbone.yes_id,
                no_id=self.backbone.no_id,
            )
            (parts.total / tc.grad_accum).backward()
            # Summed in float64 on the device: the values logged equal the old `.item()` sums.
            totals["loss"] = totals["loss"] + parts.total.detach().double() / tc.grad_accum
            totals["ce"] = totals["ce"] + parts.ce.detach().double() / tc.grad_accum
            for name, value in parts.semantic.items():
                key = f"sem/{name}"
                totals[key] = totals.get(key, 0.0) + value.detach().double() / tc.grad_accum
        return {**totals, "lambda": lam, "lr": self.lr_at(step)}

    def validate(self) -> dict:
        tok = self.backbone.tokenizer
        margins = yes_no_margins(
            self.model,
            self.val_set,
            pad_id=tok.pad_token_id,
            yes_id=self.backbone.yes_id,
            no_id=self.backbone.no_id,
            batch_size=self.cfg.train.eval_batch_size,
            bf16=self.cfg.train.bf16,
            **scoring_options(self.cfg.eval, self.device),
        )
        predicted_yes = margins > 0
        yes_rate = predicted_yes.float().mean().item()
        accuracy = (predicted_yes == self.val_set.oracle).float().mean().item()
        lo, hi = self.cfg.train.collapse_band
        return {
            "step": self.state.step,
            "accuracy": accuracy,
            "yes_rate": yes_rate,
            "collapse_warning": not lo <= yes_rate <= hi,
        }

    # -- the loop (causal_semloss.loop) and its callbacks -------------------------------------
    def _request_stop(self, signum, frame) -> None:
        self._stop = True

    def _log(self, logger, done: int, metrics: dict) -> None:
        for key in ("loss", "ce", "lambda", "lr"):
            self.state.history[key].append(metrics[key])
        self.state.history["step"].append(done)
        for key, value in metrics.items():
            if key.startswith("sem/"):
                self.state.history.setdefault(key, []).append(value)
        logger.log({f"train/{k}": v for k, v in metrics.items()}, step=done)

    def _validate_and_log(self, logger, done: int) -> None:
        self.state.step = done
        val = self.validate()
        self.state.validation.append(val)
        logger.log({f"val/{k}": v for k, v in val.items() if k != "step"}, step=done)
        if val["collapse_warning"]:
            log.warning(
                "step %d: validation yes-rate %.3f outside %s — collapsing?",
                done,
                val["yes_rate"],
                list(self.cfg.train.collapse_band),
            )

    def _after_step(self, done: int, interrupt_at: int | None) -> None:
        """Checkpoint every `checkpoint_steps`; on a signal (or `interrupt_at`), checkpoint and
        stop with TrainingInterrupted — rerunning with the same dir resumes."""
        self.state.step = done
        if done % self.cfg.train.checkpoint_steps == 0:
            self.save_checkpoint()
        if interrupt_at is not None and done == interrupt_at:
            self._stop = True
        if self._stop and done < self.total_steps:
            self.save_checkpoint()
            raise TrainingInterrupted(
                f"interrupted at step {done}/{self.total_steps}; checkpoint in "
                f"{self.out_dir}; rerun with the same output dir to resume"
            )

    def run(self, interrupt_at: int | None = None, logger=None) -> TrainState:
        """Train to `total_steps`; log to `logger` (or a run of its own, finished at the end)."""
        tc = self.cfg.train
        log.info(
            "training on %s (bf16=%s, compile=%s)",
            self.device,
            tc.bf16 and self.device.type == "cuda",
            tc.compile,
        )
        self.model.train()
        handlers = {
            sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        own_logger = logger is None
        if own_logger:
            logger = make_logger(
                self.cfg,
                self.out_dir,
                name=self.out_dir.name,
                job_type="train",
                config=OmegaConf.to_container(self.cfg, resolve=True),
            )
        try:
            self.state.step = optimise(
                self.model,
                self.optimizer,
                LoopPlan(self.total_steps, tc.log_steps, tc.eval_steps, tc.grad_clip, "train"),
                start=self.state.step,
                lr_at=self.lr_at,
                accumulate=self.accumulate,
                on_log=lambda done, values: self._log(logger, done, values),
                on_eval=lambda done: self._validate_and_log(logger, done),
                after_step=lambda done: self._after_step(done, interrupt_at),
            )
            if self.state.validation:
                logger.summary({f"final/val_{k}": v for k, v in self.state.validation[-1].items()})
        finally:
            if own_logger:
                logger.finish()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return self.state


def require_premise_groups(cfg: DictConfig) -> None:
    """A term over premise groups asked for on data without companions: fail at start-up, not
    with a silent zero."""
    if GROUP_TERMS & set(cfg.loss.terms) and not cfg.data.companions.enabled:
        raise ConfigError(
            f"loss.terms={list(cfg.loss.terms)} needs premise groups with companion questions: "
            "set data.companions.enabled=true (variants *_constraints do)"
        )


def uses_premise_batches(cfg: DictConfig) -> bool:
    """Whole premises a batch: asked for, or (auto) needed by a loss term."""
    sampler = cfg.train.sampler
    return sampler == "groups" or (sampler == "auto" and bool(GROUP_TERMS & set(cfg.loss.terms)))


def prepare(cfg: DictConfig) -> tuple[Backbone, EncodedSet, EncodedSet, Path]:
    """Data (generated or reused) + backbone + encoded train/validation sets."""
    require_premise_groups(cfg)
    data_dir, _, _ = build_data(cfg)
    records = read_split(data_dir, "train")
    train_records, val_records = split_validation(records, cfg.train.val_size, cfg.seed)
    if not train_records:
        raise ConfigError(
            f"no training examples: {data_dir}/train.jsonl has {len(records)} and "
            f"train.val_size={cfg.train.val_size} are held out for validation"
        )
    backbone = load_backbone(cfg)
    prompt = cfg.model.prompt
    train_set = encode_records(train_records, backbone.tokenizer, prompt)
    if uses_premise_batches(cfg):
        train_set.groups = build_premise_groups(train_records, cfg.task.name)
    return (
        backbone,
        train_set,
        encode_records(val_records, backbone.tokenizer, prompt),
        data_dir,
    )


def train(
    cfg: DictConfig, out_dir: str | Path, interrupt_at: int | None = None, logger=None
) -> dict:
    """Train per `cfg` into `out_dir` (resuming a checkpoint there); returns the metrics dict.

    Writes `out_dir/model/` (safetensors + tokenizer) and `out_dir/train_metrics.json`, each
    atomically; the checkpoint is removed once the final model is in place.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.train.threads)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    require_premise_groups(cfg)
    if needs_pretraining(cfg):
        ensure_pretrained(cfg)  # the pre-train stage, before fine-tuning
    backbone, train_set, val_set, data_dir = prepare(cfg)
    trainer = Trainer(cfg, out_dir, backbone, train_set, val_set)
    resumed = trainer.maybe_resume()
    state = trainer.run(interrupt_at=interrupt_at, logger=logger)
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
    }
    staging = Path(tempfile.mkdtemp(prefix=".model.", dir=out_dir))
    try:
        save_backbone(backbone, staging)
        if (out_dir / "model").exists():
            shutil.rmtree(out_dir / "model")
        staging.rename(out_dir / "model")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_json(out_dir / "train_metrics.json", metrics)
    (out_dir / CHECKPOINT).unlink(missing_ok=True)
    return metrics


def load_metrics(out_dir: str | Path) -> dict:
    return json.loads((Path(out_dir) / "train_metrics.json").read_text())
