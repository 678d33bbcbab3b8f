"""The report's figures: each PNG has its CSV beside it; curves are aggregated per arm; the
heatmap puts the paper's re-scored rows beside ours; colours never repeat."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from causal_semloss.report.paper_rescored import rescored_table
from causal_semloss.report.plots import (
    PALETTE,
    balanced_accuracy_heatmap,
    training_curves_plot,
    yes_rate_plot,
)
from causal_semloss.report.sweep import Job

SPLITS = ("test", "length", "branching")


def _per_split(n_arms: int) -> pd.DataFrame:
    rows = [
        {
            "task": "transitivity",
            "data": data,
            "arm": f"v{i}",
            "split": split,
            "yes_rate": 10.0 * i,
            "true_yes_rate": 50.0 if data == "balanced" else 2.0,
            "balanced_accuracy": 50.0 + i,
        }
        for data in ("paper", "balanced")
        for i in range(n_arms)
        for split in SPLITS
    ]
    return pd.DataFrame(rows)


def _job(recipe: str, seed: int, ce: list[float]) -> Job:
    history = {"step": [5, 10], "ce": ce, "lambda": [0.1, 0.2], "sem/oracle_answer": [0.5, 0.4]}
    validation = [{"step": 10, "yes_rate": 0.5, "accuracy": 0.5}]
    return Job(
        path=Path("/nowhere"),
        result={
            "status": "ok",
            "name": f"transitivity_{recipe}",
            "task": "transitivity",
            "recipe": recipe,
            "seed": seed,
            "data": "paper",
        },
        metrics={"summary": {"transitivity": {}}},
        train_metrics={"history": history, "validation": validation},
    )


def test_yes_rate_figure_and_its_csv(tmp_path):
    per_split = _per_split(9)  # 18 arm × data labels: no colour twice
    assert len(set(PALETTE[:18])) == 18
    path = yes_rate_plot(per_split, tmp_path / "yes_rate.png")
    assert path.stat().st_size > 10_000
    csv = pd.read_csv(tmp_path / "yes_rate.csv")
    assert set(csv["true_yes_rate"]) == {50.0, 2.0}  # one true rate per data setting


def test_training_curves_are_the_mean_over_seeds_with_a_band(tmp_path):
    jobs = [_job("a", 0, [0.7, 0.5]), _job("a", 1, [0.9, 0.7]), _job("b", 0, [0.6, 0.6])]
    training_curves_plot(jobs, tmp_path / "training_curves.png")
    csv = pd.read_csv(tmp_path / "training_curves.csv")
    a = csv["arm"] == "transitivity_a"
    ce = csv[a & (csv["quantity"] == "ce") & (csv["step"] == 5)].iloc[0]
    assert (ce["mean"], ce["low"], ce["high"], ce["seeds"]) == (0.8, 0.7, 0.9, 2)
    assert {"ce", "sem/oracle_answer", "lambda", "val yes_rate"} <= set(csv["quantity"])


def test_heatmap_has_the_paper_rows_beside_ours(tmp_path):
    balanced_accuracy_heatmap(_per_split(3), rescored_table(), tmp_path / "heatmap.png")
    csv = pd.read_csv(tmp_path / "heatmap.csv")
    assert set(csv["source"]) == {"ours", "paper (re-scored)"}
    assert "paper: Transitivity Semantic V4" in set(csv["row"])
    assert (tmp_path / "heatmap.png").stat().st_size > 10_000
