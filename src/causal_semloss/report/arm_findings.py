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
STATES = ("escaped", "off_at_last_only", "ended_collapsed", "never_collapsed")


def _answers(rows: pd.DataFrame) -> str:
    """The answer(s) the collapsed splits of one point gave: "Yes", "No" or "No/Yes"."""
    found = {"Yes" if y >= 50 else "No" for y in rows["yes_rate"].dropna()}
    return "/".join(sorted(found))


def seed_escapes(trajectory: pd.DataFrame) -> pd.DataFrame:
    """Per run (arm, seed), over its training points (examples > 0; the untrained point is kept
    apart as `collapsed_untrained`, since tiny backbones start collapsed): the last collapsed
    point, the point after it, and how the run stands — `escaped` (off collapse at every point
    after its last collapsed one, at least two), `off_at_last_only` (off only at its final
    point: nothing later confirms it), `ended_collapsed`, or `never_collapsed`. A point where no
    split could be judged is left out, not read as "not collapsed". `collapsed_onto`: the
    answer(s) of the collapsed splits at the last collapsed point."""
    scored = trajectory[
        (trajectory["split"] != "adversarial") & (trajectory["role"] != "zero_shot")
    ]
    # Where a probe and the final full evaluation fall on one number of examples, the final one.
    scored = scored.sort_values([*ARM, "seed", "examples", "final"])
    last_kind = scored.groupby([*ARM, "seed", "examples"])["final"].transform("max")
    scored = scored[scored["final"] == last_kind]
    rows = []
    for keys, run in scored.groupby([*ARM, "seed"], sort=True):
        run = run[run["collapsed"].notna()].assign(collapsed=lambda r: r["collapsed"].astype(bool))
        untrained = run[run["examples"] == 0]
        training = run[run["examples"] > 0]
        points = training.groupby("examples", sort=True)["collapsed"].any()
        row = dict(zip([*ARM, "seed"], keys, strict=True))
        row |= {
            "points": len(points),
            "last_examples": int(points.index[-1]) if len(points) else None,
            "collapsed_untrained": bool(untrained["collapsed"].any()) if len(untrained) else None,
            "last_collapsed_examples": None,
            "escape_examples": None,
            "collapsed_onto": "",
            "state": "never_collapsed",
        }
        if points.any():
            last = int(points[points].index.max())
            row["last_collapsed_examples"] = last
            at_last = training[(training["examples"] == last) & training["collapsed"]]
            row["collapsed_onto"] = _answers(at_last)
            after = points.index[points.index > last]
            if len(after) == 0:
                row["state"] = "ended_collapsed"
            else:
                row["escape_examples"] = int(after[0])
                row["state"] = "escaped" if len(after) >= 2 else "off_at_last_only"
        rows.append(row)
    return pd.DataFrame(rows)


def _range(values: pd.Series) -> tuple[int | None, int | None]:
    values = values.dropna()
    return (int(values.min()), int(values.max())) if len(values) else (None, None)


def arm_findings(
    escapes: pd.DataFrame, heuristic: pd.DataFrame, weights: pd.DataFrame
) -> pd.DataFrame:
    """One row per trained arm, from its seeds' `seed_escapes`: how many seeds escaped collapse for good (and
    where), were off it only at their last point, ended collapsed or never collapsed; the
    answer token's last logged weight; the difference to the heuristic (with CI and label) on
    the ID test, OOD mean and adversarial set; and the same as words (`course`, `*_vs_heuristic`)."""
    if escapes.empty:
        return pd.DataFrame()
    rows = []
    for keys, runs in escapes.groupby(ARM, sort=True):
        arm = dict(zip(ARM, keys, strict=True))
        states = runs["state"].value_counts()
        escaped = runs[runs["state"] == "escaped"]
        late = runs[runs["state"] == "off_at_last_only"]
        onto = sorted({a for o in runs["collapsed_onto"] if o for a in o.split("/")})
        row = arm | {
            "seeds": len(runs),
            "examples": int(runs["last_examples"].max()),
            "points_min": int(runs["points"].min()),
            "points_max": int(runs["points"].max()),
            "collapsed_untrained": int(runs["collapsed_untrained"].eq(True).sum()),
            "collapsed_onto": "/".join(onto),
            **{state: int(states.get(state, 0)) for state in STATES},
        }
        row["escape_min"], row["escape_max"] = _range(escaped["escape_examples"])
        row["last_collapsed_min"], row["last_collapsed_max"] = _range(
            escaped["last_collapsed_examples"]
        )
        row["late_last_collapsed_min"], row["late_last_collapsed_max"] = _range(
            late["last_collapsed_examples"]
        )
        row["answer_weight_last"] = _last_weight(weights, arm)
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
    """How the arm's runs stood against collapse during training, in words."""
    n, end = row["seeds"], _k(row["examples"])
    onto = f" (onto {row['collapsed_onto']})" if row["collapsed_onto"] else ""
    parts = []
    if row["escaped"]:
        parts.append(
            f"left collapse{onto} for good in {row['escaped']}/{n} seeds, first point off it "
            f"{_span(row['escape_min'], row['escape_max'])} examples (last collapsed point "
            f"{_span(row['last_collapsed_min'], row['last_collapsed_max'])})"
        )
    if row["off_at_last_only"]:
        parts.append(
            f"off collapse only at the last point ({end}) in {row['off_at_last_only']}/{n} "
            f"(last collapsed point "
            f"{_span(row['late_last_collapsed_min'], row['late_last_collapsed_max'])})"
        )
    if row["ended_collapsed"]:
        parts.append(f"collapsed{onto} at the end ({end}) in {row['ended_collapsed']}/{n}")
    if row["never_collapsed"]:
        parts.append(f"never collapsed during training in {row['never_collapsed']}/{n}")
    text = "; ".join(parts)
    if row["points_min"] != row["points_max"]:
        text += f" (probe grids differ: {row['points_min']}–{row['points_max']} points a run)"
    return text


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
        "Per trained arm, from trajectory.csv (a run is collapsed at a training point when the "
        "one rule flags the ID test or any OOD split; the untrained point at 0 examples is left "
        "out) and heuristic.csv (run − surface heuristic, paired by seed, 95% CI). A run *left "
        "collapse for good* between its last collapsed point and the next, and was off it at "
        "every later point (two at least); one off it *only at the last point* has nothing "
        "later to confirm it (seed_escapes.csv: each seed). The answer token's weight is the "
        "last logged one, relative to one text token: 1 under whole-text CE, 1 + λT with "
        "λ·L_sem, λT under the authors' CE bug; it counts only the labelled answer's CE.",
        "",
        *[sentence(row) for _, row in findings.iterrows()],
        "",
    ]
