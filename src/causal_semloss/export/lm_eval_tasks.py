"""The suite's evaluation sets as lm-evaluation-harness tasks: YAMLs and their JSONL data.

One task per (task, split) of `eval.tasks` x `eval.splits`, a group per task and one for the
whole suite. Each row's prompt is the configured `model.prompt` template (`render_prompt`, as the
suite scores it) and its target is the exact oracle's answer, read from the suite's own data
stage, so lm-eval and `causal_semloss.evaluate` score the same questions against the same
labels. The harness's `multiple_choice` compares the log-likelihoods of the two answer words
appended to the prompt with no delimiter (`target_delimiter: ""`); for answer words that are one
token each, that is the suite's comparison of the next-token logits of "Yes" and "No".

Layout of OUT_DIR (load with `lm_eval --include_path OUT_DIR`):
  causal_semloss.yaml                    group `causal_semloss`: every task group below
  causal_semloss_<task>.yaml             group `causal_semloss_<task>`: that task's splits
  causal_semloss_<task>_<split>.yaml     task `causal_semloss_<task>_<split>`
  causal_semloss_metrics.py              the F1 and MCC aggregations (harness_metrics.py)
  data/<task>/<split>.jsonl              its rows: prompt, answer (0 = No, 1 = Yes), ...
  export.json                            what was exported: config, prompt, counts
"""

from __future__ import annotations

from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_dir, write_json, write_jsonl, write_text
from causal_semloss.data.build import build_data, config_for_task, config_hash, read_split
from causal_semloss.data.records import truth
from causal_semloss.errors import ConfigError, UserError
from causal_semloss.evaluate.eval_sets import stratified_head
from causal_semloss.export import harness_metrics
from causal_semloss.model.batches import render_prompt

PREFIX = "causal_semloss"
METRICS_MODULE = f"{PREFIX}_metrics"
# Each metric's aggregation over a split's rows: acc is lm-eval's mean; f1 (of Yes) and mcc are
# corpus-level, from every row's (gold, prediction) pair (harness_metrics.py says why not
# lm-eval's own `f1` and `matthews_corrcoef`).
AGGREGATION = {
    "acc": "mean",
    "f1": f"!function {METRICS_MODULE}.{harness_metrics.f1_yes.__name__}",
    "mcc": f"!function {METRICS_MODULE}.{harness_metrics.mcc.__name__}",
}
# Flat fields of a record kept beside the prompt (lists are left out: Arrow infers one type
# per column, and the prompt already says the graph).
KEPT_FIELDS = ("id", "task", "split", "premise", "hypothesis", "graph_id", "kind", "pair_id")


def task_name(task: str, split: str | None = None) -> str:
    return f"{PREFIX}_{task}" if split is None else f"{PREFIX}_{task}_{split}"


def doc_row(record: dict, template: str) -> dict:
    """One lm-eval document: the rendered prompt and the oracle's answer as a choice index."""
    row = {field: record.get(field) for field in KEPT_FIELDS}
    return {**row, "prompt": render_prompt(template, record), "answer": int(truth(record))}


