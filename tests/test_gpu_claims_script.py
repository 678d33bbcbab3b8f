"""scripts/gpu_claims.sh, dry-run on the CPU (TINY=1): its queue runs jobs in priority order,
each job writes a finished run dir, and the pack holds every run's files but no weights."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def _dry_run(tmp_path, **settings: str) -> Path:
    """Run the script with TINY=1 in tmp_path; return its OUT dir (the command must succeed)."""
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "OUT": str(out),
        "TINY": "1",
        "PY": sys.executable,
        "WORK": str(tmp_path / "work"),
        "WHEELS": str(tmp_path / "no-wheels"),
        **settings,
    }
    result = subprocess.run(
        ["bash", "scripts/gpu_claims.sh"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out


@pytest.mark.slow
def test_dry_run_finishes_the_first_jobs_and_packs_them_without_weights(tmp_path):
    out = _dry_run(tmp_path, MAX_JOBS="3", LIMIT="600")
    summary = (out / "summary.txt").read_text()
    assert "== finished runs: 3" in summary, summary
    queue = (out / "queue.txt").read_text().splitlines()
    started = [line.split()[0] for line in queue if " start " in line]
    # the untrained backbone on each task first (side by side), then the paper's baseline
    assert set(started[:2]) == {"transitivity_zero_shot_0", "dseparation_zero_shot_0"}
    assert started[2:] == ["transitivity_baseline_0"]
    with tarfile.open(out / "runs.tgz") as pack:
        names = pack.getnames()
    for run in ("transitivity_zero_shot_0", "dseparation_zero_shot_0", "transitivity_baseline_0"):
        assert f"sweep/{run}/result.json" in names
    assert "sweep/transitivity_baseline_0/train_metrics.json" in names
    assert not [n for n in names if "/model/" in n or n.endswith(("checkpoint.pt", ".safetensors"))]


@pytest.mark.slow
def test_a_queue_file_replaces_the_default_order(tmp_path):
    queue = tmp_path / "queue.txt"
    queue.write_text("# the arms an earlier run skipped\n\ndseparation zero_shot 0\n")
    out = _dry_run(tmp_path, QUEUE=str(queue))
    queue_log = (out / "queue.txt").read_text()
    assert [line.split()[0] for line in queue_log.splitlines() if " start " in line] == [
        "dseparation_zero_shot_0"
    ]
    assert "== finished runs: 1" in (out / "summary.txt").read_text()
