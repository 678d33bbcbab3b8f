"""Binary metrics that stay honest under class imbalance, their bootstrap CIs, and the collapse
test. Pure functions; the scores come from scikit-learn, the resampling from SciPy.

"Yes" is the positive class. Undefined values (a precision with no predicted Yes, anything on an
empty split) are None, never a silent 0.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence

import numpy as np
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

# A confusion matrix as four (truth, prediction) pairs weighted by the counts tp, fp, tn, fn:
# scikit-learn's scores take sample weights, so counts need not be expanded back into examples.
_CELL_TRUTH = np.array([True, False, False, True])
_CELL_PREDICTED = np.array([True, True, False, False])


def confusion(predicted_yes: Sequence[bool], true_yes: Sequence[bool]) -> dict[str, int]:
    if len(predicted_yes) != len(true_yes):
        raise ValueError(f"{len(predicted_yes)} predictions for {len(true_yes)} labels")
    if not len(true_yes):
        return {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    (tn, fp), (fn, tp) = confusion_matrix(
        np.asarray(true_yes, dtype=bool),
        np.asarray(predicted_yes, dtype=bool),
        labels=[False, True],
    )
    return {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)}


def _defined(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def metrics_from_confusion(tp: int, fp: int, tn: int, fn: int) -> dict:
    """Every per-split number evaluation.py and report_tables.py read, from the four counts.

    Conventions beyond scikit-learn's: a class's F1 is None where its precision or recall is
    undefined (scikit-learn would report 0.0 on, say, a split with no true Yes); balanced accuracy
    is None unless both classes occur (scikit-learn would average over the one present); MCC is
    0.0 when a row or column of the matrix is empty (scikit-learn's convention too: the prediction
    carries no information about the label), None only on an empty split.
    """
    n = tp + fp + tn + fn
    accuracy = precision = recall = f1 = f1_no = balanced = mcc = None
    if n:
        cells = {
            "y_true": _CELL_TRUTH,
            "y_pred": _CELL_PREDICTED,
            "sample_weight": np.array([tp, fp, tn, fn], dtype=float),
        }
        # per class, Yes then No; NaN where the denominator is 0
        p, r, f, _ = precision_recall_fscore_support(
            **cells, labels=[True, False], zero_division=np.nan
        )
        precision, recall = _defined(p[0]), _defined(r[0])
        f1 = None if np.isnan(p[0]) or np.isnan(r[0]) else float(f[0])
        f1_no = None if np.isnan(p[1]) or np.isnan(r[1]) else float(f[1])
        accuracy = float(accuracy_score(**cells))
        if tp + fn and tn + fp:
            balanced = float(balanced_accuracy_score(**cells))
        mcc = float(matthews_corrcoef(**cells))
    return {
        "n": n,
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "f1_no": f1_no,
        "balanced_accuracy": balanced,
        "mcc": mcc,
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "predicted_yes": tp + fp,
        "predicted_no": tn + fn,
        "true_yes": tp + fn,
        "true_no": tn + fp,
        "yes_rate": (tp + fp) / n if n else None,
    }


def binary_metrics(predicted_yes: Sequence[bool], true_yes: Sequence[bool]) -> dict:
    return metrics_from_confusion(**confusion(predicted_yes, true_yes))


# The metrics bootstrap_ci can resample, as functions of per-resample count arrays. Written out
# because scikit-learn scores one sample per call and 1,000 calls per split are slow; a test
# checks them against metrics_from_confusion. 0/0 gives NaN: undefined in that resample.
_RESAMPLED = {
    "accuracy": lambda tp, fp, tn, fn: (tp + tn) / (tp + fp + tn + fn),
    "balanced_accuracy": lambda tp, fp, tn, fn: (tp / (tp + fn) + tn / (tn + fp)) / 2,
}

# Resamples per batch are chosen so one batch holds about this many resampled examples: the
# int64 indices SciPy draws take 8 MB, and n=10,000 x 1,000 resamples runs in about 0.06 s.
_BATCH_EXAMPLES = 1_000_000


def bootstrap_seed(run_seed: int, key: str) -> int:
    """The seed of every bootstrap CI of the eval set `key` ("task/split") in a run seeded
    `run_seed`: a function of those two only, so a split's CIs don't move when other eval sets
    are added, dropped or reordered. crc32, not hash(): str hashes change per process."""
    return zlib.crc32(f"{run_seed}/{key}".encode())


def bootstrap_ci(
    predicted_yes: Sequence[bool],
    true_yes: Sequence[bool],
    metrics: Sequence[str],
    *,
    n_resamples: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, tuple[float, float] | None]:
    """Percentile bootstrap CIs over examples (`scipy.stats.bootstrap`) of each named metric.

    All metrics share one set of `n_resamples` resamples drawn by `np.random.default_rng(seed)`.
    A resample in which a metric is undefined (balanced accuracy of a resample without a true
    No) is left out of that metric's interval instead of turning it into NaN. None: fewer than
    two examples (SciPy's minimum), `n_resamples <= 0`, or a metric undefined in every resample.
    """
    unknown = [name for name in metrics if name not in _RESAMPLED]
    if unknown:
        raise ValueError(f"cannot bootstrap {unknown}; known: {sorted(_RESAMPLED)}")
    if len(predicted_yes) != len(true_yes):
        raise ValueError(f"{len(predicted_yes)} predictions for {len(true_yes)} labels")
    n = len(true_yes)
    if n < 2 or n_resamples <= 0 or not metrics:
        return dict.fromkeys(metrics)

    def statistic(predicted: np.ndarray, truth: np.ndarray, axis: int = -1) -> np.ndarray:
        tp = np.count_nonzero(predicted & truth, axis=axis)
        fp = np.count_nonzero(predicted, axis=axis) - tp
        fn = np.count_nonzero(truth, axis=axis) - tp
        tn = truth.shape[axis] - tp - fp - fn
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack([_RESAMPLED[name](tp, fp, tn, fn) for name in metrics])

    with warnings.catch_warnings():
        # SciPy warns when an interval comes out NaN; those are recomputed just below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            (np.asarray(predicted_yes, dtype=bool), np.asarray(true_yes, dtype=bool)),
            statistic,
            n_resamples=n_resamples,
            batch=max(1, _BATCH_EXAMPLES // n),
            vectorized=True,
            paired=True,  # resample examples, keeping each prediction with its label
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = result.confidence_interval
    distribution = result.bootstrap_distribution  # (metric, resample)
    cis: dict[str, tuple[float, float] | None] = {}
    for i, name in enumerate(metrics):
        if np.isnan(low[i]) or np.isnan(high[i]):
            # SciPy's percentile interval again (the same quantile), over defined resamples
            low[i], high[i] = stats.quantile(
                distribution[i], [(1 - level) / 2, (1 + level) / 2], nan_policy="omit"
            )
        cis[name] = None if np.isnan(low[i]) else (float(low[i]), float(high[i]))
    return cis


def is_collapsed(
    yes_rate: float | None, threshold: float, n: int | None = None, min_answers: int = 1
) -> bool | None:
    """Collapsed: at least `threshold` of the answers are the same (PAPER.md "Our additions").
    None (unknown) without a yes-rate, or from fewer than `min_answers` answers (`n`): one
    answer is always 100% the same, which says nothing about a collapse."""
    if yes_rate is None or (n is not None and n < min_answers):
        return None
    return max(yes_rate, 1 - yes_rate) >= threshold


def split_collapsed(
    split: str,
    yes_rate: float | None,
    true_rate: float | None,
    threshold: float,
    n: int | None = None,
    min_answers: int = 1,
) -> bool | None:
    """The suite's one collapse rule, per split: collapsed answers (`is_collapsed`) on the
    balanced ID test, or on a split whose right answers are not themselves that one-sided, or
    onto the wrong answer of one that is (answering No on a split that is 98% No is no sign of
    collapse; on one that is 100% Yes it is). None when unknown (`is_collapsed`)."""
    flag = is_collapsed(yes_rate, threshold, n, min_answers)
    if not flag or split == "test" or true_rate is None:
        return flag
    one_sided = is_collapsed(true_rate, threshold)
    return not one_sided or (yes_rate > 0.5) != (true_rate > 0.5)


def run_collapsed(flags: Sequence[bool | None]) -> bool | None:
    """A run is collapsed when any split it was scored on is (`split_collapsed`); None when no
    split could tell."""
    known = [f for f in flags if f is not None]
    return any(known) if known else None


def collapse_rate(flags: Sequence[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


def mean_of(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
