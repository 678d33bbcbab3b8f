"""Pre-train stage: `python -m causal_semloss.pretrain model=tiny_gemma3_it` writes a backbone dir.

The stand-in for `gemma-3-270m-it`: a Gemma 3 text model from `model.architecture`, trained in
two stages on causal text made by `corpus.py` — language modelling (premises and the
statements they imply), then instruction tuning (questions of both tasks, answers only) — and
written with its tokenizer and a card (`backbone_card.py`): corpus, steps, loss curves,
zero-shot balanced accuracy per task on the suite's own prompt. `model.build` holds the recipe;
`model.build.out_dir` says where the dir goes; `model.build.lm_out_dir`, when set, also keeps
the language-model stage alone (the "pretrained, not instruction-tuned" analogue).

Everything runs on `train.device` (bf16 autocast on CUDA with `train.bf16`); batches are
slices of token tensors already on the device, and losses are read back only at log steps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
import transformers
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_path, write_json
from causal_semloss.backbone_card import (
    CARD,
    WEIGHTS,
    file_sha256,
    files_sha256,
    resolve_backbone_dir,
)
from causal_semloss.batches import IGNORE, encode_records
from causal_semloss.corpus import (
    CHUNK,
    CORPUS_VERSION,
    CorpusSpec,
    TokenCorpus,
    generate_texts,
    instruction_corpus,
    lm_corpus,
)
from causal_semloss.data.build import config_for_task
from causal_semloss.data.splits import generate_split, split_rng
from causal_semloss.errors import ConfigError, exit_on_user_error
from causal_semloss.graphs import plain_shape
from causal_semloss.loop import LoopPlan, optimise, resolve_device
from causal_semloss.modeling import answer_token_id, build_from_config
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.pretraining import ensure_pretrained, needs_pretraining
from causal_semloss.schema import checked
from causal_semloss.scoring import scoring_options, yes_no_margins

log = logging.getLogger(__name__)


def corpus_spec(cfg: DictConfig) -> CorpusSpec:
    build = cfg.model.build
    tasks = {t: config_for_task(cfg, t).task for t in build.questions}
    return CorpusSpec(
        seed=int(build.seed),
        shapes=tuple(plain_shape(tasks[t].splits.train) for t in build.graph_tasks),
        hypotheses={t: tasks[t].hypothesis for t in tasks},
        questions={t: int(n) for t, n in build.questions.items()},
        max_given={t: int(tasks[t].splits.train.max_given) for t in tasks},
        statements=int(build.statements),
        statement_template=build.statement_template,
    )


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
    model, corpus: dict, yes_id: int, no_id: int, bf16: bool, batch_size: int = 512
) -> dict:
    """Accuracy of the Yes/No logit comparison at every answer position, per task."""
    was_training = model.training
    model.eval()
    hits = torch.zeros(2, device=corpus["tokens"].device)
    counts = torch.zeros(2, device=corpus["tokens"].device)
    for start in range(0, corpus["tokens"].shape[0], batch_size):
        tokens = corpus["tokens"][start : start + batch_size]
        task = corpus["task_of_answer"][start : start + batch_size, 1:]
        target = corpus["targets"][start : start + batch_size, 1:]
        with torch.autocast(tokens.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=tokens, use_cache=False).logits[:, :-1].float()
        predicted_yes = logits[..., yes_id] > logits[..., no_id]
        correct = predicted_yes == (target == yes_id)
        for t in (0, 1):
            where = task == t
            hits[t] += (correct & where).sum()
            counts[t] += where.sum()
    model.train(was_training)
    acc = (hits / counts.clamp(min=1)).tolist()
    return {"transitivity": acc[0], "dseparation": acc[1]}


def run_stage(
    model, corpus: dict, stage: DictConfig, ctx: dict, name: str, evaluate=None, keep_best=True
) -> dict:
    """AdamW with linear warm-up then a constant rate, for `stage.steps` steps or until
    `stage.time_budget_s` is spent, on the suite's one loop (`loop.optimise`). With `evaluate`,
    logs a validation curve and (`keep_best`) keeps the weights of the best evaluation — the
    card's `kept_step` says which. Logged losses are means over each log window."""
    device, bf16 = ctx["device"], ctx["bf16"]
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=stage.lr, weight_decay=stage.weight_decay, betas=tuple(stage.betas)
    )
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


