"""Collapse over training time: every trained run's trajectory points (train.trajectory: the ID
test and each OOD split scored at fixed examples seen, a few hundred rows a split) and its final
full evaluation, as one table (trajectory.csv), a figure per task (yes-rate and balanced accuracy
per split against examples seen, one line per recipe, mean ± seed range) and a short summary.

The untrained backbone is each trained run's own step-0 point where the probe scored it; a
sweep's untrained job adds its full-split score at 0 examples.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from causal_semloss.report.answer_weight import answer_weight_row  # noqa: E402
from causal_semloss.report.collapse import split_collapsed  # noqa: E402
from causal_semloss.report.plots import PALETTE, _save  # noqa: E402
from causal_semloss.report.settings import backbone, collapse_min_answers  # noqa: E402
from causal_semloss.report.sweep import Job  # noqa: E402
from causal_semloss.schema import ALL_SPLITS  # noqa: E402

QUANTITIES = {"yes_rate": "predicted %Yes", "balanced_accuracy": "balanced accuracy (%)"}
KEYS = ["backbone", "task", "role", "examples", "split"]
LINE_STYLES = ("-", "--", ":", "-.")


def _row(job: Job, task: str, role: str, point: dict, examples: int, final: bool) -> dict:
    n = point["n"]
    return {
        "backbone": backbone(job),
        "task": task,
        "role": role,
        "seed": job.result["seed"],
        "examples": examples,
        "split": point["split"],
        "n": n,
        "final": final,
        "yes_rate": None if point["yes_rate"] is None else 100 * point["yes_rate"],
        "true_yes_rate": 100 * point["true_yes"] / n if n else None,
        "balanced_accuracy": (
            None if point["balanced_accuracy"] is None else 100 * point["balanced_accuracy"]
        ),
        "mcc": point["mcc"],
        "collapsed": point["collapsed"],
    }


def trajectory_frame(jobs: list[Job], threshold_of) -> pd.DataFrame:
    """One row per (run, examples seen, split): probe points, then the final full evaluation.
    `threshold_of(job)` is the collapse threshold that job's evaluation used."""
    rows = []
    for job in jobs:
        if not job.ok:
            continue
        threshold, min_answers = threshold_of(job), collapse_min_answers(job)
        trained = bool(job.result.get("trained"))
        role = job.role
        tasks = job.tasks
        for task in tasks:
            for split in ALL_SPLITS:
                entry = job.metrics["splits"].get(f"{task}/{split}")
                if entry is None:
                    continue
                point = {**entry, "split": split}
                point["collapsed"] = _collapsed(split, entry, threshold, min_answers)
                examples = (job.train_metrics or {}).get("examples_seen", 0) if trained else 0
                rows.append(_row(job, task, role, point, examples, final=True))
        for probe in (job.train_metrics or {}).get("trajectory", []):
            task, split = probe["set"].split("/", 1)
            if task not in tasks:  # a run speaks for its own task (`Job.tasks`), as its final
                continue
            point = {**probe, "split": split, "true_yes": probe["true_yes_rate"] * probe["n"]}
            point["collapsed"] = _collapsed(split, point, threshold, min_answers)
            rows.append(_row(job, task, role, point, probe["examples"], final=False))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values([*KEYS, "final", "seed"]).reset_index(drop=True)


def _collapsed(split: str, entry: dict, threshold: float, min_answers: int) -> bool | None:
    """The suite's one rule (`report.collapse`) on one scored split."""
    n = entry.get("n")
    true_rate = entry["true_yes"] / n if n else None
    return split_collapsed(split, entry.get("yes_rate"), true_rate, threshold, n, min_answers)


