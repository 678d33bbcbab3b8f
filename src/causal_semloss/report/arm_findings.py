"""What each trained arm showed, in one sentence per arm built from the report's own rows: when
its runs were collapsed (the one rule, on the ID test and each OOD split, at every trajectory
point), when each left collapse for good, the answer token's logged weight, and where it ended
against the surface heuristic. The README's and study pages' words about what rescues collapse
are these rows; a rescue to the heuristic's level reads as exactly that."""

from __future__ import annotations

import pandas as pd

from causal_semloss.report.heuristic import MEASURES

SHOWN = {  # heuristic.csv measure -> its short name in a sentence
    MEASURES["bal_test"]: "ID",
    MEASURES["ood_bal"]: "OOD",
    MEASURES["bal_adversarial"]: "adversarial",
}
ARM = ["backbone", "task", "role"]


def seed_escapes(trajectory: pd.DataFrame) -> pd.DataFrame:
    """Per run (arm, seed): whether it was collapsed at its first point and at its last, the
    examples seen at its first point off collapse for good (none if it ended collapsed or was
    never collapsed), the last collapsed point before it, and the answer it had collapsed onto
    (the ID test's majority answer at that point)."""
    scored = trajectory[trajectory["split"] != "adversarial"]
    # Where a probe and the final full evaluation fall on one number of examples, the final one.
    scored = scored.sort_values([*ARM, "seed", "examples", "final"])
    last_kind = scored.groupby([*ARM, "seed", "examples"])["final"].transform("max")
    scored = scored[scored["final"] == last_kind]
    rows = []
    for keys, run in scored.groupby([*ARM, "seed"], sort=True):
        flagged = run["collapsed"].astype("boolean").fillna(False).astype(bool)
        points = pd.DataFrame(
            {
                "collapsed": flagged.groupby(run["examples"]).any(),
                "id_yes": run[run["split"] == "test"].groupby("examples")["yes_rate"].mean(),
            }
        ).sort_index()
        collapsed = points["collapsed"].tolist()
        examples = points.index.tolist()
        row = dict(zip([*ARM, "seed"], keys, strict=True))
        row |= {
            "points": len(points),
            "last_examples": examples[-1],
            "collapsed_first": collapsed[0],
            "collapsed_last": collapsed[-1],
            "escape_examples": None,
            "last_collapsed_examples": None,
            "collapsed_onto": None,
        }
        if any(collapsed):
            last = max(i for i, c in enumerate(collapsed) if c)
            yes = points["id_yes"].iloc[last]
            row["collapsed_onto"] = "" if pd.isna(yes) else ("Yes" if yes >= 50 else "No")
            row["last_collapsed_examples"] = examples[last]
            if last + 1 < len(examples):
                row["escape_examples"] = examples[last + 1]
        rows.append(row)
    return pd.DataFrame(rows)


def arm_findings(
    trajectory: pd.DataFrame, heuristic: pd.DataFrame, weights: pd.DataFrame
) -> pd.DataFrame:
    """One row per trained arm with trajectories: seeds, how many began and ended collapsed,
    the range of escape points, the answer token's last logged weight, and the difference to the
    heuristic (with CI and label) on the ID test, OOD mean and adversarial set."""
    if trajectory.empty or not (~trajectory["final"]).any():
        return pd.DataFrame()
    escapes = seed_escapes(trajectory[trajectory["role"] != "zero_shot"])
    rows = []
    for keys, runs in escapes.groupby(ARM, sort=True):
        arm = dict(zip(ARM, keys, strict=True))
        escaped_runs = runs.dropna(subset=["escape_examples"])
        escaped = escaped_runs["escape_examples"]
        before = escaped_runs["last_collapsed_examples"]
        onto = sorted({o for o in runs["collapsed_onto"].dropna() if o})
        row = arm | {
            "seeds": len(runs),
            "examples": int(runs["last_examples"].max()),
            "points_min": int(runs["points"].min()),
            "collapsed_first": int(runs["collapsed_first"].sum()),
            "collapsed_onto": "/".join(onto),
            "escaped": len(escaped),
            "escape_min": int(escaped.min()) if len(escaped) else None,
            "escape_max": int(escaped.max()) if len(escaped) else None,
            "last_collapsed_min": int(before.min()) if len(before) else None,
            "last_collapsed_max": int(before.max()) if len(before) else None,
            "ended_collapsed": int(runs["collapsed_last"].sum()),
            "answer_weight_last": _last_weight(weights, arm),
        }
        for measure, short in SHOWN.items():
            found = _heuristic_row(heuristic, arm, measure)
            for column in ("difference", "ci_low", "ci_high", "label"):
                row[f"{short}_{column}"] = None if found is None else found[column]
        row["course"] = course(row)
        row |= {f"{short}_vs_heuristic": held(row, short) for short in SHOWN.values()}
        rows.append(row)
    return pd.DataFrame(rows)


