"""When a run left a constant answer on the ID validation set, read from its collapse monitor
(`train_metrics.json` "validation": the validation yes-rate every `train.eval_steps`): the first
validation point from which every later one is inside the collapse band, the examples seen there
and the λ the run's schedule gave at that step. A narrower event than leaving collapse by the
report's one rule (`report.collapse`, which also looks at every OOD split:
`report.arm_findings`), but finer in time (every 250 steps against a probe every 10k examples).
Used by the study pages (`{{escape RUNS_DIR ;; TASK ;; RECIPE}}`)."""

from __future__ import annotations

import json
from pathlib import Path

from causal_semloss.docs.run_dirs import run_files
from causal_semloss.train.schedules import lambda_at, parse_schedule


def escape_points(runs: Path, task: str, recipe: str) -> list[dict]:
    out = []
    for path in run_files(runs, task, recipe, "train_metrics.json"):
        metrics = json.loads(path.read_text())
        config = json.loads((path.parent / "config.json").read_text())
        low, high = config["train"]["collapse_band"]
        points = metrics["validation"]
        inside = [low < p["yes_rate"] < high for p in points]
        first = next((i for i in range(len(points)) if all(inside[i:])), None)
        row = {"seed": int(path.parent.name.rsplit("_", 1)[1]), "escaped": first is not None}
        if first is not None:
            step = points[first]["step"]
            batch = config["train"]["batch_size"]
            row |= {
                "last_out": points[first - 1]["step"] * batch if first else 0,
                "first_in": step * batch,
                "lambda": lambda_at(
                    parse_schedule(config["loss"]["schedule"]), step, metrics["total_steps"]
                ),
                "yes_rate": points[first]["yes_rate"],
            }
        out.append(row)
    return out


def escape_table(repo: Path, runs_dir: str, task: str, recipe: str) -> str:
    lines = [
        "| seed | last ID-validation point at a constant answer (examples seen) | first point off it for good (examples seen) | λ there |",
        "|---|---|---|---|",
    ]
    for row in escape_points(repo / runs_dir, task, recipe):
        if row["escaped"]:
            lines.append(
                f"| {row['seed']} | {row['last_out']:,} | {row['first_in']:,} | {row['lambda']:.3f} |"
            )
        else:
            lines.append(f"| {row['seed']} | not off it for good | — | — |")
    source = (
        f"(the training monitor: the ID validation set only, from `{runs_dir}/{task}_{recipe}_*"
        "/train_metrics.json`, `validation`; the report's collapse rule, on the ID test and every "
        "OOD split, is in its `arm_findings.csv`)"
    )
    return "\n".join(lines) + "\n\n" + source
