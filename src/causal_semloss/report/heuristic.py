"""Every trained arm held against the surface heuristic (the task's `direct_link`: e.g. on
transitivity, Yes iff the queried edge is stated) on the same rows: leaving a constant answer is
not learning the task, and a run that escaped collapse to the heuristic's level learned the
surface rule, not the graph. Per arm, measure and split: the mean over seeds of (run − the
heuristic on that seed's rows), a t-interval, and a plain label.

Labels (δ = `report.claims.equivalence_margin`): with a CI (≥ 2 seeds), **beyond the heuristic**
when the whole CI is above 0, **below the heuristic** when it is below 0, **at heuristic level**
otherwise (the CI holds 0: no difference shown); with one seed or identical seeds, by the
estimate against ±δ, and the label says so. Before any of these, the run is held against the
better constant answer (always-Yes or always-No) on the same rows, paired by seed in the same way:
unless it is beyond that, the label is **no better than a constant answer** — on a split with one
class (transitivity's `length` is all Yes) an always-Yes run scores 100 and would otherwise read as
beyond a heuristic that scores 19.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_semloss.report.verdicts import Interval, t_interval
from causal_semloss.schema import OOD_SPLITS

HEURISTIC = "direct_link"  # the surface heuristic's name in evaluate/baselines.py
BEYOND, AT, BELOW = "beyond the heuristic", "at heuristic level", "below the heuristic"
CONSTANT = "no better than a constant answer"
CONSTANT_ANSWERS = ("always_yes", "always_no")  # evaluate/baselines.py
# (runs.csv column, what it is): balanced accuracy, or accuracy where a split has one class.
MEASURES = {
    "bal_test": "ID balanced accuracy",
    "ood_bal": "OOD balanced accuracy (mean over the OOD splits)",
    "bal_adversarial": "adversarial accuracy",
    **{f"bal_{split}": f"{split} balanced accuracy" for split in OOD_SPLITS},
}


def label(diff: Interval, margin: float) -> str:
    if diff.estimate is None:
        return ""
    if diff.has_ci:
        return BEYOND if diff.low > 0 else BELOW if diff.high < 0 else AT
    word = BEYOND if diff.estimate > margin else BELOW if diff.estimate < -margin else AT
    return f"{word} ({'one seed' if diff.n == 1 else 'identical seeds'}, ±{margin:g})"


def paired_to_heuristic(runs: pd.DataFrame, column: str, confidence: float) -> Interval:
    """Mean over `runs` (one arm's seeds) of run − heuristic on `column`, with its t-interval."""
    other = f"{column}@{HEURISTIC}"
    if column not in runs or other not in runs:
        return Interval(None, None, None, 0)
    return _paired(runs[column], runs[other], confidence)


def best_constant(runs: pd.DataFrame, column: str) -> pd.Series | None:
    """Per seed, the better of always-Yes and always-No on `column` (None if not recorded)."""
    names = [f"{column}@{name}" for name in CONSTANT_ANSWERS]
    if not all(name in runs for name in names):
        return None
    return runs[names].astype(float).max(axis=1)


def _paired(run: pd.Series, other: pd.Series, confidence: float) -> Interval:
    diffs = (run.astype(float) - other.astype(float)).to_numpy()
    return t_interval(diffs[~np.isnan(diffs)], confidence)


def heuristic_table(frame: pd.DataFrame, claims_cfg) -> pd.DataFrame:
    """One row per (task, backbone, data, trained arm, measure)."""
    conf, margin = claims_cfg.confidence, claims_cfg.equivalence_margin
    rows = []
    if frame.empty:
        return pd.DataFrame(rows)
    trained = frame[frame.role != "zero_shot"]
    for (task, bb, data, role), runs in trained.groupby(
        ["task", "backbone", "data", "role"], sort=False
    ):
        for column, what in MEASURES.items():
            diff = paired_to_heuristic(runs, column, conf)
            if diff.estimate is None:
                continue
            constant = best_constant(runs, column)  # None: the heuristic's label stands
            beats_constant = constant is None or label(
                _paired(runs[column], constant, conf), margin
            ).startswith(BEYOND)
            worded = label(diff, margin) if beats_constant else CONSTANT
            rows.append(
                {
                    "task": task,
                    "backbone": bb,
                    "data": data,
                    "role": role,
                    "measure": what,
                    "seeds": diff.n,
                    "collapsed": int(runs.collapsed.sum()),
                    "run": float(runs[column].astype(float).mean()),
                    "heuristic": float(runs[f"{column}@{HEURISTIC}"].astype(float).mean()),
                    "constant": None if constant is None else float(constant.mean()),
                    "difference": diff.estimate,
                    "ci_low": diff.low,
                    "ci_high": diff.high,
                    "label": worded,
                }
            )
    return pd.DataFrame(rows)


def _cell(row) -> str:
    if row.ci_low is None or pd.isna(row.ci_low):
        return f"{row.difference:+.1f}"
    return f"{row.difference:+.1f} [{row.ci_low:+.1f}, {row.ci_high:+.1f}]"


def heuristic_markdown(table: pd.DataFrame, confidence: float) -> list[str]:
    """The report's section: the three summary measures per arm (the per-split rows are in
    heuristic.csv)."""
    if table.empty:
        return []
    shown = table[
        table.measure.isin([MEASURES[c] for c in ("bal_test", "ood_bal", "bal_adversarial")])
    ]
    cells = pd.DataFrame(
        {
            "task": shown.task,
            "backbone": shown.backbone,
            "arm": shown.role,
            "measure": shown.measure,
            "seeds (collapsed)": [f"{r.seeds} ({r.collapsed})" for r in shown.itertuples()],
            "run": shown.run.map("{:.1f}".format),
            "heuristic": shown.heuristic.map("{:.1f}".format),
            "constant answer": shown.constant.map(
                lambda v: "" if v is None or pd.isna(v) else f"{v:.1f}"
            ),
            f"run − heuristic [{100 * confidence:.0f}% CI]": [_cell(r) for r in shown.itertuples()],
            "label": shown.label,
        }
    )
    return [
        "## Against the surface heuristic",
        "",
        "Each trained arm minus the task's surface heuristic (`direct_link`: answers from the "
        "premise's stated edges alone) on the same rows, paired by seed, in points: balanced "
        "accuracy (accuracy on a one-class split). A run that left a constant answer for the "
        "heuristic's level learned the surface rule, not the graph. Labels: *beyond* / *below* "
        "when the whole CI is above / below 0, *at heuristic level* when it holds 0; first, a run "
        "not beyond the better constant answer (always-Yes or always-No, paired the same way: "
        "column *constant answer*) is *no better than a constant answer*. Every split: "
        "heuristic.csv.",
        "",
        cells.to_markdown(index=False, disable_numparse=True),
        "",
    ]
