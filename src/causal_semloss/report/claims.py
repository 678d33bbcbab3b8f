"""The report's "Claims" section as a table: each of the paper's claims per task and per
backbone, with its statistic, a 95% CI and a verdict by the rules in `report.verdicts`.
Generated from the sweep's files (one row per run: `report.runs.runs_frame`, written as
runs.csv, so every verdict recomputes from that file), never written by hand.

Statistics (scipy.stats): collapse rates with the exact (Clopper–Pearson) binomial CI;
differences between arms as the mean over seeds of paired differences (same seed = same
data) with a t-interval; levels with a t-interval over seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from causal_semloss.report.heuristic import label as heuristic_label
from causal_semloss.report.heuristic import paired_to_heuristic
from causal_semloss.report.paper_numbers import (
    collapsed_runs,
    paper_models,
    paper_numbers,
    whole_percent_range,
)
from causal_semloss.report.runs import COLLAPSE_SPLITS, runs_frame
from causal_semloss.report.settings import paper_row_of
from causal_semloss.report.verdicts import (
    Interval,
    beyond_heuristic_verdict,
    level_verdict,
    prevention_verdict,
    rate_verdict,
    t_interval,
    trivial_matches,
)
from causal_semloss.tasks import TASK_NAMES

__all__ = [
    "Interval",
    "claims_table",
    "collapse_rate",
    "paired_difference",
    "runs_frame",
    "task_backbones",
]


def task_backbones(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(task, backbone) pairs present, tasks in their canonical order."""
    pairs = set(zip(frame.task, frame.backbone, strict=True))
    return sorted(
        pairs,
        key=lambda p: (TASK_NAMES.index(p[0]) if p[0] in TASK_NAMES else len(TASK_NAMES), p[1]),
    )


def _rows(frame: pd.DataFrame, task: str, role: str, backbone: str | None) -> pd.DataFrame:
    mask = (frame.task == task) & (frame.role == role)
    if backbone is not None:
        mask &= frame.backbone == backbone
    return frame[mask]


def level(frame, task, role, metric, confidence, backbone=None) -> Interval:
    return t_interval(_rows(frame, task, role, backbone)[metric].to_numpy(float), confidence)


def _paired(left: pd.Series, right: pd.Series, confidence: float) -> Interval:
    seeds = sorted(set(left.index) & set(right.index))
    return t_interval(np.array([left[s] - right[s] for s in seeds], dtype=float), confidence)


def paired_difference(frame, task, a, b, metric, confidence, backbone=None) -> Interval:
    """Mean over seeds of (a − b), seeds present in both."""
    left = _rows(frame, task, a, backbone).set_index("seed")[metric]
    right = _rows(frame, task, b, backbone).set_index("seed")[metric]
    return _paired(left, right, confidence)


def collapse_rate(frame, role, confidence, task=None, backbone=None):
    """(collapsed, runs, Interval of the rate in %) with the exact binomial CI."""
    sub = frame[frame.role == role]
    sub = sub if task is None else sub[sub.task == task]
    sub = sub if backbone is None else sub[sub.backbone == backbone]
    k, n = int(sub.collapsed.sum()), len(sub)
    if n == 0:
        return k, n, Interval(None, None, None, 0)
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
    return k, n, Interval(100 * k / n, 100 * ci.low, 100 * ci.high, n)


def yes_rate_error(frame: pd.DataFrame, task: str, role: str, backbone: str) -> pd.Series:
    """Per seed: mean over the collapse splits of |predicted %Yes − the split's true %Yes|. A
    run collapsed onto one answer scores far from 0; one that tracks the right answers, near it.
    (Measured against the truth, not the untrained backbone: a backbone can be collapsed before
    training, as tiny_gemma3_lm is, and then escaping collapse moves a run away from it.)"""
    splits = [s for s in COLLAPSE_SPLITS if f"yes_{s}" in frame and f"true_yes_{s}" in frame]
    errors = {}
    for _, run in _rows(frame, task, role, backbone).iterrows():
        gaps = pd.Series(
            [abs(float(run[f"yes_{s}"]) - float(run[f"true_yes_{s}"])) for s in splits],
            dtype=float,
        ).dropna()
        if len(gaps):
            errors[run.seed] = float(gaps.mean())
    return pd.Series(errors, dtype=float)


def _trivial(frame, task, role, backbone, key, estimate, margin) -> str:
    sub = _rows(frame, task, role, backbone)
    scores = {
        c.split("@", 1)[1]: sub[c].astype(float).mean() for c in sub if c.startswith(f"{key}@")
    }
    return ", ".join(f"{n} {scores[n]:.1f}" for n in trivial_matches(estimate, scores, margin))


def _paper_claims() -> dict[str, str]:
    """The paper's side of each claim, as the report prints it, from paper_numbers.json."""
    semantic, baseline = paper_models("semantic"), paper_models("baseline")
    k_s, n_s = collapsed_runs("semantic")
    k_b, n_b = collapsed_runs("baseline")
    collapsed = [m["adversarial"] for m in baseline if m["collapse"] != "none"]
    return {
        "collapse": f"{k_b}/{n_b} runs",
        "prevention": f"{k_s}/{n_s} vs {k_b}/{n_b}",
        "accuracy_title": "3. semantic accuracy "
        + " / ".join(f"{m['standard']:g}" for m in semantic),
        "adversarial_title": "4. adversarial "
        f"{whole_percent_range(m['adversarial'] for m in semantic)} (semantic) vs "
        f"{whole_percent_range(collapsed)} (collapsed)",
    }


