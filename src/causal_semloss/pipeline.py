"""One variant end to end: data -> (train) -> evaluate -> result.json, in one job dir.

A failing job writes result.json with status "failed" and the error instead of raising, so in a
Hydra sweep it does not stop the other jobs and shows up as failed in the report.
"""

from __future__ import annotations

import gc
import logging
import traceback
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import write_json
from causal_semloss.errors import UserError
from causal_semloss.evaluation import evaluate
from causal_semloss.modeling import load_backbone
from causal_semloss.pretraining import ensure_pretrained, needs_pretraining
from causal_semloss.run_logger import make_logger
from causal_semloss.training import TrainingInterrupted, train

log = logging.getLogger(__name__)
RESULT = "result.json"


def run_variant(cfg: DictConfig, out_dir: str | Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = {
        "variant": cfg.variant.name,
        "seed": cfg.seed,
        "task": cfg.task.name,
        "loss": cfg.loss.name,
        "model": cfg.model.name,
        "data": cfg.data.name,
        "trained": bool(cfg.variant.train),
    }
    resolved = OmegaConf.to_container(cfg, resolve=True)
    write_json(out_dir / "config.json", resolved)
    # One W&B run per job: training curves, then the evaluation summary.
    logger = make_logger(
        cfg,
        out_dir,
        name=f"{cfg.variant.name}-s{cfg.seed}",
        job_type=cfg.variant.name,
        config=resolved,
    )
    try:
        if cfg.variant.train:
            train(cfg, out_dir, logger=logger)
            backbone = load_backbone(cfg, from_dir=out_dir / "model")
        else:
            if needs_pretraining(cfg):
                ensure_pretrained(cfg)  # the pre-train stage of an untrained variant
            backbone = load_backbone(cfg)
        metrics = evaluate(
            cfg, backbone, out_dir, trained_task=cfg.task.name if cfg.variant.train else None
        )
        result = {**base, "status": "ok", "summary": metrics["summary"]}
        logger.summary(
            {
                f"eval/{task}/{k}": v
                for task, summary in metrics["summary"].items()
                for k, v in summary.items()
            }
        )
    except (TrainingInterrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # one job's failure must not stop a sweep
        if isinstance(exc, UserError) and not _in_sweep():
            raise
        log.error("job failed: %s", exc)
        result = {
            **base,
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    finally:
        logger.finish()
        # Hydra's basic launcher runs a sweep's jobs in one process: free the model each job.
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    write_json(out_dir / RESULT, result)
    return result


def _in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False
