"""The sweep as one row per run (runs.csv): what the Claims section's every verdict is
computed from. Per run and the task it ran for: its role (its recipe, from its config; the
untrained backbone is `zero_shot`), backbone (`model.name`), data setting and seed; ID balanced, OOD and
adversarial accuracy in %; predicted %Yes on the ID test and each OOD split; collapse per split
(≥ the evaluation's `collapse_threshold` of the answers identical) counted over the splits; and
each trivial baseline's score on the same splits (`<metric>@<baseline>`)."""

from __future__ import annotations

import pandas as pd

from causal_semloss.evaluate.metrics import is_collapsed, mean_of
from causal_semloss.report.collapse import split_collapsed
from causal_semloss.report.settings import backbone, collapse_min_answers, collapse_threshold
from causal_semloss.report.sweep import Job
from causal_semloss.schema import OOD_SPLITS

METRICS = {
    "id": ("id_balanced_accuracy", "ID balanced accuracy"),
    "ood": ("ood_accuracy", "OOD accuracy"),
    "adversarial": ("adversarial_accuracy", "adversarial accuracy"),
}
# Where collapse is looked for: the ID test and each OOD split.
COLLAPSE_SPLITS = ("test", *OOD_SPLITS)


def _pct(value) -> float | None:
    return None if value is None else 100 * value


def _collapse_columns(splits: dict, task: str, threshold: float, min_answers: int = 1) -> dict:
    """Predicted %Yes per split and near-constant answers per split (≥ threshold identical
    answers), counted over all splits (`near_constant_splits`) and by the one collapse rule
    (`collapsed_splits`, as W&B's `eval/*/collapsed_splits`): a collapse on the ID test, or on
    an OOD split whose right answers are not themselves that one-sided, or onto the wrong answer
    of one that is (answering No on a split that is 98% No is no sign of collapse; on one that
    is 100% Yes it is). A run is `collapsed` when it has an informative collapse."""
    row: dict = {"collapsed_id": False}
    counted = near_constant = informative = 0
    for split in COLLAPSE_SPLITS:
        entry = splits.get(f"{task}/{split}") or {}
        yes_rate = entry.get("yes_rate")
        row[f"yes_{split}"] = _pct(yes_rate)
        if yes_rate is None:
            continue
        flag = is_collapsed(yes_rate, threshold, entry.get("n"), min_answers)
        true_rate = entry["true_yes"] / entry["n"]
        row[f"true_yes_{split}"] = _pct(true_rate)
        if flag is None:  # too few answers to tell
            continue
        counted += 1
        near_constant += flag
        informative += bool(
            split_collapsed(split, yes_rate, true_rate, threshold, entry.get("n"), min_answers)
        )
        if split == "test":
            row["collapsed_id"] = flag
    row.update(
        near_constant_splits=near_constant, splits_scored=counted, collapsed_splits=informative
    )
    row["collapsed"] = informative > 0
    return row


def _balanced_columns(splits: dict, task: str, suffix: str = "") -> dict:
    """Balanced accuracy (%) per split (`bal_<split>`; accuracy where a split has one class, so
    balanced accuracy is undefined) and its mean over the OOD splits where it is defined
    (`ood_bal`): the measures a run is held against the surface heuristic on."""
    row = {}
    for split in (*COLLAPSE_SPLITS, "adversarial"):
        entry = splits.get(f"{task}/{split}")
        if entry is None:
            continue
        value = entry.get("balanced_accuracy")
        row[f"bal_{split}{suffix}"] = _pct(entry.get("accuracy") if value is None else value)
    ood = [
        splits[f"{task}/{s}"].get("balanced_accuracy")
        for s in OOD_SPLITS
        if f"{task}/{s}" in splits
    ]
    row[f"ood_bal{suffix}"] = _pct(mean_of([v for v in ood if v is not None]))
    return row


def _trivial_columns(baselines: dict, task: str) -> dict:
    """Each trivial baseline's score on the metrics the claims use, on this run's splits."""
    row = {}
    for name, splits in baselines.items():
        test = splits.get(f"{task}/test", {})
        adversarial = splits.get(f"{task}/adversarial", {})
        ood = [splits[f"{task}/{s}"]["accuracy"] for s in OOD_SPLITS if f"{task}/{s}" in splits]
        row[f"id@{name}"] = _pct(test.get("balanced_accuracy"))
        row[f"ood@{name}"] = _pct(mean_of(ood))
        row[f"adversarial@{name}"] = _pct(adversarial.get("accuracy"))
        row.update(_balanced_columns(splits, task, f"@{name}"))
    return row


def run_collapsed(job: Job, task: str) -> bool:
    """The report's one collapse verdict for a run on a task (`report.collapse`)."""
    return _collapse_columns(
        job.metrics["splits"], task, collapse_threshold(job), collapse_min_answers(job)
    )["collapsed"]


def runs_frame(jobs: list[Job]) -> pd.DataFrame:
    """One row per (finished job, task it speaks for): role = its recipe; levels in %, predicted
    %Yes per split, collapse per split, trivial baselines' scores."""
    rows = []
    for job in jobs:
        if not job.ok:
            continue
        for task in job.tasks:
            summary = job.metrics["summary"].get(task)
            if summary is None:
                continue
            rows.append(
                {
                    "role": job.role,
                    "task": task,
                    "backbone": backbone(job),
                    "data": job.result.get("data", "?"),
                    "seed": job.result["seed"],
                    **{key: _pct(summary.get(name)) for key, (name, _) in METRICS.items()},
                    **_collapse_columns(
                        job.metrics["splits"],
                        task,
                        collapse_threshold(job),
                        collapse_min_answers(job),
                    ),
                    **_balanced_columns(job.metrics["splits"], task),
                    **_trivial_columns(job.metrics.get("baselines", {}), task),
                }
            )
    base = ["role", "task", "backbone", "data", "seed", *METRICS, "collapsed"]
    return pd.DataFrame(rows, columns=list(dict.fromkeys([*base, *(k for r in rows for k in r)])))
