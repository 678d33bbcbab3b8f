"""The Claims section's words: the verdict rules (`verdicts.rules_text`), the claims table with
trivial flags, what the constraint arm's formulas can and cannot do, and one sentence per
ablation (per task and backbone) saying what it did to ID balanced accuracy. Numbers and
verdicts come from `report.claims`."""

from __future__ import annotations

import math

import pandas as pd

from causal_semloss.report.claims import (
    Interval,
    claims_table,
    collapse_rate,
    paired_difference,
    task_backbones,
)
from causal_semloss.report.constraint_facts import constraint_arm_markdown
from causal_semloss.report.settings import collapse_threshold
from causal_semloss.report.sweep import Job
from causal_semloss.report.verdicts import rules_text

# (role a, role b, what the comparison isolates); differences are a − b.
ABLATIONS = [
    ("baseline", "zero_shot", "fine-tuning at all (the paper baseline vs the untrained backbone)"),
    ("answer_ce", "baseline", "answer-only CE instead of whole-text CE"),
    ("baseline_balanced", "baseline", "balanced instead of the authors' skewed training data"),
    ("static", "baseline", "static λ = 0.1 L_sem"),
    ("semantic", "baseline", "the paper's scheduled-λ L_sem"),
    ("semantic_cebug", "semantic", "the authors' unshifted-logits CE bug (their V4)"),
    ("cebug", "baseline", "the authors' CE bug alone, λ = 0 (no answer signal left in the CE)"),
    ("semantic_cebug", "cebug", "the scheduled-λ L_sem on top of the CE bug"),
    ("semantic_balanced", "semantic", "balanced data under the scheduled-λ L_sem"),
    ("constraints", "baseline", "the exact constraint semantic loss (ours)"),
    ("constraints", "semantic", "the exact constraint loss instead of the paper's L_sem"),
]


def _effect_words(diff: Interval, margin: float) -> str:
    if diff.low is None:
        return f"{diff.text()} — too few seeds for a CI"
    if not diff.has_ci:
        return f"{diff.text()} — no verdict"
    span = f"{diff.estimate:+.1f} points [{diff.low:+.1f}, {diff.high:+.1f}]"
    if diff.low > 0:
        return f"raises it, {span}"
    if diff.high < 0:
        return f"lowers it, {span}"
    if diff.low >= -margin and diff.high <= margin:
        return f"no effect of ±{margin:g} points or more, {span}"
    return f"unclear, {span}"


def _clear_effect(diff: Interval, margin: float) -> bool:
    """A CI clear of 0 and an estimate at least the no-effect margin: worth naming as a cause."""
    return diff.has_ci and (diff.low > 0 or diff.high < 0) and abs(diff.estimate) >= margin


def _variant_ablations(frame: pd.DataFrame, task: str, bb: str) -> list[tuple[str, str, str]]:
    """Each arm a config change makes of a recipe (`semantic [loss.schedule=constant(0.3)]`,
    `report.arms`) against the recipe's own arm: a constant λ against the schedule, λ = 0
    against the constraint loss, a longer run against the budget."""
    roles = set(frame[(frame.task == task) & (frame.backbone == bb)].role)
    pairs = []
    for role in sorted(roles):
        recipe, _, change = role.partition(" [")
        if change and recipe in roles:
            pairs.append((role, recipe, f"{change.rstrip(']')} instead of the recipe's own"))
    return pairs


def ablation_sentences(frame: pd.DataFrame, claims_cfg) -> list[str]:
    """One sentence per ablation, task and backbone in the sweep, then what explains the gap."""
    conf, margin = claims_cfg.confidence, claims_cfg.equivalence_margin
    lines = []
    for task, bb in task_backbones(frame):
        clear: list[tuple[float, str]] = []
        said = False
        for a, b, what in [*ABLATIONS, *_variant_ablations(frame, task, bb)]:
            diff = paired_difference(frame, task, a, b, "id", conf, bb)
            if diff.estimate is None:
                continue
            said = True
            k_a, n_a, _ = collapse_rate(frame, a, conf, task, bb)
            k_b, n_b, _ = collapse_rate(frame, b, conf, task, bb)
            lines.append(
                f"- *{task}, {bb}*, {what} (`{a}` − `{b}`): ID balanced accuracy "
                f"{_effect_words(diff, margin)}; collapses {k_a}/{n_a} vs {k_b}/{n_b}."
            )
            if b == "baseline" and _clear_effect(diff, margin):
                clear.append((abs(diff.estimate), f"{what} ({diff.estimate:+.1f} points)"))
        if clear:
            ranked = [t for _, t in sorted(clear, reverse=True)]
            lines.append(
                f"- **{task}, {bb}: what moves the paper's baseline most is {ranked[0]}.** "
                f"Others with a CI clear of 0 and an effect of at least ±{margin:g}: "
                + (", ".join(ranked[1:]) or "none")
                + "."
            )
        elif said:
            lines.append(
                f"- **{task}, {bb}: no ablation moved the paper baseline's ID balanced accuracy "
                f"by ±{margin:g} points or more with a CI clear of 0.**"
            )
    return lines


def _claims_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The claims table as the report shows it: one text cell per column, the trivial flag
    beside the verdict."""

    def paper(value) -> str:
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return "—" if missing else str(value)

    def verdict(row) -> str:
        flag = f"; trivial (≈ {row.trivial})" if row.trivial else ""
        return f"**{row.verdict}**{flag}"

    return pd.DataFrame(
        {
            "claim": table.claim,
            "task": table.task,
            "backbone": table.backbone,
            "statistic": table.statistic,
            "ours [95% CI]": table.value,
            "n": table.n.astype(str),
            "paper": [paper(v) for v in table.paper],
            "verdict": [verdict(row) for row in table.itertuples()],
        }
    )


def _threshold_text(jobs: list[Job]) -> str:
    found = sorted({collapse_threshold(j) for j in jobs if j.ok})
    return " / ".join(f"{100 * t:g}%" for t in found) or "the configured share"


def claims_markdown(frame: pd.DataFrame, claims_cfg, jobs: list[Job] = ()) -> list[str]:
    """The section's lines, or [] when the sweep has no trained baseline to test claims on."""
    if frame.empty or not (frame.role == "baseline").any():
        return []
    table = claims_table(frame, claims_cfg)
    parts = [
        "## Claims",
        "",
        f"Verdicts from this sweep's files ({100 * claims_cfg.confidence:.0f}% CIs; differences "
        "paired by seed, in points; rates with exact binomial CIs). The rules "
        "(src/causal_semloss/report/verdicts.py), with this sweep's values:",
        "",
        *rules_text(claims_cfg, _threshold_text(list(jobs))),
        "",
        _claims_frame(table).to_markdown(index=False, disable_numparse=True),
        "",
        "Claims 3 and 4 compare levels measured on the named backbone with the paper's, measured "
        "on Gemma 3 270M: where the backbones differ, a level that differs says our numbers "
        "differ, not that the paper's runs are wrong. Claims 1 and 2 compare arms trained "
        "from one backbone, which is what the suite can test.",
    ]
    parts += constraint_arm_markdown([j for j in jobs if j.ok], claims_cfg.constraint_sample)
    sentences = ablation_sentences(frame, claims_cfg)
    if sentences:
        parts += ["", "What each ablation does to ID balanced accuracy:", "", *sentences]
    return [*parts, ""]
