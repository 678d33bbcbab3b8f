"""Metric functions on hand-made confusion matrices, including degenerate ones."""

from __future__ import annotations

import math

import pytest

from causal_semloss.baselines import direct_link
from causal_semloss.metrics import (
    binary_metrics,
    bootstrap_ci,
    collapse_rate,
    is_collapsed,
    mean_of,
    metrics_from_confusion,
)


def test_hand_made_confusion_matrix():
    m = metrics_from_confusion(tp=30, fp=10, tn=50, fn=10)
    assert m["n"] == 100
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["precision"] == pytest.approx(0.75)
    assert m["recall"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(0.75)
    assert m["f1_no"] == pytest.approx(2 * (50 / 60) * (50 / 60) / (100 / 60))
    assert m["balanced_accuracy"] == pytest.approx((0.75 + 50 / 60) / 2)
    expected_mcc = (30 * 50 - 10 * 10) / math.sqrt(40 * 40 * 60 * 60)
    assert m["mcc"] == pytest.approx(expected_mcc)
    assert (m["predicted_yes"], m["predicted_no"], m["true_yes"], m["true_no"]) == (40, 60, 40, 60)
    assert m["yes_rate"] == pytest.approx(0.4)


def test_always_yes_on_an_imbalanced_split_looks_good_only_by_accuracy():
    # the paper's pitfall: 97.9% "accuracy" from a constant answer
    m = binary_metrics([False] * 100, [False] * 98 + [True] * 2)
    assert m["accuracy"] == pytest.approx(0.98)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["mcc"] == 0.0
    assert m["precision"] is None and m["recall"] == 0.0 and m["f1"] is None


def test_all_one_class_truth():
    m = binary_metrics([True, False, True], [True, True, True])
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] is None  # specificity undefined without true No
    assert m["true_no"] == 0


def test_empty_split():
    m = binary_metrics([], [])
    assert m["n"] == 0
    assert all(
        m[k] is None
        for k in ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "mcc", "yes_rate")
    )
    assert bootstrap_ci([], [], lambda x: x["accuracy"], n_resamples=100, seed=0) is None


def test_bootstrap_ci_brackets_the_estimate_and_is_deterministic():
    pred = [True] * 60 + [False] * 40
    true = [True] * 50 + [False] * 10 + [True] * 5 + [False] * 35
    acc = binary_metrics(pred, true)["accuracy"]
    ci = bootstrap_ci(pred, true, lambda m: m["accuracy"], n_resamples=500, seed=1)
    assert ci[0] < acc < ci[1] and ci[1] - ci[0] < 0.25
    assert ci == bootstrap_ci(pred, true, lambda m: m["accuracy"], n_resamples=500, seed=1)
    perfect = bootstrap_ci(true, true, lambda m: m["accuracy"], n_resamples=200, seed=0)
    assert perfect == (1.0, 1.0)


def test_collapse():
    assert is_collapsed(0.96, 0.95) and is_collapsed(0.04, 0.95) and is_collapsed(0.95, 0.95)
    assert not is_collapsed(0.5, 0.95) and not is_collapsed(0.94, 0.95)
    assert is_collapsed(None, 0.95) is None
    assert collapse_rate([True, False, True, None]) == pytest.approx(2 / 3)
    assert collapse_rate([]) is None
    assert mean_of([0.5, None, 1.0]) == pytest.approx(0.75)


def test_direct_link_baseline():
    rec = {"task": "transitivity", "query": ["A", "B"], "edges": [["A", "B"], ["B", "C"]]}
    assert direct_link(rec) and not direct_link({**rec, "query": ["A", "C"]})
    dsep = {"task": "dseparation", "query": ["A", "C"], "edges": [["A", "B"], ["C", "B"]]}
    assert direct_link(dsep) and not direct_link({**dsep, "query": ["A", "B"]})
