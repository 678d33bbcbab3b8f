"""Pre-train stage: `python -m causal_semloss.train.pretrain model=tiny_gemma3_it` writes a backbone dir.

The stand-in for `gemma-3-270m-it`: a Gemma 3 text model from `model.architecture`, trained in
two stages on causal text made by `corpus.py` — language modelling (premises and the
statements they imply), then instruction tuning (questions of both tasks, answers only) — and
written with its tokenizer and a card (`model/card.py`): corpus, steps, loss curves,
zero-shot balanced accuracy per task on the suite's own prompt. `model.build` holds the recipe;
`model.build.out_dir` says where the dir goes; `model.build.lm_out_dir`, when set, also keeps
the language-model stage alone (the "pretrained, not instruction-tuned" analogue).

Everything runs on `runtime.device` (bf16 autocast on CUDA with `runtime.bf16`); batches are
slices of token tensors already on the device, and losses are read back only at log steps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import hydra
import torch
import transformers
from filelock import FileLock
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_path
from causal_semloss.cli_overrides import hydra_entry
from causal_semloss.config_checks import checked
from causal_semloss.data.build import config_for_task
from causal_semloss.data.splits import generate_split, split_rng
from causal_semloss.errors import ConfigError, exit_on_user_error
from causal_semloss.graphs import plain_shape
from causal_semloss.model.backbone import answer_token_id, build_from_config
from causal_semloss.model.batches import encode_records
from causal_semloss.model.card import (
    resolve_backbone_dir,
    write_backbone,
)
from causal_semloss.model.scoring import scoring_options, yes_no_margins
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.runtime import Runtime
from causal_semloss.train.backbone_stages import answer_accuracy, run_stage
from causal_semloss.train.cached_lm_stage import prepare_backbone
from causal_semloss.train.corpus import (
    CHUNK,
    CORPUS_VERSION,
    CorpusSpec,
    TokenCorpus,
    generate_texts,
    instruction_corpus,
    lm_corpus,
)

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
    spec = corpus_spec(cfg)
    identity = {
        "version": [CORPUS_VERSION, CHUNK],
        "spec": repr(spec),
        "graphs": build.graphs,
        "val_graphs": build.val_graphs,
        "vocab": sorted(tokenizer.get_vocab().items()),
        "yes_no": [yes_id, no_id],
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    if not build.corpus_cache:
        return _make_corpus(cfg, spec, tokenizer, yes_id, no_id)
    path = Path(build.corpus_cache) / f"corpus-{key}.pt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # One build generates the corpus; concurrent builds wait for the lock, then load it.
        with FileLock(path.with_name(f"{path.name}.lock")):
            if not path.exists():
                result = _make_corpus(cfg, spec, tokenizer, yes_id, no_id)
                with atomic_path(path) as tmp:
                    torch.save(result, tmp)
                return result
    log.info("corpus from %s", path)
    return torch.load(path, weights_only=True)


def _make_corpus(cfg: DictConfig, spec: CorpusSpec, tokenizer, yes_id: int, no_id: int):
    build = cfg.model.build
    texts = generate_texts(spec, build.graphs + build.val_graphs, build.workers)
    train_texts, val_texts = texts[: build.graphs], texts[build.graphs :]
    return (
        _as_tensors(lm_corpus(train_texts, tokenizer)),
        _as_tensors(instruction_corpus(train_texts, tokenizer, yes_id, no_id)),
        _as_tensors(instruction_corpus(val_texts, tokenizer, yes_id, no_id)),
        len(train_texts),
        len(val_texts),
    )


def build_backbone(cfg: DictConfig) -> Path:
    build = cfg.model.build
    if build is None:
        raise ConfigError(f"model.build: model {cfg.model.name!r} has no build recipe")
    if build.corpus_only and not build.corpus_cache:
        raise ConfigError("model.build.corpus_only=true needs model.build.corpus_cache")
    runtime = Runtime.of(cfg).use_threads()
    device, bf16 = runtime.device, runtime.bf16
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
        return answer_accuracy(m, val, yes_id, no_id, bf16, tasks=list(build.questions))

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
    if cfg.model.build is None:
        target = prepare_backbone(cfg)
        if target is not None:
            print(f"backbone: {target}")
            return target
    return build_backbone(cfg)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    run_pretrain(cfg)


main = hydra_entry(hydra_main)


if __name__ == "__main__":
    main()
