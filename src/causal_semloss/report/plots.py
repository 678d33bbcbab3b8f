"""The report's figures: yes-rate per split per variant (collapse at a glance) and training
curves per variant (CE, semantic term, λ, validation yes-rate). PNGs, written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from causal_semloss.atomic import atomic_path  # noqa: E402
from causal_semloss.report.sweep import Job  # noqa: E402
from causal_semloss.schema import ALL_SPLITS  # noqa: E402


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def yes_rate_plot(per_split: pd.DataFrame, path: Path) -> Path:
    """Grouped bars: predicted yes-rate per split, one bar per variant, one panel per task;
    the true yes-rate of each split is drawn as a black tick."""
    tasks = sorted(per_split["task"].unique())
    fig, axes = plt.subplots(len(tasks), 1, figsize=(11, 4.2 * len(tasks)), squeeze=False)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        sub = per_split[per_split["task"] == task]
        labels = [
            f"{d}/{v}" if sub["data"].nunique() > 1 else v
            for d, v in zip(sub["data"], sub["variant"], strict=True)
        ]
        sub = sub.assign(label=labels)
        present = set(sub["split"])
        splits = [s for s in ALL_SPLITS if s in present] + sorted(present - set(ALL_SPLITS))
        variants = list(dict.fromkeys(sub["label"]))
        width = 0.8 / max(1, len(variants))
        for i, variant in enumerate(variants):
            rows = sub[sub["label"] == variant].set_index("split")
            xs = [s + i * width for s in range(len(splits))]
            values = [rows["yes_rate"].get(s, float("nan")) for s in splits]
            bars = ax.bar(xs, values, width, label=variant)
            # a tick on each bar's top, so a 0% bar (a model that never says Yes) stays visible
            colour = bars.patches[0].get_facecolor()
            ax.plot(xs, values, "_", color=colour, markersize=12, markeredgewidth=3)
        truth = sub.drop_duplicates("split").set_index("split")["true_yes_rate"]
        for s, split in enumerate(splits):
            ax.hlines(
                truth.get(split), s - width / 2, s + 0.8 - width / 2, colors="black", linewidth=2
            )
        ax.set_xticks([s + 0.4 - width / 2 for s in range(len(splits))], splits)
        ax.set_ylim(0, 105)
        ax.set_ylabel("predicted Yes (%)")
        ax.set_title(f"{task} questions — black line: true %Yes of the split")
    axes[0, 0].legend(fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(0, 1.35))
    fig.tight_layout()
    return _save(fig, path)


def training_curves_plot(jobs: list[Job], path: Path) -> Path | None:
    trained = [j for j in jobs if j.ok and j.train_metrics]
    if not trained:
        return None
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    titles = ("cross-entropy", "semantic terms (sem/*)", "λ", "validation yes-rate")
    for job in trained:
        hist = job.train_metrics["history"]
        label = f"{job.result['variant']} s{job.result['seed']}"
        axes[0].plot(hist["step"], hist["ce"], label=label, linewidth=1)
        for key in sorted(k for k in hist if k.startswith("sem/")):
            axes[1].plot(hist["step"], hist[key], linewidth=1)
        axes[2].plot(hist["step"], hist["lambda"], linewidth=1)
        val = job.train_metrics["validation"]
        axes[3].plot(
            [v["step"] for v in val], [v["yes_rate"] for v in val], marker=".", linewidth=1
        )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xlabel("step")
    axes[3].set_ylim(-0.02, 1.02)
    low, high = trained[0].config.get("train", {}).get("collapse_band", (None, None))
    if low is not None:  # the band the runs' collapse monitor used
        axes[3].axhspan(low, high, color="green", alpha=0.06)
    axes[0].legend(fontsize=7)
    return _save(fig, path)


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
    ax.set_xlabel("optimisation step (batch 32)")
    ax.set_ylabel("balanced validation accuracy (%)")
    ax.set_ylim(40, 100)
    ax.legend(fontsize=8)
    return _save(fig, path)
