"""One run end to end: data -> (train) -> evaluate -> result.json, in one job dir; and how a
sweep of such jobs resumes and stops. A run is a (task, recipe) pair on a data setting, backbone
and seed; result.json records each, the run's name (`run_name`: `<task>_<recipe>`) and the
paper's row it stands for, if any (`paper_row`).

A failing job writes result.json with status "failed" and the error instead of raising, so in a
Hydra sweep it does not stop the other jobs and shows up as failed in the report.

Rerunning a sweep into its dir skips a job whose result.json says "ok" for the same resolved
config (`finished_result`), resumes one interrupted in training from its checkpoint, and reuses a
finished training made under the same training config (when only the evaluation was interrupted
or changed); a finished training under another one is refused, as a checkpoint is.
SIGINT/SIGTERM stops the whole sweep under any launcher (`run_stoppable`, `stop_scope`): the
running job checkpoints (in training) or stops at once (elsewhere), and no new job starts.
"""

from __future__ import annotations

import gc
import json
import logging
import traceback
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import write_json
from causal_semloss.errors import ConfigError, UserError
from causal_semloss.evaluate.evaluation import evaluate
from causal_semloss.evaluate.trajectory import probe_factory
from causal_semloss.model.backbone import check_model_dir_card, load_backbone
from causal_semloss.paths import RESULT, RUN_CONFIG, TRAIN_METRICS
from causal_semloss.run_logger import RUN_NAME_KEY, eval_summary, make_logger
from causal_semloss.runtime import Runtime
from causal_semloss.train.cached_lm_stage import prepare_backbone
from causal_semloss.train.checkpoints import run_config_hash, trained_under
from causal_semloss.train.finetune import train
from causal_semloss.train.trainer import TrainingInterrupted

log = logging.getLogger(__name__)
CONFIG = RUN_CONFIG


def run_name(cfg: DictConfig) -> str:
    """A run's name in tables, figures, W&B and the dashboard: `<task>_<recipe>`, for every
    run alike (the paper's row it stands for is a field of its own: `paper_row`)."""
    return f"{cfg.task.name}_{cfg.recipe.name}"


def paper_row(cfg: DictConfig) -> str | None:
    """The paper's row the run stands for — the key of its numbers in paper_numbers.json, by
    (task, recipe) in `report.paper_rows` — or None when it is none of the paper's rows."""
    return cfg.report.paper_rows.get(cfg.task.name, {}).get(cfg.recipe.name)


