"""The report's figures, each a PNG with its data as a CSV beside it (same name, .csv): predicted
Yes-rate per split per arm (collapse at a glance), training curves per arm (mean over
seeds with the seed range as a band, one panel per quantity), and a heatmap of balanced accuracy
per split with the paper's re-scored models beside ours. Written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from causal_semloss.atomic import atomic_path  # noqa: E402
from causal_semloss.report.settings import backbone  # noqa: E402
from causal_semloss.report.sweep import Job  # noqa: E402
from causal_semloss.schema import ALL_SPLITS  # noqa: E402
from causal_semloss.tasks import PAPER_SPLIT_TASK  # noqa: E402

# Distinct colours for up to 40 arms (tab20's strong shades, its light ones, then tab20b).
_TAB20 = plt.get_cmap("tab20").colors
PALETTE = [*_TAB20[0::2], *_TAB20[1::2], *plt.get_cmap("tab20b").colors]
TRUTH_STYLES = ("-", "--", ":", "-.")  # the true-%Yes mark of each data setting


def _save(fig, path: Path, data: pd.DataFrame | None = None) -> Path:
    """The figure as PNG and, given `data`, the numbers it draws as `<path>.csv` beside it."""
    if data is not None:
        with atomic_path(path.with_suffix(".csv")) as tmp:
            data.to_csv(tmp, index=False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _colours(labels: list[str]) -> dict[str, tuple]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _labels(frame: pd.DataFrame) -> list[str]:
    """Each row's arm, with its data setting and backbone where the frame holds several."""
    varying = [c for c in ("data", "backbone") if c in frame and frame[c].nunique() > 1]
    return [
        f"{row['arm']} [{', '.join(str(row[c]) for c in varying)}]" if varying else row["arm"]
        for _, row in frame.iterrows()
    ]


def _ordered_splits(present) -> list[str]:
    present = set(present)
    return [s for s in ALL_SPLITS if s in present] + sorted(present - set(ALL_SPLITS))


def yes_rate_plot(per_split: pd.DataFrame, path: Path) -> Path:
    """Grouped bars: predicted %Yes per split, one bar per arm (a colour each), one panel per
    task; the true %Yes of each data setting drawn over its own bars (a line style each)."""
    df = per_split.sort_values(["data"], kind="stable")
    df = df.assign(label=_labels(df))
    labels = list(dict.fromkeys(df["label"]))
    colours = _colours(labels)
    tasks = sorted(df["task"].unique())
    fig, axes = plt.subplots(len(tasks), 1, figsize=(12, 3.8 * len(tasks)), squeeze=False)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        sub = df[df["task"] == task]
        splits = _ordered_splits(sub["split"])
        arms = [v for v in labels if v in set(sub["label"])]
        width = 0.84 / max(1, len(arms))
        for i, label in enumerate(arms):
            rows = sub[sub["label"] == label].set_index("split")
            xs = np.arange(len(splits)) + i * width
            values = [rows["yes_rate"].get(s, np.nan) for s in splits]
            ax.bar(xs, values, width, color=colours[label], label=label)
            # a tick on each bar's top, so a 0% bar (a model that never says Yes) stays visible
            ax.plot(xs, values, "_", color=colours[label], markersize=8, markeredgewidth=2)
        for d, (data, rows) in enumerate(sub.groupby("data", sort=True)):
            own = [i for i, v in enumerate(arms) if v in set(rows["label"])]
            truth = rows.drop_duplicates("split").set_index("split")["true_yes_rate"]
            for s, split in enumerate(splits):
                if split in truth.index:
                    ax.hlines(
                        truth[split],
                        s + (min(own) - 0.5) * width,
                        s + (max(own) + 0.5) * width,
                        colors="black",
                        linestyles=TRUTH_STYLES[d % len(TRUTH_STYLES)],
                        linewidth=2,
                        label=f"true %Yes [{data}]" if s == 0 else None,
                    )
        ax.set_xticks(np.arange(len(splits)) + 0.42 - width / 2, splits)
        ax.set_ylim(0, 105)
        ax.set_ylabel("predicted Yes (%)")
        ax.set_title(f"{task} questions: predicted %Yes per split (black: the split's true %Yes)")
    handles = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(
        handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8
    )
    fig.tight_layout()
    columns = ["task", "data", "arm", "split", "yes_rate", "true_yes_rate"]
    return _save(fig, path, df[columns])


def _curves(jobs: list[Job]) -> pd.DataFrame:
    """Long table of every trained job's curves: data, arm, seed, quantity, step, value."""
    rows = []
    for job in jobs:
        r, hist = job.result, job.train_metrics["history"]
        # The answer token's weight and CE (logged since 2026-12-05): the re-weighting L_sem does.
        logged = [q for q in ("answer_weight", "answer_ce") if q in hist]
        quantities = ["ce", *sorted(k for k in hist if k.startswith("sem/")), "lambda", *logged]
        for q in quantities:
            rows += [
                (r.get("data", ""), backbone(job), job.arm, r["seed"], q, s, v)
                for s, v in zip(hist["step"], hist[q], strict=True)
                if v is not None
            ]
        for v in job.train_metrics["validation"]:
            rows.append(
                (
                    r.get("data", ""),
                    backbone(job),
                    job.arm,
                    r["seed"],
                    "val yes_rate",
                    v["step"],
                    v["yes_rate"],
                )
            )
    columns = ["data", "backbone", "arm", "seed", "quantity", "step", "value"]
    return pd.DataFrame(rows, columns=columns)


