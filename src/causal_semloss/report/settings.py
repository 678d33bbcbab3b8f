"""The settings the report reads from a sweep's own config (config.json of each job), with
today's conf/ filling in what a sweep older than them lacks — never a number written here."""

from __future__ import annotations

from functools import cache

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from causal_semloss.paths import CONFIG_DIR
from causal_semloss.report.sweep import Job
from causal_semloss.schema import ReportConfig


@cache
def _composed() -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("config")


def report_config(jobs: list[Job]) -> DictConfig:
    """`report` as the sweep ran with it (its verdict rules), over today's defaults."""
    found = next((j.config["report"] for j in jobs if "report" in j.config), {})
    return OmegaConf.merge(OmegaConf.structured(ReportConfig), _composed().report, found)


def collapse_threshold(job: Job) -> float:
    """The share of identical answers the job's evaluation called a collapse."""
    found = job.config.get("eval", {}).get("collapse_threshold")
    return float(_composed().eval.collapse_threshold if found is None else found)


def collapse_min_answers(job: Job) -> int:
    """The fewest answers the job's evaluation judged a collapse from (1 before the setting)."""
    found = job.config.get("eval", {}).get("collapse_min_answers")
    return int(_composed().eval.collapse_min_answers if found is None else found)


def backbone(job: Job) -> str:
    """The backbone a job ran from: its config's `model.name` (result.json's `model` before)."""
    return str(job.config.get("model", {}).get("name") or job.result.get("model") or "unknown")


def paper_row_of(task: str | None, recipe: str) -> str | None:
    """The paper's row (its key in paper_numbers.json) that (task, recipe) stands for, by
    today's `report.paper_rows`; None when it is none of the paper's rows."""
    return _composed().report.paper_rows.get(task or "", {}).get(recipe)


def paper_row(job: Job) -> str | None:
    """The paper's row a report row stands for: result.json's `paper_row` (None for a run of
    none of the paper's rows), or — for a run recorded before that field — by (task, recipe)
    in today's `report.paper_rows`. An arm with a suffix (another config than the recipe's
    majority, e.g. a constant-λ control) stands for no paper row."""
    if job.arm_suffix:
        return None
    if "paper_row" in job.result:
        return job.result["paper_row"]
    return paper_row_of(job.task, job.recipe)