def task_config(task: str, split: str, data_file: Path, prompt_cfg: DictConfig, meta: dict) -> dict:
    return {
        "task": task_name(task, split),
        "dataset_path": "json",
        # Absolute: the datasets library resolves a relative data file against the working
        # directory, not this YAML's.
        "dataset_kwargs": {"data_files": {"test": str(data_file)}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": "prompt",  # a column name: its text is used as is (no Jinja)
        "doc_to_choice": [prompt_cfg.no_word, prompt_cfg.yes_word],
        "doc_to_target": "answer",
        "target_delimiter": "",  # the answer word follows the prompt as the suite scores it
        "num_fewshot": 0,
        "metadata": {"version": 1, **meta},
    }


def task_yaml(config: dict) -> str:
    """The task's YAML: `config` as plain YAML, then its metric list, written by hand because
    lm-eval's `!function` tag (a function from a .py file beside the YAML) is not plain YAML."""
    metrics = "".join(
        f"  - metric: {metric}\n    aggregation: {aggregation}\n    higher_is_better: true\n"
        for metric, aggregation in AGGREGATION.items()
    )
    return yaml.safe_dump(config, sort_keys=False) + "metric_list:\n" + metrics


def group_config(group: str, members: list[str], meta: dict) -> dict:
    """A group scoring each metric as the plain mean over its members (each split counts once,
    as the suite's per-split tables do), not weighted by rows."""
    return {
        "group": group,
        "task": members,
        "aggregate_metric_list": [
            {"metric": m, "aggregation": "mean", "weight_by_size": False} for m in AGGREGATION
        ],
        "metadata": {"version": 1, **meta},
    }


def check_out_dir(out_dir: Path, overwrite: bool, keep: list[Path]) -> None:
    """Refuse an OUT_DIR that is a file, holds files (unless `overwrite`), or would take with
    it, when replaced, the working directory or any path in `keep` (the data root)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a directory")
    if not (out_dir.is_dir() and any(out_dir.iterdir())):
        return
    if not overwrite:
        raise UserError(
            f"{out_dir}: directory is not empty; pass --overwrite to replace it (its files are "
            "removed)"
        )
    resolved = out_dir.resolve()
    for path in [Path.cwd(), *keep]:
        if path.resolve().is_relative_to(resolved):
            raise UserError(f"{out_dir}: holds {path}; not replacing it, choose another directory")


def check_exportable(ev: DictConfig) -> None:
    """Refuse what would export nothing (`eval.tasks` or `eval.splits` empty: groups of no task)
    or leave out what was asked for (`eval.external`: external files are scored by `evaluate`,
    not exported)."""
    for key in ("tasks", "splits"):
        if not ev[key]:
            raise ConfigError(f"config eval.{key}: empty, nothing to export")
    if ev.external:
        raise ConfigError(
            "config eval.external: export writes the built-in splits only; score an external "
            "file with `python -m causal_semloss.evaluate eval.external=[...]`"
        )


def load_sets(cfg: DictConfig) -> tuple[list[tuple[str, str, list[dict]]], dict]:
    """(task, split, records) for `eval.tasks` x `eval.splits`, as `evaluate` reads them (the
    data stage's files, capped by `eval.max_examples` keeping each split's Yes share), and
    where each task's data came from."""
    sets, sources = [], {}
    for task in cfg.eval.tasks:
        task_cfg = config_for_task(cfg, task)
        data_dir, _, _ = build_data(task_cfg)
        sources[task] = {"data_dir": str(data_dir), "config_hash": config_hash(task_cfg)}
        for split in cfg.eval.splits:
            records = read_split(data_dir, split)
            if cfg.eval.max_examples:
                records = stratified_head(records, cfg.eval.max_examples)
            sets.append((task, split, records))
    return sets, sources


def export_lm_eval(cfg: DictConfig, out_dir: str | Path, overwrite: bool = False) -> dict:
    """Write the tasks for `cfg` (a checked config) into `out_dir`, all at once: assembled in a
    staging dir beside it and renamed into place. Returns the summary written as export.json."""
    out_dir = Path(out_dir).absolute()
    check_exportable(cfg.eval)  # before OUT_DIR is looked at: a refusal replaces nothing
    check_out_dir(out_dir, overwrite, keep=[Path(cfg.paths.data_root)])
    prompt_cfg = cfg.model.prompt
    meta = {"prompt": prompt_cfg.name, "data": cfg.data.name, "seed": int(cfg.seed)}
    sets, sources = load_sets(cfg)
    summary = {
        "prompt": OmegaConf.to_container(prompt_cfg, resolve=True),
        "data": cfg.data.name,
        "seed": int(cfg.seed),
        "max_examples": cfg.eval.max_examples,
        "tasks": {task: {**source, "splits": {}} for task, source in sources.items()},
    }
    with atomic_dir(out_dir) as staging:
        for task, split, records in sets:
            rows = [doc_row(r, prompt_cfg.template) for r in records]
            data_file = Path("data") / task / f"{split}.jsonl"
            write_jsonl(staging / data_file, rows)
            config = task_config(task, split, out_dir / data_file, prompt_cfg, meta)
            write_text(staging / f"{config['task']}.yaml", task_yaml(config))
            summary["tasks"][task]["splits"][split] = {
                "task": config["task"],
                "n": len(rows),
                "yes": sum(row["answer"] for row in rows),
            }
        groups = {task_name(t): [task_name(t, s) for s in cfg.eval.splits] for t in cfg.eval.tasks}
        groups[PREFIX] = list(groups)
        for group, members in groups.items():
            write_text(
                staging / f"{group}.yaml",
                yaml.safe_dump(group_config(group, members, meta), sort_keys=False),
            )
        write_text(
            staging / f"{METRICS_MODULE}.py", Path(harness_metrics.__file__).read_text("utf-8")
        )
        write_json(staging / "export.json", summary)
    return summary
