"""Read a finished sweep back from its files: one row per job (result.json + metrics.json +
train_metrics.json + config.json), so every table is made from files, never from memory."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from causal_semloss.errors import UserError
from causal_semloss.paths import RESULT, TRAIN_METRICS


@dataclass
class Job:
    path: Path
    result: dict
    metrics: dict | None = None
    train_metrics: dict | None = None
    config: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result.get("status") == "ok" and self.metrics is not None

    @property
    def recipe(self) -> str:
        """The run's recipe (conf/recipe/), as its result.json or config.json records it. A run
        recorded before the recipe axis has only its variant `<task>_<recipe>` (`base` when
        untrained), which is read back here and nowhere else."""
        found = self.result.get("recipe") or self.config.get("recipe", {}).get("name")
        if found:
            return found
        if not self.result.get("trained"):
            return "zero_shot"
        return self.result["variant"].removeprefix(f"{self.result['task']}_")

    @property
    def tasks(self) -> list[str]:
        """The tasks the run speaks for in the report: the one it ran for, whatever else it was
        scored on. An untrained run recorded before the recipe axis (one for every task) speaks
        for each task it was scored on."""
        if not self.result.get("recipe") and not self.result.get("trained"):
            return list((self.metrics or {}).get("summary", {}))
        return [self.result["task"]]


def _read(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: malformed JSON ({exc.msg})") from None


def load_sweep(sweep_dir: str | Path) -> list[Job]:
    """Every job dir under `sweep_dir` that holds a result.json (finished or failed)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir}: not a directory")
    jobs = []
    for result_path in sorted(sweep_dir.glob(f"**/{RESULT}")):
        job_dir = result_path.parent
        jobs.append(
            Job(
                path=job_dir,
                result=_read(result_path),
                metrics=_read(job_dir / "metrics.json"),
                train_metrics=_read(job_dir / TRAIN_METRICS),
                config=_read(job_dir / "config.json") or {},
            )
        )
    if not any(job.ok for job in jobs):
        raise UserError(f"{sweep_dir}: no finished jobs (no */{RESULT} with status ok)")
    return jobs


def load_sweeps(sweep_dirs: list[str | Path]) -> tuple[list[Path], list[Job]]:
    """The sweeps, each once, and their jobs, each once: a sweep given twice (by any path to
    it), or a job dir inside a sweep also given, would otherwise count its jobs twice."""
    dirs: list[Path] = []
    for given in map(Path, sweep_dirs):
        if given.resolve() not in {d.resolve() for d in dirs}:
            dirs.append(given)
    jobs: dict[Path, Job] = {}
    for sweep_dir in dirs:
        for job in load_sweep(sweep_dir):
            jobs.setdefault(job.path.resolve(), job)
    return dirs, list(jobs.values())
