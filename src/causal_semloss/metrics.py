"""Binary metrics that stay honest under class imbalance, and the collapse test. Pure functions.

"Yes" is the positive class. Undefined values (a precision with no predicted Yes, anything on an
empty split) are None, never a silent 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np


def confusion(predicted_yes: Sequence[bool], true_yes: Sequence[bool]) -> dict[str, int]:
    tp = fp = tn = fn = 0
    for p, t in zip(predicted_yes, true_yes, strict=True):
        if p and t:
            tp += 1
        elif p:
            fp += 1
        elif t:
            fn += 1
        else:
            tn += 1
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def metrics_from_confusion(tp: int, fp: int, tn: int, fn: int) -> dict:
    n = tp + fp + tn + fn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    precision_no = _ratio(tn, tn + fn)
    recall_no = _ratio(tn, tn + fp)
    specificity = recall_no
    balanced = None if recall is None or specificity is None else (recall + specificity) / 2
    mcc_den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    # MCC is 0 by convention when a row or column of the confusion matrix is empty (e.g. a
    # collapsed model): the prediction carries no information about the label.
    mcc = (tp * tn - fp * fn) / mcc_den if mcc_den else (0.0 if n else None)
    return {
        "n": n,
        "accuracy": _ratio(tp + tn, n),
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "f1_no": _f1(precision_no, recall_no),
        "balanced_accuracy": balanced,
        "mcc": mcc,
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "predicted_yes": tp + fp,
        "predicted_no": tn + fn,
        "true_yes": tp + fn,
        "true_no": tn + fp,
        "yes_rate": _ratio(tp + fp, n),
    }


def binary_metrics(predicted_yes: Sequence[bool], true_yes: Sequence[bool]) -> dict:
    return metrics_from_confusion(**confusion(predicted_yes, true_yes))


def bootstrap_ci(
    predicted_yes: Sequence[bool],
    true_yes: Sequence[bool],
    metric: Callable[[dict], float | None],
    *,
    n_resamples: int,
    seed: int,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of `metric(metrics_from_confusion(...))` over examples."""
    n = len(predicted_yes)
    if n == 0 or n_resamples <= 0:
        return None
    # Resampling n examples with replacement = drawing the four confusion cells from a
    # multinomial with the observed cell shares: same distribution, no per-example loop.
    observed = confusion(predicted_yes, true_yes)
    keys = ("tp", "fp", "tn", "fn")
    shares = [observed[k] / n for k in keys]
    draws = np.random.default_rng(seed).multinomial(n, shares, size=n_resamples)
    values = []
    for row in draws:
        value = metric(metrics_from_confusion(**dict(zip(keys, row.tolist(), strict=True))))
        if value is not None:
            values.append(value)
    if not values:
        return None
    values.sort()
    lo = values[int((1 - level) / 2 * (len(values) - 1))]
    hi = values[int((1 + level) / 2 * (len(values) - 1))]
    return lo, hi


def is_collapsed(yes_rate: float | None, threshold: float) -> bool | None:
    """Collapsed: at least `threshold` of the answers are the same (PAPER.md "Our additions")."""
    if yes_rate is None:
        return None
    return max(yes_rate, 1 - yes_rate) >= threshold


def collapse_rate(flags: Sequence[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


def mean_of(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