def has_trajectories(frame: pd.DataFrame) -> bool:
    return not frame.empty and (~frame["final"]).any()


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max over seeds per (backbone, task, role, examples, split), and how many
    seeds were collapsed there. A run's last probe point and its final evaluation can fall on the
    same number of examples: the final (full-split) one is kept."""
    final_keys = frame[frame["final"]].set_index([*KEYS, "seed"]).index
    probe_only = ~frame.set_index([*KEYS, "seed"]).index.isin(final_keys) | frame["final"].values
    kept = frame[probe_only]
    grouped = kept.groupby(KEYS, sort=True)
    out = grouped.agg(
        seeds=("seed", "nunique"),
        n=("n", "max"),
        final=("final", "all"),
        yes_rate=("yes_rate", "mean"),
        yes_rate_min=("yes_rate", "min"),
        yes_rate_max=("yes_rate", "max"),
        balanced_accuracy=("balanced_accuracy", "mean"),
        balanced_accuracy_min=("balanced_accuracy", "min"),
        balanced_accuracy_max=("balanced_accuracy", "max"),
        mcc=("mcc", "mean"),
        collapsed_seeds=("collapsed", "sum"),
        true_yes_rate=("true_yes_rate", "mean"),
    )
    return out.reset_index()


def trajectory_plots(
    frame: pd.DataFrame,
    out_dir: Path,
    paper_exposure: int | None,
    weights: pd.DataFrame | None = None,
) -> list[Path]:
    """One figure per (backbone, task): a row per quantity, a column per split, and, where the
    runs logged it, a last row with the answer token's weight in the objective."""
    if not has_trajectories(frame):
        return []
    agg = aggregate(frame)
    paths = []
    for (model, task), sub in agg.groupby(["backbone", "task"], sort=True):
        splits = [s for s in ALL_SPLITS if s in set(sub["split"])]
        roles = [r for r in dict.fromkeys(sub["role"]) if r != "zero_shot"]
        colours = {role: PALETTE[i % len(PALETTE)] for i, role in enumerate(roles)}
        # Recipes that coincide (identical predictions) stay visible: a style and width each.
        styles = {
            role: (LINE_STYLES[i % len(LINE_STYLES)], 3.2 - 2.4 * i / max(1, len(roles) - 1))
            for i, role in enumerate(roles)
        }
        here_weights = (
            weights[(weights["backbone"] == model) & (weights["task"] == task)]
            if weights is not None and len(weights)
            else None
        )
        n_rows = len(QUANTITIES) + (here_weights is not None and len(here_weights) > 0)
        fig, axes = plt.subplots(
            n_rows,
            len(splits),
            figsize=(2.6 * len(splits) + 1.5, 2.4 * n_rows + 0.6),
            sharex=True,
            squeeze=False,
        )
        if n_rows > len(QUANTITIES):
            answer_weight_row(axes, here_weights, colours, styles)
        for col, split in enumerate(splits):
            here = sub[sub["split"] == split]
            for row, (quantity, label) in enumerate(QUANTITIES.items()):
                ax = axes[row][col]
                for role in roles:
                    line = here[here["role"] == role].sort_values("examples")
                    x = line["examples"].to_numpy()
                    style, width = styles[role]
                    ax.plot(
                        x,
                        line[quantity],
                        marker=".",
                        linestyle=style,
                        linewidth=width,
                        color=colours[role],
                        label=role,
                    )
                    ax.fill_between(
                        x,
                        line[f"{quantity}_min"],
                        line[f"{quantity}_max"],
                        color=colours[role],
                        alpha=0.18,
                        linewidth=0,
                    )
                zero = here[here["role"] == "zero_shot"]
                if len(zero):
                    ax.scatter([0], zero[quantity].iloc[:1], color="black", marker="x", zorder=3)
                if quantity == "yes_rate":
                    truth = here["true_yes_rate"].dropna()
                    if len(truth):
                        ax.axhline(truth.iloc[-1], color="grey", linestyle=":", linewidth=1)
                else:
                    ax.axhline(50, color="grey", linestyle=":", linewidth=1)
                if paper_exposure:
                    ax.axvline(paper_exposure, color="black", linestyle="--", linewidth=0.8)
                ax.set_xscale("symlog", linthresh=1000)
                ax.set_xticks([0, 1e3, 1e4, 1e5])
                ax.set_ylim(-3, 103)
                if row == 0:
                    ax.set_title(split, fontsize=9)
                if col == 0:
                    ax.set_ylabel(label, fontsize=8)
                if row == len(QUANTITIES) - 1:
                    ax.set_xlabel("examples seen", fontsize=8)
                ax.tick_params(labelsize=7)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
        exposure = (
            f"; dashed = the paper's exposure ({paper_exposure:,} examples)"
            if paper_exposure
            else ""
        )
        fig.suptitle(
            f"{task} from {model}: mean over seeds, band = seed range; dotted = true %Yes / "
            f"chance; x = untrained{exposure}",
            fontsize=9,
        )
        fig.tight_layout()
        name = f"trajectory_{task}_{model}.png"
        paths.append(_save(fig, out_dir / name, sub))
    return paths


