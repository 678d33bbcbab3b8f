"""The answer token's weight in the objective relative to one text token, as the runs logged it
(train history `answer_weight`: 1 under whole-text CE, 1 + λT with λ·L_sem, λT under the
authors' CE bug), drawn as the last row of each trajectory figure: the re-weighting a λ·L_sem
term does, seen beside the escape it may explain rather than inferred."""

from __future__ import annotations

import pandas as pd

from causal_semloss.report.settings import backbone
from causal_semloss.report.sweep import Job


def answer_weight_frame(jobs: list[Job]) -> pd.DataFrame:
    """Per (backbone, task, role, examples seen): the answer token's logged weight in the
    objective relative to one text token (train history `answer_weight`), mean over seeds — the
    re-weighting a λ·L_sem term does, drawn beside the trajectory it may explain."""
    rows = []
    for job in jobs:
        history = (job.train_metrics or {}).get("history", {})
        if not job.ok or "answer_weight" not in history:
            continue
        train = job.config.get("train", {})
        per_step = train.get("batch_size", 0) * train.get("grad_accum", 1)
        for step, weight in zip(history["step"], history["answer_weight"], strict=True):
            if weight is not None:
                rows.append((backbone(job), job.result["task"], job.role, step * per_step, weight))
    frame = pd.DataFrame(rows, columns=["backbone", "task", "role", "examples", "answer_weight"])
    return frame.groupby(["backbone", "task", "role", "examples"], as_index=False).mean()


def answer_weight_row(axes, weights: pd.DataFrame, colours: dict, styles: dict) -> None:
    """The extra bottom row: answer weight against examples seen (first column), per role."""
    ax = axes[-1][0]
    for role, line in weights.groupby("role", sort=False):
        if role not in colours:
            continue
        style, width = styles[role]
        ax.plot(
            line["examples"],
            line["answer_weight"],
            linestyle=style,
            linewidth=width,
            color=colours[role],
        )
    ax.set_xscale("symlog", linthresh=1000)
    ax.set_xticks([0, 1e3, 1e4, 1e5])
    ax.set_ylabel("answer token's weight\n(× one text token)", fontsize=8)
    ax.set_xlabel("examples seen", fontsize=8)
    ax.tick_params(labelsize=7)
    for other in axes[-1][1:]:
        other.axis("off")
