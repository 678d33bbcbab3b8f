"""The collapse monitor of a sweep as a table and a figure: each trained job's validation
Yes-rate and accuracy against examples seen, beside the untrained backbone's zero-shot ID Yes-rate.

`python scripts/validation_trajectory.py SWEEP_DIR [--out DIR]` writes
validation_trajectory.{csv,md,png} (default: into the sweep dir). Every number comes from the
jobs' train_metrics.json / result.json / config.json files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from causal_semloss.atomic import atomic_path, write_text  # noqa: E402


def _name(result: dict) -> str:
    """The run's name: `name` (`<task>_<recipe>`), or `variant` in a result.json from before."""
    return str(result.get("name") or result["variant"])


def trajectory(sweep: Path) -> pd.DataFrame:
    rows = []
    for result_path in sorted(sweep.glob("*/result.json")):
        job = result_path.parent
        result = json.loads(result_path.read_text())
        if result.get("status") != "ok":
            continue
        config = json.loads((job / "config.json").read_text())
        if not result["trained"]:
            for task, summary in result["summary"].items():
                rows.append(
                    dict(
                        name=f"{_name(result)} (zero-shot, {task} ID test)",
                        step=0,
                        examples=0,
                        yes_rate=summary["id_yes_rate"],
                        accuracy=summary["id_balanced_accuracy"],
                    )
                )
            continue
        per_step = config["train"]["batch_size"] * config["train"]["grad_accum"]
        metrics = json.loads((job / "train_metrics.json").read_text())
        for point in metrics["validation"]:
            rows.append(
                dict(
                    name=_name(result),
                    step=point["step"],
                    examples=point["step"] * per_step,
                    yes_rate=point["yes_rate"],
                    accuracy=point["accuracy"],
                )
            )
    if not rows:
        raise SystemExit(f"error: {sweep}: no finished job with a result.json")
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or args.sweep
    out.mkdir(parents=True, exist_ok=True)
    frame = trajectory(args.sweep)
    with atomic_path(out / "validation_trajectory.csv") as tmp:
        frame.to_csv(tmp, index=False)
    shown = frame.assign(
        yes_rate=lambda f: (100 * f.yes_rate).round(1),
        accuracy=lambda f: (100 * f.accuracy).round(1),
    )
    write_text(out / "validation_trajectory.md", shown.to_markdown(index=False) + "\n")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    trained = frame[frame.step > 0]
    for name, group in trained.groupby("name"):
        axes[0].plot(group.examples, 100 * group.yes_rate, marker="o", label=name)
        axes[1].plot(group.examples, 100 * group.accuracy, marker="o", label=name)
    axes[0].set_ylabel("validation Yes-rate (%)")
    axes[1].set_ylabel("validation accuracy (%, balanced set)")
    for ax in axes:
        ax.set_xlabel("training examples seen")
        ax.set_ylim(-2, 102)
        ax.axhline(50, color="grey", lw=0.8, ls=":")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    with atomic_path(out / "validation_trajectory.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    print(shown.to_markdown(index=False))


if __name__ == "__main__":
    main()
