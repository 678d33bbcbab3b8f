"""The words the report prints for the suite's one collapse rule (`evaluate.metrics.
split_collapsed`, which the evaluation summary, W&B, the trajectory probe and every report table
call): a split's answers are collapsed when at least the evaluation's `collapse_threshold` of
them are the same answer (from at least `collapse_min_answers` answers), counted on the balanced
ID test and on an OOD split whose right answers are not themselves that one-sided (or onto the
wrong answer of one that is); a run is collapsed when any split shows it.
"""

from __future__ import annotations

from causal_semloss.evaluate.metrics import split_collapsed

__all__ = ["RULE", "rule_text", "split_collapsed"]

RULE = (
    "a run is *collapsed* when at least {threshold} of its answers are the same on the balanced "
    "ID test, or on an OOD split whose right answers are not that one-sided (or onto the wrong "
    "answer of one that is)"
)


def rule_text(threshold: str) -> str:
    return RULE.format(threshold=threshold)
