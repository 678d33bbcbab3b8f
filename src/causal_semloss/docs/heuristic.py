"""A recipe's runs held against the surface heuristic (Yes iff one sentence links the two query
nodes, `direct_link`) on the same rows, paired by seed: the check that tells learning the task
from reaching a surface rule. Reads the committed run files (`<runs>/<task>_<recipe>_<seed>/
metrics.json`), whose `baselines` hold the heuristic's score on the rows the run was scored on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

from causal_semloss.docs.run_dirs import run_files
from causal_semloss.schema import OOD_SPLITS

PARTS = (
    ("ID (balanced test)", ("test",)),
    ("OOD (mean of 5)", OOD_SPLITS),
    ("adversarial", ("adversarial",)),
)


def _mean_balanced(scores: dict, task: str, splits) -> float:
    values = [scores[f"{task}/{s}"]["balanced_accuracy"] for s in splits]
    return float(np.nanmean([math.nan if v is None else v for v in values]))


def paired_differences(
    runs: Path, task: str, recipe: str
) -> dict[str, list[tuple[int, float, float]]]:
    """Per part: (seed, run's balanced accuracy, heuristic's) in points, for every seed found."""
    out: dict[str, list[tuple[int, float, float]]] = {name: [] for name, _ in PARTS}
    for metrics in run_files(runs, task, recipe, "metrics.json"):
        seed = int(metrics.parent.name.rsplit("_", 1)[1])
        m = json.loads(metrics.read_text())
        for name, splits in PARTS:
            run = _mean_balanced(m["splits"], task, splits)
            heuristic = _mean_balanced(m["baselines"]["direct_link"], task, splits)
            out[name].append((seed, 100 * run, 100 * heuristic))
    return out


def heuristic_table(repo: Path, runs_dir: str, task: str, recipe: str) -> str:
    """Markdown: per part, each seed's run − heuristic and the mean with its 95% t-interval."""
    runs = repo / runs_dir
    lines = [
        "| balanced accuracy | run − heuristic, by seed (points) | mean [95% t-interval] | reading |",
        "|---|---|---|---|",
    ]
    for name, rows in paired_differences(runs, task, recipe).items():
        diffs = np.array([r - h for _, r, h in rows])
        if len(diffs) < 2:
            raise ValueError(f"{runs}: fewer than two {task}_{recipe} runs")
        half = stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / math.sqrt(len(diffs))
        low, high = diffs.mean() - half, diffs.mean() + half
        reading = (
            "beyond the heuristic" if low > 0 else "below" if high < 0 else "at heuristic level"
        )
        by_seed = ", ".join(f"{d:+.1f}" for d in diffs)
        lines.append(
            f"| {name} | {by_seed} | {diffs.mean():+.1f} [{low:.1f}, {high:.1f}] | {reading} |"
        )
    return "\n".join(lines) + f"\n\n(computed from `{runs_dir}/{task}_{recipe}_*/metrics.json`)"
