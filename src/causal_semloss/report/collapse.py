"""The one collapse definition of the report — headline, claims, runs.csv and trajectories all
call `split_collapsed`, and the report prints `RULE` beside them.

A split's answers are collapsed when at least the evaluation's `collapse_threshold` of them are
the same answer. That is informative on the balanced ID test, and on an OOD split whose right
answers are not themselves that one-sided; on a one-sided split (e.g. 98% No) answering the
majority answer is no sign of collapse, answering the minority one is. A run is collapsed when any
split it was scored on shows an informative collapse.
"""

from __future__ import annotations

from causal_semloss.evaluate.metrics import is_collapsed

RULE = (
    "a run is *collapsed* when at least {threshold} of its answers are the same on the balanced "
    "ID test, or on an OOD split whose right answers are not that one-sided (or onto the wrong "
    "answer of one that is)"
)


def split_collapsed(
    split: str, yes_rate: float | None, true_rate: float | None, threshold: float
) -> bool | None:
    """Whether one split's answers show an informative collapse; None when it was not scored."""
    flag = is_collapsed(yes_rate, threshold)
    if not flag or split == "test" or true_rate is None:
        return flag
    one_sided = is_collapsed(true_rate, threshold)
    return not one_sided or (yes_rate > 0.5) != (true_rate > 0.5)


def rule_text(threshold: str) -> str:
    return RULE.format(threshold=threshold)