def zero_shot(cfg: DictConfig, model, tokenizer, n: int, seed: int) -> dict:
    """Balanced in-distribution accuracy per task on the suite's own prompt and scoring path."""
    yes_id = answer_token_id(tokenizer, cfg.model.prompt.yes_word)
    no_id = answer_token_id(tokenizer, cfg.model.prompt.no_word)
    out = {}
    for task in cfg.model.build.questions:
        task_cfg = config_for_task(cfg, task).task
        records = generate_split(
            task=task,
            split="test",
            shape=plain_shape(task_cfg.splits.test),
            hypothesis_template=task_cfg.hypothesis,
            n=n,
            yes_rate=0.5,
            queries_per_graph=1,
            rng=split_rng(seed, task, "card"),
        )
        encoded = encode_records(records, tokenizer, cfg.model.prompt)
        margins = yes_no_margins(
            model,
            encoded,
            pad_id=tokenizer.pad_token_id,
            yes_id=yes_id,
            no_id=no_id,
            batch_size=cfg.eval.batch_size,
            **scoring_options(cfg.eval, next(model.parameters()).device),
        )
        predicted = margins > 0
        out[task] = {
            "n": n,
            "accuracy": round((predicted == encoded.oracle).float().mean().item(), 4),
            "yes_rate": round(predicted.float().mean().item(), 4),
        }
    return out