def claims_table(frame: pd.DataFrame, claims_cfg) -> pd.DataFrame:
    conf, margin = claims_cfg.confidence, claims_cfg.equivalence_margin
    headline = paper_numbers()["headline"]
    paper_side = _paper_claims()
    rows = []

    def add(claim, task, bb, statistic, interval, paper, verdict, unit="", trivial=""):
        rows.append(
            {
                "claim": claim,
                "task": task,
                "backbone": bb,
                "statistic": statistic,
                "estimate": interval.estimate,
                "ci_low": interval.low,
                "ci_high": interval.high,
                "n": interval.n,
                "value": interval.text(unit),
                "paper": paper,
                "verdict": verdict,
                "trivial": trivial,
            }
        )

    for task, bb in task_backbones(frame):
        has = {r: not _rows(frame, task, r, bb).empty for r in ("baseline", "semantic")}
        if has["baseline"]:
            k, n, rate = collapse_rate(frame, "baseline", conf, task, bb)
            base = _rows(frame, task, "baseline", bb)
            per_run = ", ".join(str(c) for c in base.collapsed_splits)
            k_id = int(base.collapsed_id.sum())
            k_z, n_z, _ = collapse_rate(frame, "zero_shot", conf, task, bb)
            add(
                "1. plain fine-tuning collapses",
                task,
                bb,
                f"collapse rate of the paper baseline ({k}/{n} runs; collapsed splits per run: "
                f"{per_run} of {base.splits_scored.max()}; on the ID test {k_id}/{n}; "
                f"untrained backbone {k_z}/{n_z})",
                rate,
                paper_side["collapse"],
                rate_verdict(rate, claims_cfg.collapse_majority),
                "%",
            )
        if has["baseline"] and has["semantic"]:
            k_s, n_s, _ = collapse_rate(frame, "semantic", conf, task, bb)
            k_b, n_b, _ = collapse_rate(frame, "baseline", conf, task, bb)
            error = _paired(
                yes_rate_error(frame, task, "semantic", bb),
                yes_rate_error(frame, task, "baseline", bb),
                conf,
            )
            p = stats.fisher_exact([[k_s, n_s - k_s], [k_b, n_b - k_b]], alternative="less")
            add(
                "2. scheduled λ prevents collapse",
                task,
                bb,
                f"collapse rate, semantic {k_s}/{n_s} vs baseline {k_b}/{n_b} (Fisher one-sided "
                f"p = {p.pvalue:.2f}); value: yes-rate error (|predicted − true %Yes|), "
                "semantic − baseline (points)",
                error,
                paper_side["prevention"],
                prevention_verdict((k_s, n_s), (k_b, n_b), error, margin),
            )
        if has["semantic"]:
            semantic = _rows(frame, task, "semantic", bb)
            escaped = semantic[~semantic.collapsed.astype(bool)]
            if len(escaped):
                ood = paired_to_heuristic(escaped, "ood_bal", conf)
                id_ = paired_to_heuristic(escaped, "bal_test", conf)
                add(
                    "2b. the runs that avoided collapse learned beyond the surface heuristic",
                    task,
                    bb,
                    f"{len(escaped)}/{len(semantic)} semantic runs not collapsed; value: their OOD "
                    "balanced accuracy − the surface heuristic's on the same rows (points); ID: "
                    f"{id_.text()} ({heuristic_label(id_, margin)}); OOD: "
                    f"{heuristic_label(ood, margin) or 'no comparison'}",
                    ood,
                    "—",
                    beyond_heuristic_verdict(ood, margin),
                )
            ours = level(frame, task, "semantic", "ood", conf, bb)
            paper = headline.get(paper_row_of(task, "semantic"), {}).get("standard")
            if ours.estimate is not None and paper is not None:
                add(
                    paper_side["accuracy_title"],
                    task,
                    bb,
                    f"semantic OOD accuracy on {bb} (the paper: its 'standard' column, on Gemma 3 "
                    "270M)",
                    ours,
                    paper,
                    level_verdict(ours, paper, margin),
                    trivial=_trivial(frame, task, "semantic", bb, "ood", ours.estimate, margin),
                )
            ours = level(frame, task, "semantic", "adversarial", conf, bb)
            if ours.estimate is not None:
                lo, hi = sorted(m["adversarial"] for m in paper_models("semantic"))
                diff = paired_difference(
                    frame, task, "semantic", "baseline", "adversarial", conf, bb
                )
                add(
                    paper_side["adversarial_title"],
                    task,
                    bb,
                    f"semantic adversarial accuracy on {bb} (semantic − baseline: {diff.text()})",
                    ours,
                    f"{lo}–{hi}",
                    level_verdict(ours, (lo, hi), margin),
                    trivial=_trivial(
                        frame, task, "semantic", bb, "adversarial", ours.estimate, margin
                    ),
                )
    return pd.DataFrame(rows)