def _last_weight(weights: pd.DataFrame, arm: dict) -> float | None:
    if weights.empty:
        return None
    mine = weights[(weights[ARM] == pd.Series(arm)).all(axis=1)]
    return None if mine.empty else float(mine.sort_values("examples")["answer_weight"].iloc[-1])


def _heuristic_row(heuristic: pd.DataFrame, arm: dict, measure: str):
    if heuristic.empty:
        return None
    found = heuristic[
        (heuristic["task"] == arm["task"])
        & (heuristic["backbone"] == arm["backbone"])
        & (heuristic["role"] == arm["role"])
        & (heuristic["measure"] == measure)
    ]
    return None if found.empty else found.iloc[0]


def _k(examples) -> str:
    return f"{examples / 1000:.0f}k" if examples else "0"


def _span(low, high) -> str:
    return _k(low) if low == high else f"{_k(low)}–{_k(high)}"


def course(row) -> str:
    """When the arm's runs were collapsed, in words."""
    n = row["seeds"]
    onto = f" (onto {row['collapsed_onto']})" if row["collapsed_onto"] else ""
    if row["escaped"] == 0 and row["ended_collapsed"] == n:
        end = _k(row["examples"])
        return f"never left collapse{onto}: collapsed at the end ({end}) in {n}/{n} seeds"
    if row["escaped"] == 0:
        return f"never collapsed in {n - row['ended_collapsed']}/{n} seeds"
    return (
        f"left collapse{onto} for good in {row['escaped']}/{n} seeds, first point off it "
        f"{_span(row['escape_min'], row['escape_max'])} examples (last collapsed point "
        f"{_span(row['last_collapsed_min'], row['last_collapsed_max'])}); "
        f"ended collapsed in {row['ended_collapsed']}/{n}"
    )


def held(row, short: str) -> str:
    """The arm against the heuristic on one measure: difference [CI] label ("" if unmeasured)."""
    if row[f"{short}_label"] is None or pd.isna(row[f"{short}_difference"]):
        return ""
    ci = ""
    if row[f"{short}_ci_low"] is not None and not pd.isna(row[f"{short}_ci_low"]):
        ci = f" [{row[f'{short}_ci_low']:+.1f}, {row[f'{short}_ci_high']:+.1f}]"
    return f"{row[f'{short}_difference']:+.1f}{ci} {row[f'{short}_label']}"


def sentence(row) -> str:
    """One arm's finding, as the data says it."""
    text = course(row)
    weight = row["answer_weight_last"]
    if weight is not None and not pd.isna(weight):
        text += f"; answer token's last logged weight ×{weight:.1f} a text token"
    parts = [f"{short} {held(row, short)}" for short in SHOWN.values() if held(row, short)]
    against = f". Against the surface heuristic: {'; '.join(parts)}" if parts else ""
    return f"- **{row['task']} `{row['role']}`** ({row['backbone']}): {text}{against}."


def arm_findings_markdown(findings: pd.DataFrame) -> list[str]:
    """The report's section "What each arm showed"."""
    if findings.empty:
        return []
    return [
        "## What each arm showed",
        "",
        "Per trained arm, from trajectory.csv (a run is collapsed at a point when the one rule "
        "flags the ID test or any OOD split) and heuristic.csv (run − surface heuristic, paired "
        "by seed, 95% CI). A run *left collapse for good* between its last collapsed point and "
        "the point after it, the first point off collapse (seed_escapes.csv: both, per seed). "
        "The answer token's weight is the logged one "
        "(1 under whole-text CE, 1 + λT with λ·L_sem; it counts only the labelled answer's CE).",
        "",
        *[sentence(row) for _, row in findings.iterrows()],
        "",
    ]