def trajectory_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (backbone, task, role, examples): mean %Yes on the ID test, mean balanced accuracy
    over the OOD splits, and seeds × splits collapsed out of those scored."""
    agg = aggregate(frame)
    agg = agg[agg["role"] != "zero_shot"]
    rows = []
    for keys, sub in agg.groupby(["backbone", "task", "role", "examples"], sort=True):
        test = sub[sub["split"] == "test"]
        ood = sub[~sub["split"].isin(["test", "adversarial"])]
        scored = sub[sub["split"] != "adversarial"]
        rows.append(
            {
                **dict(zip(["backbone", "task", "role", "examples"], keys, strict=True)),
                "rows_a_split": int(sub["n"].max()),
                "seeds": int(sub["seeds"].max()),
                "id_yes_rate": test["yes_rate"].mean() if len(test) else None,
                "ood_balanced_accuracy": ood["balanced_accuracy"].mean() if len(ood) else None,
                "collapsed": int(scored["collapsed_seeds"].sum()),
                "of": int(scored["seeds"].sum()),
            }
        )
    return pd.DataFrame(rows)


def _cell(row) -> str:
    yes = "—" if pd.isna(row["id_yes_rate"]) else f"{row['id_yes_rate']:.0f}"
    bal = "—" if pd.isna(row["ood_balanced_accuracy"]) else f"{row['ood_balanced_accuracy']:.1f}"
    return f"{yes} / {bal} / {row['collapsed']}/{row['of']}"


def trajectory_section(frame: pd.DataFrame, plots: list[Path]) -> list[str]:
    """The report's "Trajectories" section: the summary as one table per (backbone, task)."""
    if not has_trajectories(frame):
        return []
    summary = trajectory_summary(frame)
    parts = [
        "## Trajectories: collapse over training time",
        "",
        "Each trained run scored at fixed numbers of examples seen (`train.trajectory`) on its "
        "task's ID test and every OOD split — a few hundred rows a split at intermediate points, "
        "the full splits at the last point. A cell is *ID %Yes / mean OOD balanced accuracy / "
        "collapsed (seeds × splits, ID test and the five OOD splits, ≥ the collapse threshold of "
        "identical answers) out of those scored*, mean over seeds. trajectory.csv has every seed, "
        "split and point.",
        "",
    ]
    for (model, task), sub in summary.groupby(["backbone", "task"], sort=True):
        sub = sub.assign(cell=[_cell(r) for _, r in sub.iterrows()])
        table = sub.pivot(index="role", columns="examples", values="cell")
        table.columns = [f"{c:,}" for c in table.columns]
        seeds = int(sub["seeds"].max())
        parts += [
            f"### {task} from {model} ({seeds} seeds)",
            "",
            table.reset_index().to_markdown(index=False, disable_numparse=True),
            "",
        ]
    parts += [f"![trajectory]({path.name})" for path in plots]
    return [*parts, ""]
