"""The verdict rules of the report's Claims section, in one place: the functions that apply
them and `rules_text`, the words the report prints, are written side by side here so the two
cannot drift apart. δ = `report.claims.equivalence_margin` (conf/report/default.yaml), in
accuracy (or yes-rate) points.

A verdict says only what the data shows:
- claims are judged per task and per backbone, never pooled across tasks or backbones;
- no verdict without a CI (fewer than two seeds) or from a zero-width one (identical seeds);
- a number the paper reports (a level): **confirmed** only when the whole CI lies within the
  paper's value ± δ (equivalence); **consistent** when the CI merely contains it; **differs**
  when the CI excludes it; a level is always named with the backbone it was measured on;
- collapse is looked for on every split (ID and each OOD split), see `report.runs`;
- "collapses": **confirmed** when the collapse rate's exact CI lies above `collapse_majority`,
  **refuted** when below, **inconclusive** otherwise;
- "prevents collapse": **not testable** where the baseline never collapsed; otherwise
  **confirmed** when the semantic runs collapse less often and their yes-rate error (predicted
  against true %Yes) is smaller (paired CI below 0), **refuted** when they collapse at least as
  often and the CI excludes a reduction of δ or more, **inconclusive** otherwise;
- any level within δ of a trivial baseline on the same splits is flagged **trivial**.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from causal_semloss.report.collapse import rule_text

NO_VERDICT = "no verdict"
NOT_TESTABLE = "not testable"
VERDICTS = (
    "confirmed",
    "consistent",
    "differs",
    "refuted",
    "inconclusive",
    NOT_TESTABLE,
    NO_VERDICT,
)


@dataclass
class Interval:
    estimate: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def has_ci(self) -> bool:
        """A CI that can carry a verdict: present and of positive width."""
        return self.low is not None and self.high - self.low > 1e-9

    def text(self, unit: str = "") -> str:
        if self.estimate is None:
            return "—"
        if self.low is None:
            return f"{self.estimate:+.1f}{unit} (one seed)"
        if not self.has_ci:
            return f"{self.estimate:.1f}{unit} (identical seeds: no CI)"
        return f"{self.estimate:.1f}{unit} [{self.low:.1f}, {self.high:.1f}]"


def t_interval(values: np.ndarray, confidence: float) -> Interval:
    """The mean of `values` (NaNs dropped) with its t-interval over them."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return Interval(None, None, None, 0)
    mean = float(values.mean())
    if len(values) < 2:
        return Interval(mean, None, None, 1)
    if np.allclose(values, values[0]):
        return Interval(mean, mean, mean, len(values))  # zero width: no verdict
    low, high = stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    return Interval(mean, float(low), float(high), len(values))


def level_verdict(ours: Interval, paper: float | tuple[float, float], margin: float) -> str:
    """A number (or range) the paper reports against our CI: equivalence within ±δ confirms."""
    if not ours.has_ci:
        return NO_VERDICT
    lo, hi = paper if isinstance(paper, tuple) else (paper, paper)
    if lo - margin <= ours.low and ours.high <= hi + margin:
        return "confirmed"
    if ours.low <= hi and lo <= ours.high:
        return "consistent"
    return "differs"


def rate_verdict(rate: Interval, majority: float) -> str:
    """A rate the paper calls near-universal ("collapses in 100% of runs") against `majority`
    (a share, 0–1); `rate` is in %."""
    if rate.low is None:
        return NO_VERDICT
    if rate.low > 100 * majority:
        return "confirmed"
    if rate.high < 100 * majority:
        return "refuted"
    return "inconclusive"


def prevention_verdict(
    semantic: tuple[int, int], baseline: tuple[int, int], error_diff: Interval, margin: float
) -> str:
    """ "Semantic loss prevents collapse": (collapsed, runs) of each arm and the paired
    difference semantic − baseline of the yes-rate error, |predicted − true %Yes| (points)."""
    (k_s, n_s), (k_b, n_b) = semantic, baseline
    if n_b == 0 or k_b == 0:
        return NOT_TESTABLE
    if n_s == 0 or not error_diff.has_ci:
        return NO_VERDICT
    fewer = k_s / n_s < k_b / n_b
    if fewer and error_diff.high < 0:
        return "confirmed"
    if not fewer and error_diff.low > -margin:
        return "refuted"
    return "inconclusive"


def beyond_heuristic_verdict(diff: Interval, margin: float) -> str:
    """ "The runs that avoided collapse learned beyond the surface heuristic": the paired
    difference run − heuristic (points) of those runs."""
    if not diff.has_ci:
        return NO_VERDICT
    if diff.low > 0:
        return "confirmed"
    if diff.high < margin:
        return "refuted"
    return "inconclusive"


def trivial_matches(value: float | None, trivial: Mapping[str, float], margin: float) -> list[str]:
    """The trivial baselines (always-Yes, always-No, the surface heuristic) whose score on the
    same splits lies within δ of `value`."""
    if value is None:
        return []
    return [
        name
        for name, score in trivial.items()
        if score is not None and abs(value - score) <= margin
    ]


def trivial_text(matches: Mapping[str, float] | list[str]) -> str:
    return "" if not matches else "trivial (≈ " + ", ".join(matches) + ")"


def rules_text(claims_cfg, collapse_threshold: str) -> list[str]:
    """The rules above as the report prints them (markdown bullets), with this sweep's values."""
    delta = f"{claims_cfg.equivalence_margin:g}"
    majority = f"{100 * claims_cfg.collapse_majority:g}%"
    return [
        "- Every claim is judged per task and per backbone (`model.name`), never pooled.",
        f"- Collapse (the suite's one rule): {rule_text(collapse_threshold)} — answering No on "
        "a split that is 98% No is no sign of collapse; on one that is 100% Yes it is. Its "
        "collapse count over all splits (ID + each OOD split) is shown beside it.",
        "- Claim 1 (a rate): **confirmed** when the exact binomial CI of the collapse rate lies "
        f"above {majority}, **refuted** when below, **inconclusive** otherwise.",
        "- Claim 2: **not testable** where the baseline never collapsed (nothing to prevent). "
        "Otherwise the statistics are the collapse rates and the yes-rate error (mean over "
        "splits of |predicted %Yes − the split's true %Yes|), semantic − baseline paired by "
        "seed: **confirmed** when semantic collapses less often and the error's CI lies below 0; "
        f"**refuted** when it collapses as often or more and the CI excludes a reduction of {delta} "
        "points; **inconclusive** otherwise.",
        "- Claim 2b: the runs of the semantic arm that did not collapse, their OOD balanced "
        "accuracy minus the surface heuristic's on the same rows, paired by seed: **confirmed** "
        "when the CI lies above 0 (they learned beyond the heuristic), **refuted** when it "
        f"excludes a gain of {delta} points or more (a rescue to the heuristic's level or below), "
        "**inconclusive** otherwise. The label beside it says the same in words.",
        f"- Claims 3 and 4 (levels): **confirmed** only when the whole CI lies within the paper's "
        f"value ± δ (δ = {delta} points: equivalence); **consistent** when the CI merely contains "
        "it; **differs** when the CI excludes it. A level names the backbone it was measured on.",
        f"- A level within {delta} points of a trivial baseline (always-Yes, always-No, the "
        "surface heuristic) on the same splits is flagged **trivial**.",
        "- Fewer than two seeds, or a zero-width CI (identical seeds), give **no verdict**.",
    ]
