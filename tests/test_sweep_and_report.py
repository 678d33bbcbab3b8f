"""The whole pipeline through the real CLI: experiment=smoke sweep -> report; bad report input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from causal_semloss.report.verdicts import VERDICTS
from tests.conftest import run_cli

# recipe x task: the paper's five rows (report.paper_rows) and the untrained d-separation run,
# each named <task>_<recipe>.
NAMES = [
    "transitivity_zero_shot",
    "dseparation_zero_shot",
    "transitivity_baseline",
    "dseparation_baseline",
    "transitivity_semantic",
    "dseparation_semantic",
]


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    sweep = root / "sweep"
    result = run_cli(
        "causal_semloss.run",
        "-m",
        "experiment=smoke",
        "eval.max_examples=40",
        f"paths.data_root={root / 'data'}",
        f"hydra.sweep.dir={sweep}",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep


@pytest.mark.slow  # end to end, 10-75 s here: `make test-slow` (CI) runs it
def test_smoke_sweep_runs_every_recipe_on_every_task(smoke_sweep):
    results = [json.loads(p.read_text()) for p in sorted(smoke_sweep.glob("*/result.json"))]
    assert sorted(r["name"] for r in results) == sorted(NAMES)
    assert {r["name"]: r["paper_row"] for r in results}["transitivity_zero_shot"] == "base"
    assert all(r["status"] == "ok" for r in results)
    trained = [r for r in results if r["trained"]]
    assert len(trained) == 4
    for job in smoke_sweep.glob("*/"):
        if not (job / "result.json").exists():
            continue
        metrics = json.loads((job / "metrics.json").read_text())
        assert set(metrics["summary"]) == {"transitivity", "dseparation"}
        assert len(list((job / "predictions").glob("*.jsonl"))) == 14
        rows = (job / "predictions" / "transitivity__adversarial.jsonl").read_text().splitlines()
        assert len(rows) == 40 and {"id", "pred", "margin", "oracle"} <= set(json.loads(rows[0]))


@pytest.mark.slow  # end to end, 10-75 s here: `make test-slow` (CI) runs it
def test_report_tables_and_plots(smoke_sweep):
    result = run_cli("causal_semloss.report", str(smoke_sweep))
    assert result.returncode == 0, result.stderr[-3000:]
    report = (smoke_sweep / "report.md").read_text()
    for heading in (
        "## 1. Headline",
        "## 2. Per split",
        "## 3. Prediction distribution",
        "## 4. Training curves",
        "## Claims",
        "## The paper's own predictions, re-scored",
    ):
        assert heading in report
    claims = pd.read_csv(smoke_sweep / "claims.csv")
    assert set(claims["verdict"]) <= set(VERDICTS)
    assert (smoke_sweep / "paper_rescored_v4_vs_untrained.csv").exists()
    headline = pd.read_csv(smoke_sweep / "headline.csv")
    assert list(headline["arm"]) == NAMES
    row = headline.set_index("arm").loc["transitivity_baseline"]
    assert (row["paper_row"], row["paper_standard"]) == ("Transitivity V1", 27.7)
    assert headline["id_accuracy"].between(0, 100).all()
    per_split = pd.read_csv(smoke_sweep / "per_split.csv")
    assert len(per_split) == len(NAMES) * 14
    baselines = pd.read_csv(smoke_sweep / "baselines.csv")
    always_yes = baselines[(baselines["baseline"] == "always_yes") & (baselines["split"] == "test")]
    assert (always_yes["accuracy"] == 50.0).all()  # balanced ID test
    assert (smoke_sweep / "yes_rate.png").stat().st_size > 10_000
    assert (smoke_sweep / "training_curves.png").stat().st_size > 10_000


@pytest.mark.slow  # a subprocess (~5 s here)
def test_report_on_a_dir_without_finished_jobs(tmp_path):
    result = run_cli("causal_semloss.report", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no finished jobs (no */result.json with status ok)"
    ]
    assert not (tmp_path / "report.md").exists()


@pytest.mark.slow  # end to end, 10-75 s here: `make test-slow` (CI) runs it
def test_a_failed_job_does_not_stop_the_sweep_and_is_reported(tmp_path):
    sweep = tmp_path / "sweep"
    # the trained run cannot hold out 5000 validation examples from 400: it fails; zero_shot runs
    result = run_cli(
        "causal_semloss.run",
        "-m",
        "experiment=smoke",
        "eval.max_examples=20",
        "task=transitivity",
        "recipe=baseline,zero_shot",
        "train.val_size=5000",
        f"paths.data_root={tmp_path / 'data'}",
        f"hydra.sweep.dir={sweep}",
        timeout=600,
    )
    assert result.returncode == 1, result.stderr[-3000:]  # every job ran; one failed
    assert "1 job(s) failed" in result.stderr
    results = {
        json.loads(p.read_text())["name"]: json.loads(p.read_text())
        for p in sweep.glob("*/result.json")
    }
    assert results["transitivity_zero_shot"]["status"] == "ok"
    assert results["transitivity_baseline"]["status"] == "failed"
    assert "no training examples" in results["transitivity_baseline"]["error"]
    report = run_cli("causal_semloss.report", str(sweep))
    assert report.returncode == 0, report.stderr[-3000:]
    text = (sweep / "report.md").read_text()
    assert "## Failed jobs" in text and "no training examples" in text
