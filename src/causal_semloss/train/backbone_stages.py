"""The two training stages of a backbone build (language modelling, instruction tuning) on the
suite's one loop (`loop.optimise`): batches are slices of right-padded token tensors already on
the device, the loss is the mean CE over scored positions, validation is the Yes/No accuracy at
every answer position, and the stage may keep its best-validated weights (`kept_step`).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from causal_semloss.model.batches import IGNORE
from causal_semloss.tasks import task_index
from causal_semloss.train.loop import LoopPlan, adamw, optimise

log = logging.getLogger(__name__)


def _stage_loss(logits: torch.Tensor, batch: dict, text_weight: float) -> torch.Tensor:
    """Mean CE over scored positions (+ text_weight x CE over the other text tokens)."""
    flat = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
    loss = F.cross_entropy(flat, batch["targets"][:, 1:].reshape(-1), ignore_index=IGNORE)
    if text_weight:
        text = F.cross_entropy(flat, batch["text_targets"][:, 1:].reshape(-1), ignore_index=IGNORE)
        loss = loss + text_weight * text
    return loss


@torch.no_grad()
def answer_accuracy(
    model,
    corpus: dict,
    yes_id: int,
    no_id: int,
    bf16: bool,
    tasks: Sequence[str],
    batch_size: int = 512,
) -> dict:
    """Accuracy of the Yes/No logit comparison at every answer position, per task of `tasks`
    (the corpus's; a task without an answer scores 0)."""
    was_training = model.training
    model.eval()
    index = [task_index(t) for t in tasks]
    hits = torch.zeros(len(index), device=corpus["tokens"].device)
    counts = torch.zeros(len(index), device=corpus["tokens"].device)
    for start in range(0, corpus["tokens"].shape[0], batch_size):
        tokens = corpus["tokens"][start : start + batch_size]
        task = corpus["task_of_answer"][start : start + batch_size, 1:]
        target = corpus["targets"][start : start + batch_size, 1:]
        with torch.autocast(tokens.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=tokens, use_cache=False).logits[:, :-1].float()
        predicted_yes = logits[..., yes_id] > logits[..., no_id]
        correct = predicted_yes == (target == yes_id)
        for i, t in enumerate(index):
            where = task == t
            hits[i] += (correct & where).sum()
            counts[i] += where.sum()
    model.train(was_training)
    acc = (hits / counts.clamp(min=1)).tolist()
    return dict(zip(tasks, acc, strict=True))


def run_stage(
    model, corpus: dict, stage: DictConfig, ctx: dict, name: str, evaluate=None, keep_best=True
) -> dict:
    """AdamW with linear warm-up then a constant rate, for `stage.steps` steps or until
    `stage.time_budget_s` is spent, on the suite's one loop (`loop.optimise`). With `evaluate`,
    logs a validation curve and (`keep_best`) keeps the weights of the best evaluation — the
    card's `kept_step` says which. Logged losses are means over each log window."""
    device, bf16 = ctx["device"], ctx["bf16"]
    optimizer = adamw(model.parameters(), stage)
    n, bs = corpus["tokens"].shape[0], stage.batch_size
    steps_per_epoch = max(1, n // bs)
    generator = torch.Generator().manual_seed(ctx["seed"])
    losses, evals, best = [], [], []
    window = {"sum": torch.zeros((), device=device), "n": 0, "order": None}
    started = time.perf_counter()

    def accumulate(step: int) -> dict:
        offset = step % steps_per_epoch
        if offset == 0:
            window["order"] = torch.randperm(n, generator=generator).to(device, non_blocking=True)
        idx = window["order"][offset * bs : (offset + 1) * bs]
        batch = {k: v[idx] for k, v in corpus.items()}
        if device.type == "cpu":  # trim right padding: on a CPU every column costs
            width = int((batch["tokens"] != ctx["pad_id"]).sum(1).max())
            batch = {k: v[:, :width] for k, v in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=batch["tokens"], use_cache=False).logits
        loss = _stage_loss(logits, batch, stage.text_loss_weight)
        loss.backward()
        window["sum"] += loss.detach()
        window["n"] += 1
        return {"loss": window["sum"] / window["n"]}

    def on_log(done: int, values: dict) -> None:
        losses.append([done, round(values["loss"], 5)])
        window["sum"].zero_()
        window["n"] = 0

    def on_eval(done: int) -> None:
        scores = evaluate(model)
        evals.append({"step": done, "seconds": round(time.perf_counter() - started, 1), **scores})
        log.info("%s step %d: %s", name, done, scores)
        if keep_best and (not best or sum(scores.values()) > best[0]):
            best[:] = [sum(scores.values()), done, copy.deepcopy(model.state_dict())]

    model.train()
    steps = optimise(
        model,
        optimizer,
        LoopPlan(
            stage.steps, stage.log_steps, stage.eval_steps, stage.grad_clip, f"pretrain/{name}"
        ),
        start=0,
        lr_at=lambda step: stage.lr * min(1.0, (step + 1) / max(1, stage.warmup_steps)),
        accumulate=accumulate,
        on_log=on_log,
        on_eval=on_eval if evaluate is not None else None,
        finish_early=lambda done: (
            bool(stage.time_budget_s) and time.perf_counter() - started > stage.time_budget_s
        ),
    )
    seconds = time.perf_counter() - started
    summary = {
        "steps": steps,  # run; the weights kept are those of `kept_step`
        "seconds": round(seconds, 1),
        "steps_per_s": round(steps / max(1e-9, seconds), 1),
        "loss_curve": losses,
        "validation": evals,
        **{k: v for k, v in OmegaConf.to_container(stage).items() if k != "steps"},
    }
    if best:
        model.load_state_dict(best[2])
        summary["kept_step"] = best[1]
    return summary
