"""Metric functions on hand-made confusion matrices, including degenerate ones, and the
bootstrap CIs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from causal_semloss.evaluate import metrics
from causal_semloss.evaluate.baselines import direct_link
from causal_semloss.evaluate.metrics import (
    binary_metrics,
    bootstrap_ci,
    bootstrap_seed,
    collapse_rate,
    is_collapsed,
    mean_of,
    metrics_from_confusion,
)

KEYS = [  # evaluation.py, report_tables.py and metrics.json readers depend on these
    "n",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "f1_no",
    "balanced_accuracy",
    "mcc",
    "confusion",
    "predicted_yes",
    "predicted_no",
    "true_yes",
    "true_no",
    "yes_rate",
]


def test_hand_made_confusion_matrix():
    # asymmetric on purpose, so a swapped precision/recall or Yes/No shows
    m = metrics_from_confusion(tp=40, fp=10, tn=30, fn=20)
    assert list(m) == KEYS
    assert m["n"] == 100
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["precision"] == pytest.approx(0.8)  # 40 / 50
    assert m["recall"] == pytest.approx(2 / 3)  # 40 / 60
    assert m["f1"] == pytest.approx(8 / 11)  # 2·0.8·(2/3) / (0.8 + 2/3)
    assert m["f1_no"] == pytest.approx(2 / 3)  # precision 30/50, recall 30/40
    assert m["balanced_accuracy"] == pytest.approx(17 / 24)  # (2/3 + 3/4) / 2
    assert m["mcc"] == pytest.approx(1 / math.sqrt(6))  # (1200 - 200) / sqrt(50·60·40·50)
    assert m["confusion"] == {"tp": 40, "fp": 10, "tn": 30, "fn": 20}
    assert (m["predicted_yes"], m["predicted_no"], m["true_yes"], m["true_no"]) == (50, 50, 60, 40)
    assert m["yes_rate"] == pytest.approx(0.5)
    assert all(type(m[k]) is float for k in KEYS[1:8])  # JSON-ready, not numpy scalars


def test_binary_metrics_counts_the_confusion_matrix():
    pred = [True] * 40 + [False] * 20 + [True] * 10 + [False] * 30
    true = [True] * 60 + [False] * 40
    assert binary_metrics(pred, true) == metrics_from_confusion(tp=40, fp=10, tn=30, fn=20)
    with pytest.raises(ValueError):
        binary_metrics([True], [True, False])


def test_always_no_on_an_imbalanced_split_looks_good_only_by_accuracy():
    # the paper's pitfall: 98% "accuracy" from a constant answer
    m = binary_metrics([False] * 100, [False] * 98 + [True] * 2)
    assert m["accuracy"] == pytest.approx(0.98)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["mcc"] == 0.0  # an empty column: 0 by convention
    # no predicted Yes: precision undefined, so F1 too (scikit-learn alone would say F1 = 0.0)
    assert m["precision"] is None and m["recall"] == 0.0 and m["f1"] is None
    assert m["f1_no"] == pytest.approx(2 * 0.98 / 1.98)


def test_always_yes_mirrors_always_no():
    m = binary_metrics([True] * 10, [True] * 7 + [False] * 3)
    assert m["precision"] == pytest.approx(0.7) and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(2 * 0.7 / 1.7)
    assert m["f1_no"] is None and m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["mcc"] == 0.0


def test_all_one_class_truth():
    m = binary_metrics([True, False, True], [True, True, True])
    assert m["recall"] == pytest.approx(2 / 3) and m["precision"] == 1.0
    assert m["balanced_accuracy"] is None  # specificity undefined without true No
    assert m["f1_no"] is None  # recall of No undefined (scikit-learn alone: 0.0)
    assert m["mcc"] == 0.0  # an empty row
    assert m["true_no"] == 0


def test_empty_split():
    m = binary_metrics([], [])
    assert list(m) == KEYS and m["n"] == 0
    assert all(m[k] is None for k in KEYS[1:8] + ["yes_rate"])
    assert m["confusion"] == {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    ci = bootstrap_ci([], [], ["accuracy"], n_resamples=100, seed=0)
    assert ci == {"accuracy": None}


PRED = [True] * 60 + [False] * 40
TRUE = [True] * 50 + [False] * 10 + [True] * 5 + [False] * 35
BOTH = ("accuracy", "balanced_accuracy")


def test_bootstrap_ci_brackets_the_estimate_and_is_deterministic():
    point = binary_metrics(PRED, TRUE)
    cis = bootstrap_ci(PRED, TRUE, BOTH, n_resamples=500, seed=1)
    for name in BOTH:
        lo, hi = cis[name]
        assert lo < point[name] < hi and hi - lo < 0.25
    assert cis == bootstrap_ci(PRED, TRUE, BOTH, n_resamples=500, seed=1)
    assert cis != bootstrap_ci(PRED, TRUE, BOTH, n_resamples=500, seed=2)
    perfect = bootstrap_ci(TRUE, TRUE, BOTH, n_resamples=200, seed=0)
    assert perfect == {"accuracy": (1.0, 1.0), "balanced_accuracy": (1.0, 1.0)}


def test_bootstrap_ci_is_scipys_percentile_interval():
    expected = stats.bootstrap(
        (np.array(PRED), np.array(TRUE)),
        lambda p, t, axis: np.mean(p == t, axis=axis),
        n_resamples=300,
        vectorized=True,
        paired=True,
        method="percentile",
        rng=np.random.default_rng(7),
    ).confidence_interval
    ci = bootstrap_ci(PRED, TRUE, ["accuracy"], n_resamples=300, seed=7)["accuracy"]
    assert ci == pytest.approx(tuple(expected), abs=1e-12)


@pytest.mark.parametrize("cells", [(40, 10, 30, 20), (0, 3, 5, 0), (2, 0, 0, 1), (0, 0, 4, 0)])
def test_resampled_formulas_agree_with_scikit_learn(cells):
    point = metrics_from_confusion(*cells)
    counts = [np.array([c]) for c in cells]
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, formula in metrics._RESAMPLED.items():
            value = formula(*counts)[0]
            assert (None if np.isnan(value) else pytest.approx(value)) == point[name]


def test_bootstrap_ci_drops_resamples_where_the_metric_is_undefined():
    # one true Yes in 40: about a third of the resamples have none, so no balanced accuracy
    pred = [True] + [False] * 36 + [True] * 3
    true = [True] + [False] * 39
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN interval warning, no 0/0 warning
        cis = bootstrap_ci(pred, true, BOTH, n_resamples=400, seed=0)
    lo, hi = cis["balanced_accuracy"]
    assert 0.5 < lo <= binary_metrics(pred, true)["balanced_accuracy"] <= hi <= 1.0
    # undefined in every resample: no interval at all
    assert (
        bootstrap_ci(pred, [False] * 40, BOTH, n_resamples=50, seed=0)["balanced_accuracy"] is None
    )


def test_bootstrap_ci_degenerate_inputs():
    assert bootstrap_ci([True], [True], BOTH, n_resamples=100, seed=0) == dict.fromkeys(BOTH)
    assert bootstrap_ci(PRED, TRUE, BOTH, n_resamples=0, seed=0) == dict.fromkeys(BOTH)
    with pytest.raises(ValueError, match="f1"):
        bootstrap_ci(PRED, TRUE, ["f1"], n_resamples=10, seed=0)


def test_bootstrap_seed_depends_on_run_seed_and_key_only():
    assert bootstrap_seed(0, "transitivity/test") == bootstrap_seed(0, "transitivity/test")
    seeds = {
        bootstrap_seed(s, k) for s in (0, 1) for k in ("transitivity/test", "dseparation/test")
    }
    assert len(seeds) == 4


def test_collapse():
    assert is_collapsed(0.96, 0.95) and is_collapsed(0.04, 0.95) and is_collapsed(0.95, 0.95)
    assert not is_collapsed(0.5, 0.95) and not is_collapsed(0.94, 0.95)
    assert is_collapsed(None, 0.95) is None
    assert collapse_rate([True, False, True, None]) == pytest.approx(2 / 3)
    assert collapse_rate([]) is None
    assert mean_of([0.5, None, 1.0]) == pytest.approx(0.75)


def test_collapse_needs_a_minimum_number_of_answers():
    """One answer is always all the same: below eval.collapse_min_answers collapse is unknown."""
    from causal_semloss.evaluate.evaluation import summarize
    from tests.conftest import compose_cached

    minimum = compose_cached().eval.collapse_min_answers
    assert minimum > 1
    assert is_collapsed(1.0, 0.95, n=1, min_answers=minimum) is None
    assert is_collapsed(1.0, 0.95, n=minimum, min_answers=minimum) is True
    one = {"n": 1, "yes_rate": 1.0, "accuracy": 1.0, "balanced_accuracy": 1.0}
    summary = summarize({"transitivity/test": one}, "transitivity", 0.95, minimum)
    assert summary["collapsed"] is None and summary["id_n"] == 1
    many = {**one, "n": minimum}
    assert summarize({"transitivity/test": many}, "transitivity", 0.95, minimum)["collapsed"]


def test_direct_link_baseline():
    rec = {"task": "transitivity", "query": ["A", "B"], "edges": [["A", "B"], ["B", "C"]]}
    assert direct_link(rec) and not direct_link({**rec, "query": ["A", "C"]})
    dsep = {"task": "dseparation", "query": ["A", "C"], "edges": [["A", "B"], ["C", "B"]]}
    assert direct_link(dsep) and not direct_link({**dsep, "query": ["A", "B"]})
