"""The fine-tuning trainer: CE + λ_t · semantic terms, checkpoint/resume, collapse monitor.

The optimisation loop itself is `loop.optimise`, the same one the pre-training stages run; this
module supplies what fine-tuning adds: batches from left-padded prompt+answer tensors built once
(`PaddedSet`), the loss, validation with a collapse warning, W&B logging, checkpoints that resume
bit-exactly (data order is a pure function of (seed, epoch); RNG states are saved), and a clean
stop on SIGINT/SIGTERM. Why not HF `Trainer`: see docs/architecture.md, "Training, in one place" (the loop is shared with
pre-training, batches are pre-padded device tensors, and resume must be bit-exact).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from causal_semloss.errors import ConfigError
from causal_semloss.model.backbone import Backbone
from causal_semloss.model.batches import EncodedSet, PaddedSet
from causal_semloss.model.scoring import scoring_options, yes_no_margins
from causal_semloss.run_logger import make_logger
from causal_semloss.runtime import Runtime
from causal_semloss.train.checkpoints import load_checkpoint, save_checkpoint
from causal_semloss.train.finetune_data import TrainingSet, uses_premise_batches
from causal_semloss.train.loop import FiniteWatch, LoopPlan, adamw, lr_factor, optimise
from causal_semloss.train.losses import GROUP_TERMS, compute_loss, logits_start
from causal_semloss.train.sampling import BatchPlanner
from causal_semloss.train.schedules import lambda_at, parse_schedule
from causal_semloss.train.train_state import ProbeFactory, TrainingInterrupted, TrainState

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"


class Trainer:
    def __init__(
        self,
        cfg: DictConfig,
        out_dir: Path,
        backbone: Backbone,
        train_set: TrainingSet,
        val_set: EncodedSet,
        probe_factory: ProbeFactory | None = None,
        runtime: Runtime | None = None,
    ):
        self.cfg, self.out_dir, self.backbone = cfg, Path(out_dir), backbone
        self.runtime = runtime or Runtime.of(cfg)
        self.train_set, self.val_set = train_set, val_set
        tc = cfg.train
        self.device = self.runtime.device
        self.model = backbone.model.to(self.device)
        # The forward pass; compiled wraps the same parameters, so checkpoints are unchanged.
        self.forward = torch.compile(self.model) if self.runtime.compile else self.model
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
        self.term_options = OmegaConf.to_container(cfg.loss.term_options)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = adamw(params, tc, fused=self.device.type == "cuda")
        # Scores eval splits at fixed examples seen (evaluate/trajectory.py, handed in by the
        # pipeline: the train stage does not import evaluation).
        self.probe = (
            probe_factory(backbone, self.per_step, self.total_steps) if probe_factory else None
        )
        self.state = TrainState()
        self._stop = False
        self._signum: int | None = None
        self.watch = FiniteWatch("train")

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        """Checkpoint the current state — never one a non-finite step produced."""
        self.watch.check()
        save_checkpoint(
            self.out_dir / CHECKPOINT,
            self.cfg,
            self.model,
            self.optimizer,
            step=self.state.step,
            history=self.state.history,
            validation=self.state.validation,
            trajectory=self.state.trajectory,
        )

    def maybe_resume(self) -> bool:
        path = self.out_dir / CHECKPOINT
        if not path.exists():
            return False
        payload = load_checkpoint(path, self.cfg, self.model, self.optimizer, self.device)
        self.state = TrainState(
            step=payload["step"],
            history=payload["history"],
            validation=payload["validation"],
            trajectory=payload.get("trajectory", []),
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
            with self.runtime.autocast():
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
                term_options=self.term_options,
            )
            (parts.total / tc.grad_accum).backward()
            # Summed in float64 on the device: the values logged equal the old `.item()` sums.
            totals["loss"] = totals["loss"] + parts.total.detach().double() / tc.grad_accum
            totals["ce"] = totals["ce"] + parts.ce.detach().double() / tc.grad_accum
            for name, value in parts.semantic.items():
                key = f"sem/{name}"
                totals[key] = totals.get(key, 0.0) + value.detach().double() / tc.grad_accum
            for key, value in parts.diagnostics().items():
                totals[key] = totals.get(key, 0.0) + value.double() / tc.grad_accum
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
            bf16=self.runtime.bf16,
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

    # -- the loop (causal_semloss.train.loop) and its callbacks -------------------------------------
    def _request_stop(self, signum, frame) -> None:
        self._stop = True
        self._signum = self._signum or signum

    def _log(self, logger, done: int, metrics: dict) -> None:
        for key in ("loss", "ce", "lambda", "lr"):
            self.state.history[key].append(metrics[key])
        self.state.history["step"].append(done)
        for key, value in metrics.items():
            if key.startswith("sem/") or key in ("answer_ce", "answer_weight"):
                self.state.history.setdefault(key, []).append(value)
        examples = {"train/examples_seen": done * self.per_step}  # x axis of the dashboard's curves
        logger.log({**{f"train/{k}": v for k, v in metrics.items()}, **examples}, step=done)

    def _validate_and_log(self, logger, done: int) -> None:
        self.state.step = done
        val = self.validate()
        self.state.validation.append(val)
        logged = {f"val/{k}": v for k, v in val.items() if k != "step"}
        logger.log({**logged, "val/examples_seen": done * self.per_step}, step=done)
        if val["collapse_warning"]:
            log.warning(
                "step %d: validation yes-rate %.3f outside %s — collapsing?",
                done,
                val["yes_rate"],
                list(self.cfg.train.collapse_band),
            )

    def _probe_and_log(self, logger, done: int) -> None:
        """A trajectory point: every probed split's yes-rate, balanced accuracy and MCC."""
        rows = self.probe(self.model, done)
        self.state.trajectory.extend(rows)
        logged = {
            f"trajectory/{row['set']}/{name}": row[name]
            for row in rows
            for name in ("yes_rate", "balanced_accuracy", "mcc")
            if row[name] is not None
        }
        logger.log({**logged, "trajectory/examples_seen": done * self.per_step}, step=done)

    def _after_step(self, logger, done: int, interrupt_at: int | None) -> None:
        """A trajectory point where one is due; checkpoint every `checkpoint_steps`; on a signal
        (or `interrupt_at`), checkpoint and stop with TrainingInterrupted — rerunning with the
        same dir resumes."""
        self.state.step = done
        if self.probe is not None and done in self.probe.steps:
            self._probe_and_log(logger, done)
        if done % self.cfg.train.checkpoint_steps == 0:
            self.save_checkpoint()
        if interrupt_at is not None and done == interrupt_at:
            self._stop = True
        if self._stop and done < self.total_steps:
            self.save_checkpoint()
            raise TrainingInterrupted(
                f"interrupted at step {done}/{self.total_steps}; checkpoint in "
                f"{self.out_dir}; rerun with the same output dir to resume",
                signum=self._signum,
            )

    def run(self, interrupt_at: int | None = None, logger=None) -> TrainState:
        """Train to `total_steps`; log to `logger` (or a run of its own, finished at the end)."""
        tc = self.cfg.train
        log.info(
            "training on %s (bf16=%s, compile=%s)",
            self.device,
            self.runtime.bf16,
            self.runtime.compile,
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
            if self.probe is not None and 0 in self.probe.steps and self.state.step == 0:
                self._probe_and_log(logger, 0)  # the backbone before fine-tuning
            self.state.step = optimise(
                self.model,
                self.optimizer,
                LoopPlan(self.total_steps, tc.log_steps, tc.eval_steps, tc.grad_clip, "train"),
                start=self.state.step,
                lr_at=self.lr_at,
                accumulate=self.accumulate,
                on_log=lambda done, values: self._log(logger, done, values),
                on_eval=lambda done: self._validate_and_log(logger, done),
                after_step=lambda done: self._after_step(logger, done, interrupt_at),
                watch=self.watch,
            )
            if self.state.validation:
                logger.summary({f"final/val_{k}": v for k, v in self.state.validation[-1].items()})
        finally:
            if own_logger:
                logger.finish()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return self.state
