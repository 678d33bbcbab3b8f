"""Read a finished sweep back from its files: one row per job (result.json + metrics.json +
train_metrics.json + config.json), so every table is made from files, never from memory."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from causal_semloss.errors import UserError
from causal_semloss.paths import RESULT, TRAIN_METRICS

MISSING, MALFORMED = "missing", "malformed"
# Files that mark a dir as a job's own (a started run) rather than a folder of jobs.
JOB_MARKERS = (".hydra", "config.json", "checkpoint.pt", "train_metrics.json")
SKIPPED_DIRS = {
    "model",
    "wandb",
    "predictions",
    "logs",
    "node_modules",
    "__pycache__",
    ".git",
    ".venv",
}
# How far below a given dir job dirs are looked for: multirun/<date>/<time>/<job> is 3 below
# multirun/; a search never visits more than MAX_DIRS.
MAX_DEPTH = 3
MAX_DIRS = 20_000


@dataclass
class Job:
    path: Path
    result: dict
    metrics: dict | None = None
    train_metrics: dict | None = None
    config: dict = field(default_factory=dict)
    # Set by `report.arms.assign_arms`: what tells this run's arm from other configs of its
    # recipe (e.g. " [loss.schedule=constant(0.3)]"), "" when nothing does.
    arm_suffix: str = ""
    fingerprint: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Finished, and scored at least one row (a job with nothing to evaluate counts nowhere)."""
        return (
            self.result.get("status") == "ok"
            and self.metrics is not None
            and bool(self.metrics.get("summary"))
        )

    @property
    def unknown(self) -> bool:
        """No run's record to place it by (missing or malformed): listed, in no row."""
        return self.result.get("status") in (MISSING, MALFORMED)

    @property
    def missing(self) -> bool:
        """A job the sweep started or listed that never wrote a result (killed, still running)."""
        return self.result.get("status") == MISSING

    @property
    def recipe(self) -> str:
        """The run's recipe (conf/recipe/), as its result.json or config.json records it. A run
        recorded before the recipe axis has only its `variant` (`<task>_<recipe>`, `base` when
        untrained), which is read back here and nowhere else."""
        found = self.result.get("recipe") or self.config.get("recipe", {}).get("name")
        if found:
            return found
        if "variant" not in self.result:
            return "unknown"
        if not self.result.get("trained"):
            return "zero_shot"
        return str(self.result["variant"]).removeprefix(f"{self.result.get('task')}_")

    @property
    def task(self) -> str | None:
        """The task the run ran for. An untrained run recorded before the recipe axis ran for no
        task of its own (its `task` was the default): it is named by the task it was scored on
        when that is not the recorded one (`tasks`)."""
        task = self.result.get("task") or self.config.get("task", {}).get("name")
        summary = (self.metrics or {}).get("summary") or {}
        if self._before_recipes and not self.result.get("trained") and task not in summary:
            return next(iter(summary), task)
        return task

    @property
    def _before_recipes(self) -> bool:
        return "variant" in self.result and not self.result.get("recipe")

    @property
    def role(self) -> str:
        """The recipe and what tells this run's config from others of that recipe: the name of
        the report row it is a seed of."""
        return self.recipe + self.arm_suffix

    @property
    def arm(self) -> str:
        """The report row's name: the run's name `<task>_<recipe>` with the arm's suffix — the
        same pattern for every task and recipe, the paper's rows included (their paper row is
        `report.settings.paper_row`), whether result.json says `name` or, before, `variant`."""
        name = "_".join(part for part in (self.task, self.recipe) if part)
        return name + self.arm_suffix

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


def _result(path: Path) -> dict:
    """result.json as a dict; one that is not a run's record makes the job failed, by reason."""
    try:
        found = _read(path)
    except UserError as exc:
        return {"status": MALFORMED, "error": f"malformed result.json: {exc}"}
    if not isinstance(found, dict) or "status" not in found:
        what = type(found).__name__ if not isinstance(found, dict) else "no 'status'"
        return {"status": MALFORMED, "error": f"malformed result.json ({what})"}
    return found


