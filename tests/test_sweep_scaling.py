"""Sweeps that stop cleanly and scale out, through the real CLI in a subprocess: a real SIGTERM
stops a sequential sweep with one resume line, and that line resumes it; joblib workers on cold
caches reproduce a sequential sweep's metrics; one job runs through submitit."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow
SMOKE = ["-m", "experiment=smoke", "eval.max_examples=40"]
# Long enough that a signal sent at the first checkpoint lands in training.
INTERRUPTIBLE = ["train.max_steps=100", "train.checkpoint_steps=5"]


def _signal_when(path: Path, args: list[str], out: Path, timeout: float = 300):
    """Start `python -m causal_semloss.run args`; SIGTERM it once `path` exists; wait for it.
    Returns (exit code, stdout, stderr)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true"}
    with open(out / "stdout", "w") as stdout, open(out / "stderr", "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "causal_semloss.run", *args],
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        deadline = time.monotonic() + timeout
        while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"finished before {path} appeared"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    return code, (out / "stdout").read_text(), (out / "stderr").read_text()


def _resume_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "resume with:" in line]


@pytest.fixture(scope="module")
def interrupted_sweep(tmp_path_factory):
    """transitivity_zero_shot (finished), transitivity_baseline (SIGTERM in training), transitivity_semantic."""
    root = tmp_path_factory.mktemp("interrupted")
    sweep = root / "sweep"
    args = [
        *SMOKE,
        "recipe=zero_shot,baseline,semantic",
        "task=transitivity",
        *INTERRUPTIBLE,
        f"paths.data_root={root / 'data'}",
        f"hydra.sweep.dir={sweep}",
    ]
    code, _, stderr = _signal_when(sweep / "1" / "checkpoint.pt", args, root)
    return sweep, code, stderr


def test_sigterm_checkpoints_the_job_and_starts_no_other(interrupted_sweep):
    sweep, code, stderr = interrupted_sweep
    assert code != 0
    [line] = _resume_lines(stderr)
    assert line.endswith(f"hydra.sweep.dir={sweep}")
    assert json.loads((sweep / "0" / "result.json").read_text())["status"] == "ok"
    assert (sweep / "1" / "checkpoint.pt").exists()
    assert not (sweep / "1" / "result.json").exists()
    assert not (sweep / "2" / "result.json").exists()
    assert not (sweep / "2").exists()  # Hydra never even set the job up


def test_the_resume_line_resumes_and_skips_finished_jobs(interrupted_sweep):
    sweep, _, stderr = interrupted_sweep
    finished = (sweep / "0" / "result.json").stat().st_mtime_ns
    [line] = _resume_lines(stderr)
    command = shlex.split(line.split("resume with: ", 1)[1])
    assert command[:3] == [sys.executable, "-m", "causal_semloss.run"]
    result = run_cli("causal_semloss.run", *command[3:], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        f"transitivity_zero_shot seed 0: finished earlier -> {sweep / '0'}, skipped"
        in result.stdout
    )
    assert (sweep / "0" / "result.json").stat().st_mtime_ns == finished
    assert json.loads((sweep / "1" / "train_metrics.json").read_text())["resumed"] is True
    for job in ("1", "2"):
        assert json.loads((sweep / job / "result.json").read_text())["status"] == "ok"


def test_sigterm_outside_training_stops_the_sweep(tmp_path):
    """Signalled as the first job starts (data generation): no result, no second job."""
    sweep = tmp_path / "sweep"
    args = [
        *SMOKE,
        "recipe=zero_shot,baseline",
        "task=transitivity",
        f"paths.data_root={tmp_path / 'data'}",
        f"hydra.sweep.dir={sweep}",
    ]
    code, _, stderr = _signal_when(sweep / "0" / "config.json", args, tmp_path)
    assert code != 0
    assert _resume_lines(stderr) == [
        f"stopped by SIGTERM; resume with: {shlex.join([sys.executable, '-m', 'causal_semloss.run', *args])}"
    ]
    assert not (sweep / "0" / "result.json").exists()
    # The second job never did any work. (Hydra's launcher may already have made its dir: in
    # one of three runs seen here the launcher reached job 1, which saw the stop and returned.)
    assert not (sweep / "1" / "config.json").exists()
    assert not (sweep / "1" / "result.json").exists()


def _metrics(sweep: Path) -> dict[str, dict]:
    """metrics.json of every job, by name; every job must have finished ok."""
    results = {}
    for path in sweep.glob("*/result.json"):
        result = json.loads(path.read_text())
        assert result["status"] == "ok", result.get("error")
        results[result["name"]] = json.loads((path.parent / "metrics.json").read_text())
    assert len(results) == len(list(sweep.glob("*/result.json")))
    return results


def test_joblib_workers_on_cold_caches_match_a_sequential_sweep(tmp_path, monkeypatch):
    arms = ["recipe=zero_shot,baseline", "task=transitivity,dseparation"]
    metrics = {}
    for name, launcher in (
        ("sequential", []),
        ("joblib", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]),
    ):
        monkeypatch.setenv("CAUSAL_SEMLOSS_DATA_ROOT", str(tmp_path / name / "data"))
        monkeypatch.setenv("CAUSAL_SEMLOSS_CACHE", str(tmp_path / name / "cache"))
        result = run_cli(
            "causal_semloss.run",
            *SMOKE,
            *arms,
            *launcher,
            f"hydra.sweep.dir={tmp_path / name / 'sweep'}",
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        metrics[name] = _metrics(tmp_path / name / "sweep")
    assert len(metrics["joblib"]) == 4
    assert metrics["joblib"] == metrics["sequential"]


def test_one_job_through_submitit_local(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "causal_semloss.run",
        *SMOKE,
        "recipe=zero_shot",
        "task=transitivity",
        "hydra/launcher=submitit_local",
        f"paths.data_root={tmp_path / 'data'}",
        f"hydra.sweep.dir={sweep}",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((sweep / "0" / "result.json").read_text())["status"] == "ok"
