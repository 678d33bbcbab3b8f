"""Training throughput: the real trainer beside a bare forward+backward+AdamW loop.

Rows (all on the same model architecture, device, batch size and pre-built batches):
- `bare, CE`          model forward, answer-token CE, backward, clip, AdamW: the intended
                      work of `loss=none` (λ = 0).
- `bare, CE+L_sem`    the same, but the loss is `compute_loss` with the terms `loss=none` keeps
                      (`[oracle_answer]`, λ = 0): the L_sem term is still computed, as the
                      trainer does today, so this is the like-for-like baseline of the trainer.
- `trainer, none`     `Trainer.run()` with `loss=none`: batching from the padded set, lr and λ
                      schedules, loss read back every `train.log_steps`, tqdm, and the one
                      validation pass `run()` makes at its last step.
- `trainer, scheduled` the same with `loss=scheduled` (λ > 0).
- `trainer, none, premises` `loss=none` on data with companion questions, whole premises a batch
                      (`train.sampler=groups`): the batches `loss=constraints` trains on.
- `trainer, constraints` `loss=constraints` (the exact constraint semantic loss) on those batches.
Targets: trainer / bare(CE+L_sem) >= 0.8 in steps/s; scheduled / none >= 0.95; constraints /
(none, premises) >= 0.9 (the term's own cost, same batches); on one H100,
>= 150 trainer steps/s at batch 128 for tiny_gemma3. Every timed span starts and ends with a
device sync, so GPU numbers count the work, not the launches.

Run: `.venv/bin/python benchmarks/bench_train.py [--device cpu|cuda] [--batch-size N]
[--steps 200] [--threads 1] [--bf16] [--compile]` (CPU: use a small --steps, e.g. 20).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from causal_semloss.config_checks import checked
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.train.finetune_data import prepare
from causal_semloss.train.losses import compute_loss
from causal_semloss.train.trainer import Trainer

WARMUP = 20  # steps before timing: allocator, cuBLAS and (with --compile) compilation


# (row name, loss, extra overrides)
TRAINER_ROWS = [
    ("trainer, none", "none", []),
    ("trainer, scheduled", "scheduled", []),
    ("trainer, none, premises", "none", ["data.companions.enabled=true", "train.sampler=groups"]),
    ("trainer, constraints", "constraints", ["data.companions.enabled=true"]),
]


def _cfg(root: str, loss: str, args, extra: list[str]):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return checked(
            compose(
                "config",
                overrides=[
                    *extra,
                    f"loss={loss}",
                    "loss.scope=answer",
                    "logger=none",
                    f"paths.data_root={root}/data",
                    f"paths.cache_root={root}/cache",
                    "model.pretrain.steps=0",  # speed does not depend on the weights
                    f"runtime.threads={args.threads}",
                    f"runtime.device={args.device}",
                    f"train.batch_size={args.batch_size}",
                    f"runtime.bf16={str(args.bf16).lower()}",
                    f"runtime.compile={str(args.compile).lower()}",
                    "train.val_size=64",
                    "train.eval_steps=1000000000",
                    "train.checkpoint_steps=1000000000",
                    "data.n_train=4000",
                ],
            )
        )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _steps_per_s(step_fn, steps: int, device: torch.device) -> float:
    for _ in range(WARMUP):
        step_fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step_fn()
    _sync(device)
    return steps / (time.perf_counter() - start)


def _run_rate(trainer: Trainer, steps: int) -> float:
    """Steps/s of `Trainer.run()` itself: warm up, then time a second run over `steps` more."""
    trainer.total_steps = WARMUP
    trainer.run()
    _sync(trainer.device)
    start = time.perf_counter()
    trainer.total_steps = WARMUP + steps
    trainer.run()
    _sync(trainer.device)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default 32 (cpu), 128 (cuda)")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    args.batch_size = args.batch_size or (32 if args.device == "cpu" else 128)
    torch.set_num_threads(args.threads)
    rates = {}
    with tempfile.TemporaryDirectory() as root:
        for row, loss, extra in TRAINER_ROWS:
            cfg = _cfg(root, loss, args, extra)
            backbone, train_set, val_set, _ = prepare(cfg)
            trainer = Trainer(cfg, f"{root}/{row}", backbone, train_set, val_set)
            rates[row] = _run_rate(trainer, args.steps)
            if row == "trainer, none":
                none_cfg, none_trainer = cfg, trainer
        # Bare loops: the loss=none trainer's model, optimiser settings and batches, no trainer.
        trainer, cfg = none_trainer, none_cfg
        model, device, lc = trainer.model, trainer.device, cfg.loss
        opt = torch.optim.AdamW(
            model.parameters(), lr=1e-4, betas=tuple(cfg.train.betas), fused=device.type == "cuda"
        )
        plans = [mb for s in range(40) for mb in trainer.planner.micro_batches(s)]
        batches = [trainer.batches.batch(i, w, a) | extras for i, w, a, extras in plans]
        counter = iter(range(10**9))

        def bare_step(semantic: bool) -> None:
            b = batches[next(counter) % len(batches)]
            col = b["answer_col"]
            with trainer.runtime.autocast():
                logits = trainer.forward(
                    input_ids=b["input_ids"],
                    attention_mask=b["attention_mask"],
                    position_ids=b["position_ids"],
                    logits_to_keep=b["input_ids"].shape[1] - col,
                    use_cache=False,
                ).logits.float()
            if semantic:
                loss = compute_loss(
                    logits,
                    b,
                    start=col,
                    scope="answer",
                    paper_ce_bug=False,
                    terms=list(lc.terms),
                    lam=0.0,
                    yes_id=backbone.yes_id,
                    no_id=backbone.no_id,
                ).total
            else:
                loss = F.cross_entropy(logits[:, 0], b["labels"][:, col + 1])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        rates["bare, CE"] = _steps_per_s(lambda: bare_step(False), args.steps, device)
        rates["bare, CE+L_sem"] = _steps_per_s(lambda: bare_step(True), args.steps, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"device={name}, threads={args.threads}, batch={args.batch_size}, bf16={args.bf16}, "
        f"compile={args.compile}, steps={args.steps}, model={cfg.model.name} "
        f"({sum(p.numel() for p in model.parameters()):,} params), loss=none terms={list(lc.terms)}"
    )
    for row in ("bare, CE", "bare, CE+L_sem", *(name for name, _, _ in TRAINER_ROWS)):
        rate = rates[row]
        print(
            f"{row:24s} {rate:8.1f} steps/s {1000 / rate:7.2f} ms/step "
            f"{rate * args.batch_size:8.0f} samples/s"
        )
    ratio = rates["trainer, none"] / rates["bare, CE+L_sem"]
    print(f"trainer / bare (CE+L_sem)   = {ratio:.3f} in steps/s (target >= 0.8)")
    print(
        f"trainer / bare (CE)         = {rates['trainer, none'] / rates['bare, CE']:.3f} in steps/s"
    )
    scheduled = rates["trainer, scheduled"] / rates["trainer, none"]
    print(f"scheduled / none            = {scheduled:.3f} in steps/s (target >= 0.95)")
    term = rates["trainer, constraints"] / rates["trainer, none, premises"]
    print(f"constraints / none,premises = {term:.3f} in steps/s (target >= 0.9)")
    rows = rates["trainer, none, premises"] / rates["trainer, none"]
    print(f"none,premises / none        = {rows:.3f} in steps/s (companion rows' cost)")


if __name__ == "__main__":
    main()