def _looks_like_job(path: Path) -> bool:
    return any((path / name).exists() for name in JOB_MARKERS)


def _job_dirs(sweep_dir: Path) -> tuple[list[Path], list[Path]]:
    """(dirs with a result.json, job dirs without one), at most MAX_DEPTH levels below
    `sweep_dir` and never inside a job dir or a hidden, model or environment dir: a report on
    `/` or a home dir stops instead of walking the whole disk."""
    done, started, visited = [], [], 0
    frontier = [(sweep_dir, 0)]
    while frontier:
        path, depth = frontier.pop()
        visited += 1
        if visited > MAX_DIRS:
            raise UserError(
                f"{sweep_dir}: more than {MAX_DIRS:,} directories searched for */{RESULT}; "
                "give the sweep dir itself (multirun/<date>/<time>)"
            )
        if (path / RESULT).is_file():
            done.append(path)
            continue
        if depth > 0 and _looks_like_job(path):
            started.append(path)
            continue
        if depth == MAX_DEPTH:
            continue
        try:
            children = [c for c in path.iterdir() if c.is_dir() and not c.is_symlink()]
        except OSError:
            continue
        frontier += [
            (c, depth + 1)
            for c in children
            if c.name not in SKIPPED_DIRS and not c.name.startswith(".")
        ]
    return sorted(done), sorted(started)


def _listed_jobs(sweep_dir: Path) -> int | None:
    """How many jobs the sweep's multirun.yaml asked for (the product of its sweep overrides);
    None when there is no such file or it cannot be read."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(path)
        params = {str(k): str(v) for k, v in (cfg.hydra.sweeper.get("params") or {}).items()}
        for line in cfg.hydra.overrides.task:
            key, _, value = str(line).partition("=")
            params[key.lstrip("+~")] = value
        parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
        count = 1
        for override in parsed:
            if override.is_sweep_override():
                count *= len(list(override.sweep_string_iterator()))
        return count
    except Exception:  # a hand-made or foreign multirun.yaml: no count rather than a wrong one
        return None


def _missing_job(path: Path, why: str) -> Job:
    config = _read(path / "config.json") if (path / "config.json").is_file() else None
    config = config if isinstance(config, dict) else {}
    return Job(
        path=path,
        result={
            "status": MISSING,
            "error": f"missing: {why}",
            "task": config.get("task", {}).get("name"),
            "seed": config.get("seed"),
        },
        config=config,
    )


def load_sweep(sweep_dir: str | Path) -> list[Job]:
    """Every job under `sweep_dir`: each dir with a result.json (finished or failed), each job
    dir without one and each job its multirun.yaml lists but that never started (`missing`)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir}: not a directory")
    if sweep_dir.resolve() in (Path("/"), Path.home().resolve()):
        raise UserError(
            f"{sweep_dir}: the file system root or the home dir, not a sweep; give the sweep "
            "dir (multirun/<date>/<time>) or a dir of sweeps (multirun/)"
        )
    done, started = _job_dirs(sweep_dir)
    jobs = []
    for job_dir in done:
        result = _result(job_dir / RESULT)
        config = _read(job_dir / "config.json")
        jobs.append(
            Job(
                path=job_dir,
                result=result,
                metrics=_read(job_dir / "metrics.json"),
                train_metrics=_read(job_dir / TRAIN_METRICS),
                config=config if isinstance(config, dict) else {},
            )
        )
    jobs += [_missing_job(p, "no result.json (killed, or still running)") for p in started]
    listed = _listed_jobs(sweep_dir)
    if listed is not None and listed > len(done) + len(started):
        for n in range(listed - len(done) - len(started)):
            jobs.append(_missing_job(sweep_dir / f"<not started {n + 1}>", "listed, never started"))
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
