"""Experiment logging: W&B (offline by default — no network, no key) or nothing.

One W&B run per job: the resolved config, per-step loss terms and λ, validation metrics;
group = the sweep name, job_type = the variant, tags from config. `logger=none` runs W&B in its
disabled mode rather than a stand-in class of ours.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig


class WandbLogger:
    def __init__(
        self,
        cfg: DictConfig,
        out_dir: Path,
        name: str,
        job_type: str,
        config: dict,
        mode: str | None = None,
    ):
        import wandb

        mode = mode or cfg.logger.mode

        os.environ.setdefault("WANDB_SILENT", "true")
        self._wandb = wandb
        self.run = wandb.init(
            project=cfg.logger.project,
            entity=cfg.logger.entity,
            group=cfg.logger.group or default_group(out_dir),
            job_type=job_type,
            name=name,
            tags=list(cfg.logger.tags),
            mode=mode,
            dir=str(out_dir),
            config=config,
            reinit="create_new",
        )

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self.run.log(metrics, step=step)

    def summary(self, metrics: dict[str, Any]) -> None:
        for key, value in metrics.items():
            self.run.summary[key] = value

    def log_artifacts(self, tables: dict[str, Any], images: dict[str, str]) -> None:
        payload = {name: self._wandb.Table(dataframe=df) for name, df in tables.items()}
        payload.update({name: self._wandb.Image(path) for name, path in images.items()})
        self.run.log(payload)

    def finish(self) -> None:
        self.run.finish()


def default_group(out_dir: Path) -> str:
    """Sweep jobs live in multirun/<date>/<time>/<n>: group them by <date>/<time>."""
    out_dir = Path(out_dir).resolve()
    parent = out_dir.parent if out_dir.name.isdigit() else out_dir
    return f"{parent.parent.name}_{parent.name}"


def make_logger(cfg: DictConfig, out_dir: Path, name: str, job_type: str, config: dict):
    """`logger=none` is W&B's own disabled mode: every call is a no-op, nothing is written."""
    mode = "disabled" if cfg.logger.name == "none" else cfg.logger.mode
    return WandbLogger(cfg, out_dir, name, job_type, config, mode=mode)