def training_curves_plot(jobs: list[Job], path: Path) -> Path | None:
    """One panel per quantity (CE, each semantic term, λ, validation yes-rate) against step; one
    line per arm, the mean over seeds, with the seeds' range as a band."""
    trained = [j for j in jobs if j.ok and j.train_metrics]
    if not trained:
        return None
    long = _curves(trained)
    agg = (
        long.groupby(["data", "backbone", "arm", "quantity", "step"], sort=False)["value"]
        .agg(mean="mean", low="min", high="max", seeds="count")
        .reset_index()
    )
    agg["label"] = _labels(agg)
    colours = _colours(list(dict.fromkeys(agg.sort_values("data", kind="stable")["label"])))
    quantities = list(dict.fromkeys(long["quantity"]))
    cols = min(3, len(quantities))
    nrows = -(-len(quantities) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.2 * nrows), squeeze=False)
    for ax, q in zip(axes.flat, quantities, strict=False):
        for label, rows in agg[agg["quantity"] == q].groupby("label", sort=False):
            c = colours[label]
            marker = "." if q.startswith("val") else None
            ax.plot(rows["step"], rows["mean"], color=c, linewidth=1.3, marker=marker, label=label)
            if (rows["seeds"] > 1).any():
                ax.fill_between(
                    rows["step"], rows["low"], rows["high"], color=c, alpha=0.18, linewidth=0
                )
        ax.set_title(
            {
                "ce": "cross-entropy",
                "lambda": "λ",
                "val yes_rate": "validation Yes-rate",
                "answer_weight": "answer token's weight (× one text token)",
                "answer_ce": "answer token's CE",
            }.get(q, f"semantic term {q[4:]}")
        )
        ax.set_xlabel("step")
        if q == "val yes_rate":
            ax.set_ylim(-0.02, 1.02)
            low, high = trained[0].config.get("train", {}).get("collapse_band", (None, None))
            if low is not None:  # the band the runs' collapse monitor used
                ax.axhspan(low, high, color="green", alpha=0.06)
    for ax in list(axes.flat)[len(quantities) :]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(
        handles.values(),
        handles.keys(),
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        title="arm (mean; band: seed range)",
    )
    fig.tight_layout()
    return _save(fig, path, agg.drop(columns="label"))


def balanced_accuracy_heatmap(
    per_split: pd.DataFrame, rescored: pd.DataFrame | None, path: Path
) -> Path:
    """Balanced accuracy (%) per split: ours (arms × splits, mean over seeds), one panel per
    task, with the paper's released models re-scored as rows below ours on transitivity."""
    ours = per_split.assign(source="ours", row=_labels(per_split))[
        ["task", "source", "row", "split", "balanced_accuracy"]
    ]
    frames = [ours]
    if rescored is not None and len(rescored):
        paper = rescored.assign(
            task=PAPER_SPLIT_TASK,
            source="paper (re-scored)",
            row=lambda d: "paper: " + d["paper_name"],
        )
        frames.append(paper[["task", "source", "row", "split", "balanced_accuracy"]])
    data = pd.concat(frames, ignore_index=True)
    tasks = sorted(ours["task"].unique())
    heights = [data[data["task"] == t]["row"].nunique() for t in tasks]
    fig, axes = plt.subplots(
        len(tasks),
        1,
        figsize=(11, 0.42 * sum(heights) + 1.4 * len(tasks)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    norm = TwoSlopeNorm(vmin=0, vcenter=50, vmax=100)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        sub = data[data["task"] == task]
        grid = sub.pivot_table(
            index="row", columns="split", values="balanced_accuracy", aggfunc="mean", sort=False
        )
        grid = grid.reindex(
            index=list(dict.fromkeys(sub["row"])), columns=_ordered_splits(sub["split"])
        )
        image = ax.imshow(grid.to_numpy(dtype=float), cmap="RdBu", norm=norm, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
            ax.text(
                j,
                i,
                "—" if np.isnan(value) else f"{value:.0f}",
                ha="center",
                va="center",
                fontsize=8,
            )
        ax.set_xticks(range(grid.shape[1]), grid.columns)
        ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
        n_ours = sub[sub["source"] == "ours"]["row"].nunique()
        if n_ours < grid.shape[0]:
            ax.axhline(n_ours - 0.5, color="black", linewidth=2)
        ax.set_title(f"{task} questions: balanced accuracy (%) per split")
    fig.colorbar(
        image,
        ax=axes[:, 0].tolist(),
        shrink=0.8,
        label="balanced accuracy (%); 50 = a constant answer",
    )
    return _save(fig, path, data)


def learning_curve_plot(
    runs: dict[str, dict], path: Path, bars: dict[str, float] | None = None
) -> Path:
    """Validation accuracy against optimisation steps, one line per run (train_metrics.json)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, metrics in runs.items():
        val = metrics["validation"]
        ax.plot(
            [v["step"] for v in val], [100 * v["accuracy"] for v in val], marker=".", label=label
        )
    for label, bar in (bars or {}).items():
        ax.axhline(100 * bar, linestyle="--", linewidth=1, color="grey")
        # right-aligned under the line: clear of curves that start near the bar
        ax.text(
            0.99,
            100 * bar - 0.7,
            label,
            fontsize=8,
            color="grey",
            ha="right",
            va="top",
            transform=ax.get_yaxis_transform(),
        )
    ax.axhline(50, linestyle=":", linewidth=1, color="black")
    # the batch size as the runs record it (examples seen / steps), named only when they agree
    batches = {m["examples_seen"] // m["steps"] for m in runs.values() if m.get("steps")}
    ax.set_xlabel("optimisation step" + (f" (batch {batches.pop()})" if len(batches) == 1 else ""))
    ax.set_ylabel("balanced validation accuracy (%)")
    ax.set_ylim(40, 100)
    ax.legend(fontsize=8)
    return _save(fig, path)