def write_backbone(model, tokenizer, target: Path, card: dict) -> None:
    """Weights + tokenizer + card, assembled beside `target` and renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.to("cpu").save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        card = {
            **card,
            "weights_sha256": file_sha256(staging / WEIGHTS),
            "files_sha256": files_sha256(staging),
        }
        write_json(staging / CARD, card)
        os.chmod(staging, 0o755)
        for file in staging.iterdir():
            os.chmod(file, 0o644)
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)  # left by a crash between the two renames
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _as_tensors(corpus: TokenCorpus) -> dict:
    # int16 halves the cache and the host copy; ids and IGNORE (-100) both fit.
    return {
        k: getattr(corpus, k).to(torch.int16)
        for k in ("tokens", "targets", "text_targets", "task_of_answer")
    }


def load_or_make_corpus(cfg: DictConfig, tokenizer, yes_id: int, no_id: int):
    """(lm, instruct, validation, n_train, n_val) token tensors; cached under
    `model.build.corpus_cache` keyed by everything that shapes them, so parallel builds of
    different architectures share one corpus."""
    build = cfg.model.build
    identity = {
        "version": [CORPUS_VERSION, CHUNK],
        "spec": repr(corpus_spec(cfg)),
        "graphs": build.graphs,
        "val_graphs": build.val_graphs,
        "vocab": sorted(tokenizer.get_vocab().items()),
        "yes_no": [yes_id, no_id],
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(build.corpus_cache) / f"corpus-{key}.pt" if build.corpus_cache else None
    if path is not None and path.exists():
        log.info("corpus from %s", path)
        return torch.load(path, weights_only=True)
    texts = generate_texts(corpus_spec(cfg), build.graphs + build.val_graphs, build.workers)
    train_texts, val_texts = texts[: build.graphs], texts[build.graphs :]
    result = (
        _as_tensors(lm_corpus(train_texts, tokenizer)),
        _as_tensors(instruction_corpus(train_texts, tokenizer, yes_id, no_id)),
        _as_tensors(instruction_corpus(val_texts, tokenizer, yes_id, no_id)),
        len(train_texts),
        len(val_texts),
    )
    if path is not None:
        with atomic_path(path) as tmp:
            torch.save(result, tmp)
    return result


def build_backbone(cfg: DictConfig) -> Path:
    build = cfg.model.build
    if build is None:
        raise ConfigError(f"model.build: model {cfg.model.name!r} has no build recipe")
    if build.corpus_only and not build.corpus_cache:
        raise ConfigError("model.build.corpus_only=true needs model.build.corpus_cache")
    device = resolve_device(cfg.train.device)
    bf16 = bool(cfg.train.bf16 and device.type == "cuda")
    if device.type == "cpu":
        torch.set_num_threads(cfg.train.threads)
    log.info("pretrain %s on %s (bf16=%s)", cfg.model.name, device, bf16)
    print(f"pretrain {cfg.model.name}: device {device}, bf16 {bf16}", flush=True)
    torch.manual_seed(build.seed)
    model, tokenizer = build_from_config(cfg)
    model.to(device)
    yes_id = answer_token_id(tokenizer, cfg.model.prompt.yes_word)
    no_id = answer_token_id(tokenizer, cfg.model.prompt.no_word)
    started = time.perf_counter()
    lm, instruct, val, n_train, n_val = load_or_make_corpus(cfg, tokenizer, yes_id, no_id)
    lm, instruct, val = (
        {k: v.to(device, dtype=torch.long) for k, v in c.items()} for c in (lm, instruct, val)
    )
    corpus_seconds = round(time.perf_counter() - started, 1)
    print(f"corpus: {n_train} premises (+{n_val} validation) in {corpus_seconds} s", flush=True)
    if build.corpus_only:
        return Path(build.corpus_cache)
    ctx = {
        "device": device,
        "bf16": bf16,
        "seed": int(build.seed),
        "pad_id": tokenizer.pad_token_id,
    }

    def evaluate(m):
        return answer_accuracy(m, val, yes_id, no_id, bf16)

    card = {
        "name": cfg.model.name,
        "architecture": OmegaConf.to_container(cfg.model.architecture, resolve=True),
        "params": sum(p.numel() for p in model.parameters()),
        "prompt": OmegaConf.to_container(cfg.model.prompt, resolve=True),
        "corpus": {
            **{
                k: v
                for k, v in OmegaConf.to_container(build, resolve=True).items()
                if k not in ("stages", "out_dir", "lm_out_dir")
            },
            "premises": n_train,
            "validation_premises": n_val,
            "lm_sequences_max_tokens": lm["tokens"].shape[1],
            "instruction_sequences_max_tokens": instruct["tokens"].shape[1],
            "seconds": corpus_seconds,
        },
        "built": {
            "device": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else platform.processor() or "cpu",
            "bf16": bf16,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        },
        "stages": {},
    }
    ctx["seed"] = int(build.seed) + 1
    card["stages"]["lm"] = run_stage(
        model, lm, build.stages.lm, ctx, "lm", evaluate, keep_best=False
    )
    if build.lm_out_dir:
        lm_card = {**copy.deepcopy(card), "name": f"{cfg.model.name} (language-model stage only)"}
        _finish(
            cfg,
            copy.deepcopy(model).to(device),
            tokenizer,
            resolve_backbone_dir(build.lm_out_dir),
            lm_card,
        )
    ctx["seed"] = int(build.seed) + 2
    card["stages"]["instruct"] = run_stage(
        model, instruct, build.stages.instruct, ctx, "instruct", evaluate
    )
    return _finish(cfg, model, tokenizer, resolve_backbone_dir(build.out_dir), card)


def _finish(cfg: DictConfig, model, tokenizer, target: Path, card: dict) -> Path:
    build = cfg.model.build
    card["zero_shot"] = zero_shot(cfg, model, tokenizer, build.zero_shot_n, build.card_check.seed)
    check = zero_shot(cfg, model, tokenizer, build.card_check.n, build.card_check.seed)
    card["card_check"] = {
        "seed": build.card_check.seed,
        "n": build.card_check.n,
        "accuracy": {t: v["accuracy"] for t, v in check.items()},
    }
    write_backbone(model, tokenizer, target, card)
    summary = ", ".join(f"{t} {v['accuracy']:.3f}" for t, v in card["zero_shot"].items())
    print(f"backbone: {target}  zero-shot balanced accuracy: {summary}", flush=True)
    return target


@exit_on_user_error
def run_pretrain(cfg: DictConfig) -> Path:
    """A model with a build recipe gets a backbone dir with a card; a from-config model with
    `model.pretrain.steps` its cached language-model stage."""
    cfg = checked(cfg)
    if cfg.model.build is None and needs_pretraining(cfg):
        target = ensure_pretrained(cfg)
        print(f"backbone: {target}")
        return target
    return build_backbone(cfg)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    run_pretrain(cfg)


if __name__ == "__main__":
    main()
