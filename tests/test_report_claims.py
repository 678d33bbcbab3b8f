"""The Claims section: statistics against scipy/hand values, verdict rules, and the section
generated from a synthetic sweep whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from causal_semloss.report.claims import (
    Interval,
    claims_table,
    collapse_rate,
    effect_verdict,
    number_verdict,
    paired_difference,
    runs_frame,
)
from causal_semloss.report.claims_text import claims_markdown
from causal_semloss.report.sweep import Job
from tests.conftest import compose_cfg

RULES = compose_cfg().report.claims  # conf/report/default.yaml


def _job(variant: str, task: str, seed: int, id_acc: float, collapsed: bool = False) -> Job:
    summary = {
        "id_balanced_accuracy": id_acc,
        "collapsed": collapsed,
        "ood_accuracy": 0.7,
        "adversarial_accuracy": 0.68,
    }
    trained = variant != "base"
    return Job(
        path=Path(f"/sweep/{variant}-{seed}"),
        result={"status": "ok", "variant": variant, "task": task, "seed": seed, "trained": trained},
        metrics={"summary": {task: summary} if trained else {"transitivity": summary}},
    )


def _sweep(baseline_collapses: bool, semantic_gain: float, seeds: int = 3) -> list[Job]:
    jobs = []
    for seed, noise in enumerate((0.0, 0.004, -0.003, 0.002, -0.001, 0.001)[:seeds]):
        jobs.append(_job("base", "transitivity", seed, 0.90 + noise))
        jobs.append(_job("transitivity_baseline", "transitivity", seed, 0.5, baseline_collapses))
        jobs.append(
            _job("transitivity_semantic", "transitivity", seed, 0.5 + semantic_gain + noise)
        )
    return jobs


def test_collapse_rate_is_the_exact_binomial_interval():
    frame = runs_frame(_sweep(baseline_collapses=False, semantic_gain=0.0))
    k, n, rate = collapse_rate(frame, "baseline", 0.95)
    assert (k, n) == (0, 3)
    assert rate.low == 0 and rate.high == pytest.approx(100 * (1 - 0.025 ** (1 / 3)))


def test_paired_difference_pairs_by_seed_and_uses_a_t_interval():
    frame = runs_frame(_sweep(baseline_collapses=True, semantic_gain=0.2))
    diff = paired_difference(frame, "transitivity", "semantic", "baseline", "id", 0.95)
    values = np.array([20.0, 20.4, 19.7])
    half = 4.302652729911275 * values.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert diff.estimate == pytest.approx(values.mean())
    assert diff.low == pytest.approx(values.mean() - half)
    assert diff.high == pytest.approx(values.mean() + half)
    assert diff.n == 3


@pytest.mark.parametrize(
    ("interval", "verdict"),
    [
        (Interval(5.0, 1.0, 9.0, 3), "confirmed"),
        (Interval(-5.0, -9.0, -1.0, 3), "refuted"),
        (Interval(0.1, -1.5, 1.7, 3), "refuted"),  # within the ±2 no-effect margin
        (Interval(0.4, -3.1, 3.9, 3), "inconclusive"),
        (Interval(4.0, None, None, 1), "inconclusive"),
    ],
)
def test_effect_verdicts(interval, verdict):
    assert effect_verdict(interval, 2.0) == verdict


def test_number_verdicts():
    assert number_verdict(Interval(70.0, 69.0, 71.0, 3), 70.4, 2.0) == "confirmed"
    assert number_verdict(Interval(82.2, 80.0, 84.3, 3), 70.4, 2.0) == "refuted"
    assert number_verdict(Interval(66.5, 65.0, 66.0, 3), (67.8, 69.8), 2.0) == "confirmed"


def test_section_confirms_when_the_baseline_collapses_and_semantic_recovers():
    three = claims_table(runs_frame(_sweep(True, 0.3)), RULES).set_index(["claim", "task"])
    # 3/3 collapsed: exact CI [29%, 100%] still reaches below a majority.
    assert three.loc[("1. plain fine-tuning collapses", "both"), "verdict"] == "inconclusive"
    frame = runs_frame(_sweep(baseline_collapses=True, semantic_gain=0.3, seeds=6))
    table = claims_table(frame, RULES).set_index(["claim", "task"])
    assert table.loc[("1. plain fine-tuning collapses", "both"), "verdict"] == "confirmed"
    assert table.loc[("2. scheduled λ prevents collapse", "both"), "verdict"] == "confirmed"
    prevent = table.loc[("2. scheduled λ prevents collapse", "transitivity"), "verdict"]
    assert prevent == "confirmed"
    text = "\n".join(claims_markdown(frame, RULES))
    assert "## Claims" in text
    assert "moves the paper's baseline most is the paper's scheduled-λ L_sem (+30" in text
    assert "fine-tuning at all" in text  # baseline vs the untrained backbone


def test_section_refutes_when_nothing_collapses_and_semantic_changes_nothing():
    frame = runs_frame(_sweep(baseline_collapses=False, semantic_gain=0.0))
    table = claims_table(frame, RULES).set_index(["claim", "task"])
    assert table.loc[("1. plain fine-tuning collapses", "both"), "verdict"] == "inconclusive"
    # 0/3 is not enough runs to refute a majority; the difference is within the margin.
    assert table.loc[("2. scheduled λ prevents collapse", "transitivity"), "verdict"] == "refuted"


def test_no_section_without_a_trained_baseline():
    jobs = [_job("base", "transitivity", 0, 0.9)]
    assert claims_markdown(runs_frame(jobs), RULES) == []
