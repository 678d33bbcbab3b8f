"""Evaluate one model on the suites of `eval.tasks` (in-distribution test, five OOD splits, the
adversarial set) and on external JSONL sets: batched, predictions saved per example, metrics per
split.

Everything a table shows is recomputable from `predictions/*.jsonl` without the model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig
from tqdm import tqdm

from causal_semloss.atomic import atomic_dir, remove_stale_staging, write_json, write_jsonl
from causal_semloss.data.records import truth
from causal_semloss.errors import ConfigError
from causal_semloss.evaluate.baselines import BASELINES
from causal_semloss.evaluate.eval_sets import (
    encode_capped,
    load_eval_sets,
    premise_key,
    training_premises,
)
from causal_semloss.evaluate.margin_cache import MarginCache
from causal_semloss.evaluate.metrics import (
    binary_metrics,
    bootstrap_ci,
    bootstrap_seed,
    mean_of,
    run_collapsed,
    split_collapsed,
)
from causal_semloss.model.backbone import Backbone
from causal_semloss.model.batches import EncodedSet, encode_records
from causal_semloss.model.scoring import scoring_options, yes_no_margins
from causal_semloss.runtime import Runtime
from causal_semloss.schema import OOD_SPLITS

log = logging.getLogger(__name__)


def predict(
    backbone: Backbone, records: list[dict], cfg: DictConfig, progress=None
) -> tuple[list[bool], list[float | None]]:
    """Predicted Yes per record and the Yes−No logit margin (None with eval.method=generate)."""
    return predict_encoded(
        backbone, encode_records(records, backbone.tokenizer, cfg.model.prompt), cfg, progress
    )


def predict_encoded(
    backbone: Backbone, encoded: EncodedSet, cfg: DictConfig, progress=None
) -> tuple[list[bool], list[float | None]]:
    """`predict` on prompts already tokenized; none may be over eval.max_prompt_tokens (a
    ConfigError before any tensor is built: `encode_capped` decides what happens to them)."""
    longest = max((len(ids) for ids in encoded.prompt_ids), default=0)
    if longest > cfg.eval.max_prompt_tokens:
        raise ConfigError(
            f"a prompt of {longest} tokens is over eval.max_prompt_tokens="
            f"{cfg.eval.max_prompt_tokens}"
        )
    if cfg.eval.method == "logits":
        margins = yes_no_margins(
            backbone.model,
            encoded,
            pad_id=backbone.tokenizer.pad_token_id,
            yes_id=backbone.yes_id,
            no_id=backbone.no_id,
            batch_size=cfg.eval.batch_size,
            bf16=Runtime.of(cfg).bf16,
            progress=progress,
            **scoring_options(cfg.eval, next(backbone.model.parameters()).device),
        )
        return (margins > 0).tolist(), margins.tolist()
    return generate_answers(backbone, encoded, cfg, progress), [None] * len(encoded)


def predict_cached(
    backbone: Backbone,
    encoded: EncodedSet,
    cfg: DictConfig,
    cache: MarginCache | None,
    name: str,
    progress=None,
) -> tuple[list[bool], list[float | None]]:
    """`predict_encoded`, its margins read from `cache` when this model scored these prompts
    the same way before (None: no cache), and written there when not. `encoded` comes from
    `encode_capped`: no prompt over eval.max_prompt_tokens, cached or not."""
    if cache is None:
        return predict_encoded(backbone, encoded, cfg, progress)
    path = cache.path(encoded)
    cached = cache.load(path, len(encoded))
    if cached is not None:
        log.info("%s: margins from the cache (%s)", name, path)
        if progress is not None:
            progress(len(encoded))
        return cached
    predicted, margins = predict_encoded(backbone, encoded, cfg, progress)
    cache.store(path, predicted, margins)
    return predicted, margins


@torch.no_grad()
def generate_answers(backbone: Backbone, encoded, cfg: DictConfig, progress=None) -> list[bool]:
    """eval.method=generate: greedy-decode a few tokens; Yes iff the text starts with yes_word."""
    from causal_semloss.model.batches import collate

    tok, model = backbone.tokenizer, backbone.model
    model.eval()
    device = next(model.parameters()).device
    answers: list[bool] = [False] * len(encoded)
    for start in range(0, len(encoded), cfg.eval.batch_size):
        idx = list(range(start, min(start + cfg.eval.batch_size, len(encoded))))
        batch = collate(encoded, idx, tok.pad_token_id, with_answer=False)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=Runtime.of(cfg).bf16):
            out = model.generate(
                input_ids=batch["input_ids"].to(device, non_blocking=True),
                attention_mask=batch["attention_mask"].to(device, non_blocking=True),
                max_new_tokens=cfg.eval.generate_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
        texts = tok.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
        for i, text in zip(idx, texts, strict=True):
            answers[i] = text.strip().lower().startswith(cfg.model.prompt.yes_word.lower())
        if progress is not None:
            progress(len(idx))
    return answers


def split_metrics(predicted: list[bool], truth: list[bool], cfg: DictConfig, seed: int) -> dict:
    """binary_metrics plus bootstrap 95% CIs of accuracy and balanced accuracy. `evaluate` seeds
    every CI of an eval set with bootstrap_seed(cfg.seed, its key), valid-row subsets included."""
    result = binary_metrics(predicted, truth)
    result["ci95"] = bootstrap_ci(
        predicted,
        truth,
        ("accuracy", "balanced_accuracy"),
        n_resamples=cfg.eval.bootstrap,
        seed=seed,
    )
    return result


def evaluate(
    cfg: DictConfig,
    backbone: Backbone,
    out_dir: str | Path,
    trained_task: str | None = None,
    runtime: Runtime | None = None,
) -> dict:
    """Score every eval set, write predictions/<task>__<split>.jsonl and metrics.json."""
    out_dir = Path(out_dir)
    runtime = runtime or Runtime.of(cfg)
    torch.set_num_threads(cfg.eval.threads)  # scoring's own thread count, not training's
    backbone.model.to(runtime.device)
    log.info("evaluating on %s (bf16=%s)", runtime.device, runtime.bf16)
    cache = MarginCache.for_evaluation(cfg, backbone, bf16=Runtime.of(cfg).bf16)
    sets = load_eval_sets(cfg)
    seen_premises = training_premises(cfg) if trained_task and cfg.eval.data else None
    total = sum(len(s.records) for s in sets)
    splits: dict[str, dict] = {}
    baselines: dict[str, dict] = {name: {} for name in BASELINES}
    # predictions/ is assembled aside and renamed into place when every set is scored, then
    # metrics.json is written: an interrupted evaluation leaves the previous pair (or none).
    remove_stale_staging(out_dir / "predictions")  # of an evaluation killed mid-write
    with (
        atomic_dir(out_dir / "predictions") as predictions,
        tqdm(total=total, desc="evaluate", unit="ex", mininterval=1.0) as bar,
    ):
        predictions.chmod(0o755)  # as a dir made with mkdir, not mkdtemp's 0o700
        for eval_set in sets:
            encoded = encode_capped(eval_set, backbone.tokenizer, cfg)
            if not eval_set.records:
                skipped = dict(eval_set.skipped) or "no rows"
                raise ConfigError(f"eval set {eval_set.key} has no row to score ({skipped})")
            predicted, margins = predict_cached(
                backbone, encoded, cfg, cache, eval_set.key, progress=bar.update
            )
            answers = [truth(r) for r in eval_set.records]
            rows = [
                {
                    "id": r["id"],
                    "label": r.get("label"),
                    "oracle": r.get("oracle"),
                    "pred": "Yes" if p else "No",
                    "margin": m,
                    "kind": r.get("kind"),
                    "valid": r.get("valid", True),
                }
                for r, p, m in zip(eval_set.records, predicted, margins, strict=True)
            ]
            write_jsonl(predictions / eval_set.predictions_file, rows)
            seed = bootstrap_seed(cfg.seed, eval_set.key)  # not the set's position in `sets`
            entry = split_metrics(predicted, answers, cfg, seed=seed)
            if eval_set.external:
                valid = [i for i, r in enumerate(eval_set.records) if r.get("valid")]
                entry["valid_rows"] = split_metrics(
                    [predicted[i] for i in valid], [answers[i] for i in valid], cfg, seed=seed
                )
                entry["invalid"] = eval_set.file_summary
                entry["skipped"] = dict(sorted(eval_set.skipped.items()))
                entry["path"] = eval_set.path
            if seen_premises is not None and eval_set.task == trained_task:
                # eval.data: rows from another data dir than training's; how many premises of
                # the training split they repeat (expected 0; the report shows it).
                entry["training_premises"] = sum(
                    premise_key(r) in seen_premises for r in eval_set.records if "edges" in r
                )
            if eval_set.split == "adversarial":
                entry["by_kind"] = _by_kind(eval_set.records, predicted, answers)
            splits[eval_set.key] = entry
            for name, baseline in BASELINES.items():
                baselines[name][eval_set.key] = binary_metrics(
                    [baseline(r) for r in eval_set.records], answers
                )
    metrics = {
        "trained_task": trained_task,
        "splits": splits,
        "summary": {
            task: summarize(
                splits, task, cfg.eval.collapse_threshold, cfg.eval.collapse_min_answers
            )
            for task in cfg.eval.tasks
        },
        "baselines": baselines,
    }
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _by_kind(records: list[dict], predicted: list[bool], truth: list[bool]) -> dict:
    kinds: dict[str, tuple[list, list]] = {}
    for r, p, t in zip(records, predicted, truth, strict=True):
        preds, truths = kinds.setdefault(r.get("kind") or "?", ([], []))
        preds.append(p)
        truths.append(t)
    return {kind: binary_metrics(p, t)["accuracy"] for kind, (p, t) in sorted(kinds.items())}


def summarize(splits: dict, task: str, threshold: float, min_answers: int) -> dict:
    """The headline numbers of one task: did it learn (ID), OOD mean, adversarial, collapse (the
    suite's one rule, `metrics.split_collapsed`, over the ID test and the OOD splits; None when
    no split had `min_answers` answers; `id_n` says how many the ID test had)."""
    test = splits.get(f"{task}/test", {})
    ood = [splits[f"{task}/{s}"] for s in OOD_SPLITS if f"{task}/{s}" in splits]
    adversarial = splits.get(f"{task}/adversarial", {})
    flags = [
        split_collapsed(
            split,
            entry.get("yes_rate"),
            entry["true_yes"] / entry["n"] if entry.get("n") and "true_yes" in entry else None,
            threshold,
            entry.get("n"),
            min_answers,
        )
        for split in ("test", *OOD_SPLITS)
        if (entry := splits.get(f"{task}/{split}"))
    ]
    return {
        "id_accuracy": test.get("accuracy"),
        "id_balanced_accuracy": test.get("balanced_accuracy"),
        "id_yes_rate": test.get("yes_rate"),
        "id_n": test.get("n"),
        # The one rule (metrics.split_collapsed) over the ID test and every OOD split.
        "collapsed": run_collapsed(flags),
        "ood_accuracy": mean_of([s["accuracy"] for s in ood]),
        "ood_balanced_accuracy": mean_of([s["balanced_accuracy"] for s in ood]),
        "ood_f1": mean_of([s["f1"] for s in ood]),
        "ood_mcc": mean_of([s["mcc"] for s in ood]),
        "adversarial_accuracy": adversarial.get("accuracy"),
    }
