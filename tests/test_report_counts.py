"""The report counts every job once and failed jobs nowhere but under "Failed jobs": a sweep
given twice (or a job dir inside a given sweep) is one sweep, and the report says how many jobs
failed and why."""

from __future__ import annotations

import json

import pytest

from causal_semloss.report.sweep import Job, load_sweeps
from causal_semloss.report.tables import failed_summary


def _job(sweep, name: str, status: str = "ok", error: str | None = None) -> None:
    job = sweep / name
    job.mkdir(parents=True)
    result = {"variant": "transitivity_baseline", "seed": 0, "task": "transitivity"}
    result |= {"status": status} | ({"error": error} if error else {})
    (job / "result.json").write_text(json.dumps(result))
    if status == "ok":
        (job / "metrics.json").write_text('{"summary": {"transitivity": {}}}')


@pytest.fixture
def sweep(tmp_path):
    sweep = tmp_path / "sweep"
    _job(sweep, "0")
    _job(sweep, "1", "failed", "TrainingDiverged: train: loss or gradient norm not finite")
    return sweep


def test_the_same_sweep_twice_is_one_sweep(sweep, tmp_path, monkeypatch):
    dirs, jobs = load_sweeps([sweep])
    assert dirs == [sweep] and len(jobs) == 2
    monkeypatch.chdir(tmp_path)
    for given in (
        [sweep, sweep],
        [sweep, "sweep"],
        [sweep, sweep / ".." / "sweep"],
        [sweep, sweep / "0"],
    ):
        dirs, twice = load_sweeps(given)
        assert sorted(j.path for j in twice) == sorted(j.path for j in jobs), given
    assert load_sweeps([sweep, sweep])[0] == [sweep]


def test_the_report_says_how_many_jobs_failed_and_why(sweep):
    _, jobs = load_sweeps([sweep])
    line = failed_summary(jobs)
    assert line.startswith("1 job finished, 1 failed")
    assert "TrainingDiverged" in line and "left out of every rate and table" in line
    ok_only = [j for j in jobs if j.ok]
    assert failed_summary(ok_only) == "1 job finished, none failed"


def test_failed_reasons_are_counted(tmp_path):
    jobs = [
        Job(tmp_path / str(i), {"status": "failed", "error": f"{kind}: x"})
        for i, kind in enumerate(["TrainingDiverged", "TrainingDiverged", "ConfigError"])
    ] + [Job(tmp_path / "3", {"status": "ok"})]  # ok but no metrics.json: failed too
    line = failed_summary(jobs)
    assert line.startswith("0 jobs finished, 4 failed")
    assert "TrainingDiverged × 2" in line and "ConfigError" in line and "no metrics.json" in line


@pytest.mark.slow  # two jobs (one trains) and a whole report: ~15 s here
def test_a_report_of_the_same_sweep_twice_counts_each_job_once(tmp_path, monkeypatch):
    import pandas as pd

    from causal_semloss.pipeline import run_job
    from causal_semloss.report.build import build_report
    from causal_semloss.train import trainer
    from tests.conftest import TINY_DATA, TINY_MODEL, compose_cfg

    sweep = tmp_path / "sweep"
    common = [
        *TINY_DATA,
        *TINY_MODEL,
        "model.pretrain.steps=0",
        "train.max_steps=2",
        "train.batch_size=8",
        "train.val_size=16",
        "logger=none",
        "eval.max_examples=20",
        "eval.bootstrap=0",
        f"paths.data_root={tmp_path / 'data'}",
    ]
    assert run_job(compose_cfg([*common, "recipe=zero_shot"]), sweep / "0")["status"] == "ok"

    def diverging(*args, **kwargs):
        parts = real(*args, **kwargs)
        parts.total = parts.total * float("nan")
        return parts

    real = trainer.compute_loss
    monkeypatch.setattr(trainer, "compute_loss", diverging)
    failed = run_job(compose_cfg([*common, "recipe=baseline"]), sweep / "1")
    assert failed["status"] == "failed"
    report = build_report([sweep, sweep], tmp_path / "out").read_text()
    assert f"Sweeps: {sweep} — 1 job finished, 1 failed (TrainingDiverged)" in report
    headline = pd.read_csv(tmp_path / "out" / "headline.csv")
    assert headline.set_index("arm").loc["transitivity_zero_shot", "seeds_ok"] == 1
    assert "transitivity_baseline" not in set(pd.read_csv(tmp_path / "out" / "runs.csv")["role"])
    assert len(pd.read_csv(tmp_path / "out" / "failed_jobs.csv")) == 1
