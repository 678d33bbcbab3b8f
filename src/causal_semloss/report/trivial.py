"""Trivial flags for the report's tables: a model accuracy within δ
(`report.claims.equivalence_margin`) of a trivial baseline (always-Yes, always-No, the surface
heuristic) scored on the same split is named beside it, so no table shows a constant answer's
score as a model's achievement. The same rule as the Claims section's (`verdicts.trivial_matches`)."""

from __future__ import annotations

import pandas as pd

from causal_semloss.report.verdicts import trivial_matches
from causal_semloss.schema import OOD_SPLITS

# Headline column -> the splits whose baseline accuracies it is compared with (mean over them).
HEADLINE_SPLITS = {
    "id_accuracy": ("ID", ("test",)),
    "ood_accuracy": ("OOD", OOD_SPLITS),
    "adversarial_accuracy": ("adversarial", ("adversarial",)),
}


def _scores(baselines: pd.DataFrame, data: str, task: str, splits) -> dict[str, float]:
    """Each baseline's mean accuracy over those of `splits` of (data, task) it was scored on
    (the splits the models of that data set were scored on)."""
    if baselines.empty:
        return {}
    sub = baselines[
        (baselines.data == data) & (baselines.task == task) & baselines.split.isin(splits)
    ]
    return {name: float(mean) for name, mean in sub.groupby("baseline").accuracy.mean().items()}


def per_split_flags(per_split: pd.DataFrame, baselines: pd.DataFrame, margin: float) -> list[str]:
    """For each per-split row: the baselines whose accuracy on that split is within δ."""
    flags = []
    for row in per_split.itertuples():
        scores = _scores(baselines, row.data, row.task, (row.split,))
        flags.append(", ".join(trivial_matches(row.accuracy, scores, margin)))
    return flags


def headline_flags(headline: pd.DataFrame, baselines: pd.DataFrame, margin: float) -> list[str]:
    """For each headline row: which of its ID / OOD / adversarial accuracies are within δ of a
    baseline's on the same splits, e.g. "OOD ≈ always_no"."""
    flags = []
    for _, row in headline.iterrows():
        found = []
        for column, (label, splits) in HEADLINE_SPLITS.items():
            value = row.get(column)
            if value is None or pd.isna(value):
                continue
            scores = _scores(baselines, row["data"], row["task"], tuple(splits))
            matches = trivial_matches(value, scores, margin)
            if matches:
                found.append(f"{label} ≈ {', '.join(matches)}")
        flags.append("; ".join(found))
    return flags
