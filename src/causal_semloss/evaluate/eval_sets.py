"""The sets an evaluation scores, each under its own key, and the prompt cap applied to them.

Built-in splits are `<task>/<split>`; an external file is `<task>/external:<path as given>`, so
a file named test.jsonl never replaces the built-in test split, and two files with one stem
(a/ext.jsonl, b/ext.jsonl) are two sets. Every prompt is tokenized and measured against
`eval.max_prompt_tokens` before any tensor is built for it (`encode_capped`).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from causal_semloss.config_checks import checked
from causal_semloss.data.build import build_data, config_for_task, read_split
from causal_semloss.data.external import load_external, no_row_to_score
from causal_semloss.data.records import take_by_class, truth
from causal_semloss.errors import ConfigError, DataError
from causal_semloss.model.batches import EncodedSet, encode_records

EXTERNAL = "external:"


@dataclass
class EvalSet:
    task: str
    split: str  # a built-in split, or "external:<path as given>"
    records: list[dict]
    path: str | None = None  # the external file, as given in eval.external
    file_summary: dict | None = None  # the external file's {n, valid, invalid, info}
    skipped: Counter = field(default_factory=Counter)  # rows of the file not scored, by why

    @property
    def external(self) -> bool:
        return self.path is not None

    @property
    def key(self) -> str:
        return f"{self.task}/{self.split}"

    @property
    def predictions_file(self) -> str:
        """`<task>__<split>.jsonl`; an external file's name is its stem and a hash of its path
        (unique per path, and a file name whatever characters the path holds)."""
        if not self.external:
            return f"{self.task}__{self.split}.jsonl"
        digest = hashlib.sha256(self.path.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        stem = re.sub(r"[^\w.-]+", "_", Path(self.path).stem, flags=re.ASCII)[:40]
        return f"{self.task}__external-{stem}-{digest}.jsonl"


def eval_data_config(cfg: DictConfig, task: str) -> DictConfig:
    """The config whose data dir holds `task`'s evaluation splits: `cfg` for `task`, with
    `eval.data` merged onto its data setting. Arms of a paired comparison that train on
    different data (a balanced twin, companions) set `eval.data` back to their partner's
    setting, so every arm is scored on the very same rows (one data dir, same bytes)."""
    task_cfg = config_for_task(cfg, task)
    if not cfg.eval.data:
        return task_cfg
    plain = OmegaConf.to_container(task_cfg, resolve=True)
    merged = OmegaConf.merge(OmegaConf.create(plain["data"]), cfg.eval.data)
    plain["data"] = OmegaConf.to_container(merged, resolve=True)
    return checked(OmegaConf.create(plain))


def load_builtin_sets(cfg: DictConfig, tasks: list[str], cap: int | None) -> list[EvalSet]:
    """`eval.splits` of each task, from its evaluation data dir, each capped at `cap` rows
    (stratified; None: whole)."""
    sets = []
    for task in tasks:
        data_dir, _, _ = build_data(eval_data_config(cfg, task))
        for split in cfg.eval.splits:
            records = read_split(data_dir, split)
            sets.append(EvalSet(task, split, stratified_head(records, cap) if cap else records))
    return sets


def training_premises(cfg: DictConfig) -> set[frozenset] | None:
    """The premises (edge sets) of the training split when the evaluation splits come from
    another data dir (`eval.data` set): a generated split never repeats its own dir's training
    premises, but nothing stops it from repeating another dir's, so `evaluate` counts them.
    None when both are one dir (the count is 0 by construction)."""
    train_dir, _, _ = build_data(cfg)
    eval_dir, _, _ = build_data(eval_data_config(cfg, cfg.task.name))
    if train_dir == eval_dir:
        return None
    return {premise_key(r) for r in read_split(train_dir, "train") if not r.get("companion")}


def premise_key(record: dict) -> frozenset:
    return frozenset(tuple(edge) for edge in record["edges"])


def load_eval_sets(cfg: DictConfig) -> list[EvalSet]:
    sets = load_builtin_sets(cfg, list(cfg.eval.tasks), cfg.eval.max_examples)
    for path in cfg.eval.external:
        loaded = load_external(
            path,
            cfg.eval.external_task or cfg.task.name,
            on_invalid=cfg.eval.on_invalid,
            max_nodes=cfg.data.max_nodes,
        )
        sets.append(
            EvalSet(
                loaded.task,
                f"{EXTERNAL}{path}",
                loaded.records,
                path=str(path),
                file_summary=loaded.summary(),
                skipped=Counter(loaded.skipped),
            )
        )
    return sets


def stratified_head(records: list[dict], cap: int) -> list[dict]:
    """The first `cap` records keeping the split's Yes share (so a capped balanced split stays
    balanced), in file order."""
    if len(records) <= cap:
        return records
    yes_share = sum(truth(r) for r in records) / len(records)
    quota = {True: round(cap * yes_share), False: cap - round(cap * yes_share)}
    return list(take_by_class(records, quota))


def encode_capped(eval_set: EvalSet, tokenizer, cfg: DictConfig) -> EncodedSet:
    """The set's prompts tokenized, none longer than eval.max_prompt_tokens.

    A built-in split over the cap is a ConfigError (raise the cap); an external row over it is
    an error naming the file and line under eval.on_invalid=error, and otherwise leaves
    `eval_set.records`, counted in `eval_set.skipped` as `prompt_too_long`. A set with no row
    left to score is an error. Only token ids exist at this point: nothing has been allocated
    for the model.
    """
    cap = cfg.eval.max_prompt_tokens
    _require_rows(eval_set, cfg.eval.on_invalid)
    encoded = encode_records(eval_set.records, tokenizer, cfg.model.prompt)
    over = [i for i, ids in enumerate(encoded.prompt_ids) if len(ids) > cap]
    if not over:
        return encoded
    n_tokens = len(encoded.prompt_ids[over[0]])
    if not eval_set.external:
        raise ConfigError(
            f"{eval_set.key}: a prompt of {n_tokens} tokens is over "
            f"eval.max_prompt_tokens={cap}; raise the cap"
        )
    if cfg.eval.on_invalid == "error":
        raise DataError(
            f"{eval_set.path}:{eval_set.records[over[0]]['line']}: prompt of {n_tokens} tokens, "
            f"over eval.max_prompt_tokens={cap} (on_invalid=keep or drop skips and counts it)"
        )
    dropped = set(over)
    eval_set.records = [r for i, r in enumerate(eval_set.records) if i not in dropped]
    eval_set.skipped["prompt_too_long"] += len(over)
    _require_rows(eval_set, cfg.eval.on_invalid)
    return encode_records(eval_set.records, tokenizer, cfg.model.prompt)


def _require_rows(eval_set: EvalSet, on_invalid: str) -> None:
    """A set with no row left to score is an error (its metrics would be of nothing)."""
    if eval_set.records:
        return
    if eval_set.external:
        raise no_row_to_score(eval_set.path, eval_set.skipped, on_invalid)
    raise ConfigError(f"eval set {eval_set.key} has no row to score")
