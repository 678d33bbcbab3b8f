"""The report's "Claims" section: each of the paper's claims with its statistic, a 95% CI and a
verdict, and one sentence per ablation saying what it changed. Generated from the sweep's files,
never written by hand.

Statistics (scipy.stats): collapse rates with the exact (Clopper–Pearson) binomial CI;
differences between variants as the mean over seeds of paired differences (same seed = same
data) with a t-interval; levels with a t-interval over seeds. Verdict rules, with δ =
`report.claims.equivalence_margin` accuracy points:

- an effect claimed (A better than B): confirmed if the CI lies above 0; refuted if it lies
  below 0, or inside [−δ, δ] (no effect worth the name); inconclusive otherwise;
- a rate claimed to be a majority ("collapses"): confirmed if the CI lies above
  `collapse_majority`, refuted if below, inconclusive otherwise;
- a number claimed (the paper's accuracy): confirmed if it lies within the CI widened by δ,
  refuted otherwise.
Fewer than two seeds give no CI: inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from causal_semloss.report.paper_numbers import paper_numbers
from causal_semloss.report.sweep import Job
from causal_semloss.schema import TASKS

METRICS = {
    "id": ("id_balanced_accuracy", "ID balanced accuracy"),
    "ood": ("ood_accuracy", "OOD accuracy"),
    "adversarial": ("adversarial_accuracy", "adversarial accuracy"),
}
# The paper's adversarial range for its semantic variants (PAPER.md, Table 2).
PAPER_ADVERSARIAL_SEMANTIC = (67.8, 69.8)


@dataclass
class Interval:
    estimate: float | None
    low: float | None
    high: float | None
    n: int

    def text(self, unit: str = "") -> str:
        if self.estimate is None:
            return "—"
        if self.low is None:
            return f"{self.estimate:+.1f}{unit} (one seed)"
        return f"{self.estimate:.1f}{unit} [{self.low:.1f}, {self.high:.1f}]"


def runs_frame(jobs: list[Job]) -> pd.DataFrame:
    """One row per (finished job, task it speaks for): role = the variant without its task."""
    rows = []
    for job in jobs:
        if not job.ok:
            continue
        variant, seed = job.result["variant"], job.result["seed"]
        tasks = TASKS if not job.result.get("trained") else (job.result["task"],)
        for task in tasks:
            summary = job.metrics["summary"].get(task)
            if summary is None:
                continue
            role = "zero_shot" if not job.result.get("trained") else variant
            role = role.removeprefix(f"{task}_")
            rows.append(
                {
                    "role": role,
                    "task": task,
                    "seed": seed,
                    "collapsed": bool(summary["collapsed"]),
                    **{
                        key: None if summary.get(name) is None else 100 * summary[name]
                        for key, (name, _) in METRICS.items()
                    },
                }
            )
    return pd.DataFrame(rows, columns=["role", "task", "seed", "collapsed", *METRICS])


def _t_interval(values: np.ndarray, confidence: float) -> Interval:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return Interval(None, None, None, 0)
    mean = float(values.mean())
    if len(values) < 2:
        return Interval(mean, None, None, 1)
    if np.allclose(values, values[0]):
        return Interval(mean, mean, mean, len(values))
    low, high = stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return Interval(mean, float(low), float(high), len(values))


def level(frame: pd.DataFrame, task: str, role: str, metric: str, confidence: float) -> Interval:
    sub = frame[(frame.task == task) & (frame.role == role)]
    return _t_interval(sub[metric].to_numpy(dtype=float), confidence)


def paired_difference(
    frame: pd.DataFrame, task: str, a: str, b: str, metric: str, confidence: float
) -> Interval:
    """Mean over seeds of (a − b), seeds present in both."""
    sub = frame[frame.task == task]
    left = sub[sub.role == a].set_index("seed")[metric]
    right = sub[sub.role == b].set_index("seed")[metric]
    seeds = sorted(set(left.index) & set(right.index))
    diffs = np.array([left[s] - right[s] for s in seeds], dtype=float)
    return _t_interval(diffs, confidence)


def collapse_rate(frame: pd.DataFrame, role: str, confidence: float, task: str | None = None):
    """(collapsed, runs, Interval of the rate in %) with the exact binomial CI."""
    sub = frame[(frame.role == role) & ((frame.task == task) if task else True)]
    k, n = int(sub.collapsed.sum()), len(sub)
    if n == 0:
        return k, n, Interval(None, None, None, 0)
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
    return k, n, Interval(100 * k / n, 100 * ci.low, 100 * ci.high, n)


def effect_verdict(diff: Interval, margin: float) -> str:
    if diff.low is None:
        return "inconclusive"
    if diff.low > 0:
        return "confirmed"
    if diff.high < 0 or (diff.low >= -margin and diff.high <= margin):
        return "refuted"
    return "inconclusive"


def number_verdict(ours: Interval, paper: float | tuple[float, float], margin: float) -> str:
    if ours.low is None:
        return "inconclusive"
    lo, hi = paper if isinstance(paper, tuple) else (paper, paper)
    return "confirmed" if ours.low - margin <= hi and lo <= ours.high + margin else "refuted"


def claims_table(frame: pd.DataFrame, claims_cfg) -> pd.DataFrame:
    conf, margin = claims_cfg.confidence, claims_cfg.equivalence_margin
    headline = paper_numbers()["headline"]
    tasks = [t for t in TASKS if t in set(frame.task)]
    rows = []

    def add(claim, task, statistic, interval, paper, verdict, unit=""):
        rows.append(
            {
                "claim": claim,
                "task": task,
                "statistic": statistic,
                "estimate": interval.estimate,
                "ci_low": interval.low,
                "ci_high": interval.high,
                "n": interval.n,
                "value": interval.text(unit),
                "paper": paper,
                "verdict": verdict,
            }
        )

    if (frame.role == "baseline").any():
        k, n, rate = collapse_rate(frame, "baseline", conf)
        if rate.low is None:
            verdict = "inconclusive"
        elif rate.low > 100 * claims_cfg.collapse_majority:
            verdict = "confirmed"
        elif rate.high < 100 * claims_cfg.collapse_majority:
            verdict = "refuted"
        else:
            verdict = "inconclusive"
        add(
            "1. plain fine-tuning collapses",
            "both",
            f"collapse rate of the paper baseline ({k}/{n} runs)",
            rate,
            "2/2 runs",
            verdict,
            "%",
        )
    if (frame.role == "semantic").any() and (frame.role == "baseline").any():
        k_s, n_s, rate_s = collapse_rate(frame, "semantic", conf)
        k_b, n_b, _ = collapse_rate(frame, "baseline", conf)
        if k_b == 0:
            verdict = "inconclusive"  # nothing to prevent
        else:
            p = stats.fisher_exact([[k_s, n_s - k_s], [k_b, n_b - k_b]], alternative="less").pvalue
            verdict = "confirmed" if p < 1 - conf else ("refuted" if k_s >= k_b else "inconclusive")
        add(
            "2. scheduled λ prevents collapse",
            "both",
            f"collapse rate, semantic {k_s}/{n_s} vs baseline {k_b}/{n_b}",
            rate_s,
            "0/2 vs 2/2",
            verdict,
            "%",
        )
        for task in tasks:
            diff = paired_difference(frame, task, "semantic", "baseline", "id", conf)
            add(
                "2. scheduled λ prevents collapse",
                task,
                "semantic − baseline, ID balanced accuracy",
                diff,
                None,
                effect_verdict(diff, margin),
            )
    for task in tasks:
        ours = level(frame, task, "semantic", "ood", conf)
        paper = headline.get(f"{task}_semantic", {}).get("standard")
        if ours.estimate is not None and paper is not None:
            add(
                "3. semantic accuracy 70.4 / 68.6",
                task,
                "semantic OOD accuracy (the paper's 'standard' column)",
                ours,
                paper,
                number_verdict(ours, paper, margin),
            )
    for task in tasks:
        ours = level(frame, task, "semantic", "adversarial", conf)
        if ours.estimate is None:
            continue
        diff = paired_difference(frame, task, "semantic", "baseline", "adversarial", conf)
        add(
            "4. adversarial 67–70 (semantic) vs 43–71 (collapsed)",
            task,
            f"semantic adversarial accuracy (semantic − baseline: {diff.text()})",
            ours,
            "67.8–69.8",
            number_verdict(ours, PAPER_ADVERSARIAL_SEMANTIC, margin),
        )
    return pd.DataFrame(rows)
