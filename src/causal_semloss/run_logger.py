"""Experiment logging: W&B (offline by default — no network, no key) or nothing.

One W&B run per job: the resolved config, per-step loss terms and λ, validation metrics;
group = the sweep name, job_type = the run's name (`<task>_<recipe>`), tags from config. `logger=none` logs nothing and
needs no W&B installed (a lent GPU machine has none).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

# The key of the run's name (`pipeline.run_name`: `<task>_<recipe>`) in each job's W&B config:
# the dashboard groups runs by it (`dashboard.spec.GROUP_BY`).
RUN_NAME_KEY = "run_name"


class WandbLogger:
    """One W&B run. Built from the `logger` config group by `hydra.utils.instantiate`: the YAML
    names this class (`_target_`) and gives `name`, `mode`, `project`, `entity`, `group`,
    `tags`; the caller adds where and what the run is."""

    def __init__(
        self,
        *,
        out_dir: Path,
        run_name: str,
        job_type: str,
        run_config: dict,
        name: str,
        mode: str,
        project: str,
        entity: str | None,
        group: str | None,
        tags: list[str],
    ):
        self._wandb = self.run = None
        if name == "none":
            return
        import wandb

        os.environ.setdefault("WANDB_SILENT", "true")
        self._wandb = wandb
        self.run = wandb.init(
            project=project,
            entity=entity,
            group=group or default_group(out_dir),
            job_type=job_type,
            name=run_name,
            tags=list(tags),
            mode=mode,
            dir=str(out_dir),
            config=run_config,
            reinit="create_new",
        )

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self.run is None:
            return
        self.run.log(metrics, step=step)

    def summary(self, metrics: dict[str, Any]) -> None:
        if self.run is None:
            return
        for key, value in metrics.items():
            self.run.summary[key] = value

    def log_artifacts(self, tables: dict[str, Any], images: dict[str, str]) -> None:
        if self.run is None:
            return
        payload = {
            name: self._wandb.Table(dataframe=df, allow_mixed_types=True)
            for name, df in tables.items()
        }
        payload.update({name: self._wandb.Image(path) for name, path in images.items()})
        self.run.log(payload)

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()


# What each job's W&B summary holds per built-in split (`eval_summary`): the dashboard's panels
# (causal_semloss.dashboard) read exactly these keys.
SPLIT_METRICS = ("yes_rate", "true_yes_rate", "accuracy", "balanced_accuracy", "mcc")
BASELINE_METRICS = ("accuracy", "balanced_accuracy", "mcc")


def eval_summary(
    metrics: dict, own_task: str, collapse_threshold: float, collapse_min_answers: int = 1
) -> dict[str, Any]:
    """The W&B summary of one evaluation (metrics.json): per task its headline numbers
    (`eval/<task>/<k>`), per built-in split `eval/<task>/<split>/<metric>` and the trivial
    baselines' `baseline/<task>/<split>/<name>/<metric>`, and for the run's own task
    `eval/own/{id_mcc, ood_mcc, collapsed_splits}` — one key the parallel-coordinates panel
    reads whichever task a run was trained on. External eval sets keep only their metrics.json."""
    from causal_semloss.evaluate.metrics import split_collapsed
    from causal_semloss.schema import ALL_SPLITS, OOD_SPLITS

    out: dict[str, Any] = {
        f"eval/{task}/{k}": v
        for task, summary in metrics["summary"].items()
        for k, v in summary.items()
    }
    collapsed: dict[str, int] = {}
    for key, entry in metrics["splits"].items():
        task, _, split = key.partition("/")
        if split not in ALL_SPLITS:
            continue
        truth = entry["true_yes"] / entry["n"] if entry.get("n") else None
        values = {**entry, "true_yes_rate": truth}
        out.update({f"eval/{key}/{m}": values.get(m) for m in SPLIT_METRICS})
        if split in ("test", *OOD_SPLITS):
            hit = split_collapsed(
                split,
                entry.get("yes_rate"),
                truth,
                collapse_threshold,
                entry.get("n"),
                collapse_min_answers,
            )
            collapsed[task] = collapsed.get(task, 0) + int(bool(hit))
    for name, per_split in metrics.get("baselines", {}).items():
        for key, entry in per_split.items():
            if key.partition("/")[2] in ALL_SPLITS:
                out.update({f"baseline/{key}/{name}/{m}": entry.get(m) for m in BASELINE_METRICS})
    for task, count in collapsed.items():
        out[f"eval/{task}/collapsed_splits"] = count
    own = metrics["summary"].get(own_task, {})
    out["eval/own/id_mcc"] = metrics["splits"].get(f"{own_task}/test", {}).get("mcc")
    out["eval/own/ood_mcc"] = own.get("ood_mcc")
    out["eval/own/collapsed_splits"] = collapsed.get(own_task, 0)
    return out


def default_group(out_dir: Path) -> str:
    """Sweep jobs live in multirun/<date>/<time>/<n>: group them by <date>/<time>."""
    out_dir = Path(out_dir).resolve()
    parent = out_dir.parent if out_dir.name.isdigit() else out_dir
    return f"{parent.parent.name}_{parent.name}"


def make_logger(cfg: DictConfig, out_dir: Path, name: str, job_type: str, config: dict):
    """The logger `cfg.logger` names (`_target_`). `logger=none`: every call is a no-op, nothing
    is written, W&B is never imported."""
    return instantiate(
        cfg.logger,
        out_dir=Path(out_dir),
        run_name=name,
        job_type=job_type,
        run_config=config,
        _convert_="all",
        _recursive_=False,  # run_config holds this very logger config: never build it again
    )