def run_job(cfg: DictConfig, out_dir: str | Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = run_name(cfg)
    runtime = Runtime.of(cfg)  # resolved once: every stage of this job runs on it
    base = {
        "name": name,
        "paper_row": paper_row(cfg),
        "seed": cfg.seed,
        "task": cfg.task.name,
        "recipe": cfg.recipe.name,
        "loss": cfg.loss.name,
        "model": cfg.model.name,
        "prompt": cfg.model.prompt.name,
        "data": cfg.data.name,
        "trained": bool(cfg.recipe.train),
    }
    resolved = OmegaConf.to_container(cfg, resolve=True)
    refuse_another_run(cfg, out_dir)  # before anything in the dir is touched
    same_config = _read_json(out_dir / CONFIG) == _as_json(resolved)
    # A finished training is this job's only if made under the same training config
    # (`_trained_earlier`); a damaged one (or one without a card) is refused before any file here
    # is touched. A result left by this run's earlier try is rewritten at the end either way.
    reuse_training = _trained_earlier(cfg, out_dir, same_config)
    if cfg.recipe.train and reuse_training:
        check_model_dir_card(out_dir / "model")
    (out_dir / RESULT).unlink(missing_ok=True)
    write_json(out_dir / CONFIG, resolved)
    # One W&B run per job: training curves, then the evaluation summary. Its config carries the
    # run's name too, which the dashboard groups by.
    logger = make_logger(
        cfg,
        out_dir,
        name=f"{name}-s{cfg.seed}",
        job_type=name,
        config={**resolved, RUN_NAME_KEY: name, "paper_row": base["paper_row"]},
    )
    try:
        if cfg.recipe.train:
            if reuse_training:
                log.info("training finished earlier in %s: evaluating that model", out_dir)
            else:
                train(
                    cfg, out_dir, logger=logger, probe_factory=probe_factory(cfg), runtime=runtime
                )
            backbone = load_backbone(cfg, from_dir=out_dir / "model")
        else:
            prepare_backbone(cfg, runtime.use_threads())  # the pre-train stage of an untrained run
            backbone = load_backbone(cfg)
        trained_task = cfg.task.name if cfg.recipe.train else None
        metrics = evaluate(cfg, backbone, out_dir, trained_task=trained_task, runtime=runtime)
        result = {**base, "status": "ok", "summary": metrics["summary"]}
        logger.summary(
            eval_summary(
                metrics, cfg.task.name, cfg.eval.collapse_threshold, cfg.eval.collapse_min_answers
            )
        )
    except (TrainingInterrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # one job's failure must not stop a sweep
        if isinstance(exc, UserError) and not in_sweep():
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


def finished_result(cfg: DictConfig, out_dir: str | Path) -> dict | None:
    """The result.json of `out_dir` if it says "ok" and its config.json is `cfg` resolved: a
    rerun of the sweep skips that job. A failed or interrupted job, or another config, is None."""
    out_dir = Path(out_dir)
    result = _read_json(out_dir / RESULT)
    if not result or result.get("status") != "ok":
        return None
    same = _read_json(out_dir / CONFIG) == _as_json(OmegaConf.to_container(cfg, resolve=True))
    return result if same else None


# What makes a dir's run the same run: these sections of its config, hashed as a checkpoint's
# config is (bookkeeping such as threads or logging cadence aside), and its recipe. Evaluation
# settings may change: the same run is scored again (`_trained_earlier`).
_RUN_IDENTITY = ("seed", "task", "recipe", "data", "model", "loss", "train", "runtime")
# Files a job of another kind leaves in a dir (an `evaluate`, a training without config.json).
_OTHER_OUTPUTS = (RESULT, "metrics.json", "predictions", "model", TRAIN_METRICS)


def refuse_another_run(cfg: DictConfig, out_dir: Path) -> None:
    """ConfigError if `out_dir` holds another run than `cfg`'s: one whose config.json differs in
    what the run is (`_RUN_IDENTITY`: another recipe, seed, lr, ...), or the output of a job that
    wrote no config.json (`evaluate`). A dir holds one run: its files are never mixed with, or
    replaced by, another run's, and a refusal leaves every file as it was."""
    old = _read_json(out_dir / CONFIG)
    if old is None:
        found = [name for name in _OTHER_OUTPUTS if (out_dir / name).exists()]
        if found:
            raise ConfigError(
                f"{out_dir} holds another job's output ({', '.join(found)}) and no {CONFIG}; "
                "a dir holds one run: use a new output dir"
            )
        return
    new = _as_json(OmegaConf.to_container(cfg, resolve=True))
    if old == new:
        return
    try:
        same = old.get("recipe") == new["recipe"] and run_config_hash(
            OmegaConf.create(old)
        ) == run_config_hash(cfg)
    except Exception:  # a config.json written before some of these keys existed
        return  # decided later, as before: `_trained_earlier`, the checkpoint's own hash
    if not same:
        differs = [k for k in _RUN_IDENTITY if old.get(k) != new.get(k)] or ["train"]
        raise ConfigError(
            f"{out_dir} holds another run (its {CONFIG} differs in {', '.join(differs)}); a dir "
            "holds one run: use a new output dir (hydra.run.dir / hydra.sweep.dir), or delete "
            "that one"
        )


def _trained_earlier(cfg: DictConfig, out_dir: Path, same_config: bool) -> bool:
    """`out_dir` holds a finished training of `cfg`: its model dir was trained under the same
    training config (or, recorded before model dirs said so, the whole config was the same).
    Otherwise `train` runs — and refuses a finished training under another config."""
    model_dir = out_dir / "model"
    if not (out_dir / TRAIN_METRICS).exists() or not model_dir.is_dir():
        return False
    recorded = trained_under(model_dir)
    return recorded == run_config_hash(cfg) if recorded else same_config


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _as_json(obj):
    """`obj` as it reads back from a JSON file (tuples as lists), for comparing with one."""
    return json.loads(json.dumps(obj))


def in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False
