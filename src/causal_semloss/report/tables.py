"""The report's tables as pandas DataFrames: headline (with the paper's numbers beside ours),
per-split breakdown with CIs and baselines, failed jobs. Pure functions of the loaded jobs."""

from __future__ import annotations

import statistics
from collections import Counter

import pandas as pd

from causal_semloss.evaluate.metrics import collapse_rate
from causal_semloss.report.paper_numbers import paper_numbers
from causal_semloss.report.runs import run_collapsed
from causal_semloss.report.settings import backbone, paper_row
from causal_semloss.report.sweep import Job
from causal_semloss.tasks import PAPER_SPLIT_TASK, TASK_NAMES

# Report order: recipe by recipe (the paper's rows first, then the ablations), each on every task
# in TASK_NAMES order; a recipe not listed comes after these, by name.
RECIPE_ORDER = (
    "zero_shot",
    "baseline",
    "semantic",
    "static",
    "answer_ce",
    "semantic_cebug",
    "cebug",
    "constraints",
    "baseline_balanced",
    "semantic_balanced",
)


def _pct(values: list) -> tuple[float | None, float | None]:
    known = [100 * v for v in values if v is not None]
    if not known:
        return None, None
    return statistics.fmean(known), (statistics.stdev(known) if len(known) > 1 else 0.0)


def _order(job: Job) -> tuple:
    recipe, task = job.recipe, job.result.get("task", "")
    rank = RECIPE_ORDER.index(recipe) if recipe in RECIPE_ORDER else len(RECIPE_ORDER)
    return rank, recipe, TASK_NAMES.index(task) if task in TASK_NAMES else len(TASK_NAMES), task


def _groups(jobs: list[Job]) -> dict[tuple[str, str, str], list[Job]]:
    """Jobs by (data setting, backbone, arm): seeds of one arm, never two backbones."""
    groups: dict[tuple[str, str, str], list[Job]] = {}
    for job in jobs:
        if job.unknown:  # no result to place it by: listed under Failed jobs, in no row
            continue
        key = (job.result.get("data", "?"), backbone(job), job.arm)
        groups.setdefault(key, []).append(job)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], _order(kv[1][0]))))


def headline_table(jobs: list[Job]) -> pd.DataFrame:
    """One row per (data, backbone, arm): ID / OOD / adversarial accuracy over seeds, collapse
    rate; beside it the paper's row it stands for (`paper_row`: the paper's model name) and that
    row's numbers, looked up by the run's paper row, never by its name."""
    paper = paper_numbers()["headline"]
    rows = []
    for (data, model, arm), group in _groups(jobs).items():
        ok = [j for j in group if j.ok]
        task = group[0].result["task"]
        # An untrained run speaks for whichever task it was scored on (eval.tasks); a trained
        # run only for its own: scored on another task alone, its row stays empty rather than
        # show that task's numbers under this run's name.
        if ok and task not in ok[0].metrics["summary"] and not group[0].result.get("trained"):
            task = next(iter(ok[0].metrics["summary"]))
        summaries = [j.metrics["summary"][task] for j in ok if task in j.metrics["summary"]]
        row = {
            "data": data,
            "backbone": model,
            "arm": arm,
            "task": task,
            "seeds_ok": len(ok),
            "seeds_failed": len(group) - len(ok),
        }
        for name in (
            "id_accuracy",
            "ood_accuracy",
            "ood_balanced_accuracy",
            "ood_f1",
            "adversarial_accuracy",
        ):
            row[name], row[f"{name}_sd"] = _pct([s[name] for s in summaries])
        flags = [run_collapsed(j, task) for j in ok if task in j.metrics["summary"]]
        rate = collapse_rate(flags)
        row["collapse_rate"] = None if rate is None else 100 * rate
        row["id_yes_rate"], _ = _pct([s["id_yes_rate"] for s in summaries])
        ref = paper.get(paper_row(group[0]), {})
        row["paper_row"] = ref.get("paper_name")
        row["paper_standard"] = ref.get("standard")
        row["paper_adversarial"] = ref.get("adversarial")
        row["paper_collapse"] = ref.get("collapse")
        rows.append(row)
    return pd.DataFrame(rows)


def per_split_table(jobs: list[Job]) -> pd.DataFrame:
    """Accuracy / F1 / balanced accuracy / yes-rate per (arm, task, split), mean over seeds;
    CI = the bootstrap 95% CI of accuracy when one seed ran, the seed range otherwise."""
    paper = paper_numbers()["per_split_accuracy_on_transitivity"]
    rows = []
    for (data, model, arm), group in _groups(jobs).items():
        ok = [j for j in group if j.ok]
        if not ok:
            continue
        ref = paper.get(paper_row(group[0]), {})
        for key in ok[0].metrics["splits"]:
            task, split = key.split("/", 1)
            entries = [j.metrics["splits"][key] for j in ok if key in j.metrics["splits"]]
            accs = [e["accuracy"] for e in entries]
            row = {
                "data": data,
                "backbone": model,
                "arm": arm,
                "task": task,
                "split": split,
                "n": entries[0]["n"],
            }
            row["accuracy"], row["accuracy_sd"] = _pct(accs)
            if len(entries) == 1 and entries[0]["ci95"]["accuracy"]:
                lo, hi = entries[0]["ci95"]["accuracy"]
            else:
                lo, hi = (
                    min(a for a in accs if a is not None),
                    max(a for a in accs if a is not None),
                )
            row["ci_low"], row["ci_high"] = 100 * lo, 100 * hi
            for name in ("balanced_accuracy", "f1", "mcc", "yes_rate"):
                row[name], _ = _pct([e[name] for e in entries])
            # The rows actually scored: seeds draw their own rows, so the mean and the range.
            true_rates = [100 * e["true_yes"] / e["n"] for e in entries if e["n"]]
            row["true_yes_rate"] = statistics.fmean(true_rates) if true_rates else None
            row["true_yes_rate_min"] = min(true_rates, default=None)
            row["true_yes_rate_max"] = max(true_rates, default=None)
            row["paper_accuracy"] = ref.get(split) if task == PAPER_SPLIT_TASK else None
            rows.append(row)
    return pd.DataFrame(rows)


def baseline_table(jobs: list[Job]) -> pd.DataFrame:
    """Trivial baselines per (data setting, task, split), from every finished job that scored
    them: each seed's rows once (every arm of a seed is scored on the same rows), then the mean
    over seeds, with how many seeds and the accuracy's range."""
    per_seed: dict[tuple, dict] = {}
    for job in jobs:
        if not job.ok:
            continue
        data, seed = job.result.get("data", "?"), job.result.get("seed")
        for name, splits in job.metrics.get("baselines", {}).items():
            for key, entry in splits.items():
                task, split = key.split("/", 1)
                per_seed.setdefault((data, name, task, split, seed), entry)
    cells: dict[tuple, list[dict]] = {}
    for (data, name, task, split, _), entry in per_seed.items():
        cells.setdefault((data, name, task, split), []).append(entry)
    rows = []
    for (data, name, task, split), entries in cells.items():
        row = {"data": data, "baseline": name, "task": task, "split": split}
        for metric in ("accuracy", "balanced_accuracy", "f1"):
            row[metric], _ = _pct([e[metric] for e in entries])
        accuracies = [100 * e["accuracy"] for e in entries]
        row.update(seeds=len(entries), accuracy_min=min(accuracies), accuracy_max=max(accuracies))
        rows.append(row)
    columns = ["data", "baseline", "task", "split", "accuracy", "balanced_accuracy", "f1"]
    return pd.DataFrame(rows, columns=[*columns, "seeds", "accuracy_min", "accuracy_max"])


def failed_table(jobs: list[Job]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "job": str(j.path),
                "arm": j.arm,
                "seed": j.result.get("seed"),
                "error": _error(j),
            }
            for j in jobs
            if not j.ok
        ]
    )


def _error(job: Job) -> str:
    if job.result.get("status") == "ok":
        if job.metrics is None:
            return "no metrics.json"
        return "scored no row (empty eval.splits or eval.tasks)"
    return job.result.get("error") or "no error recorded"


def _failure_reason(job: Job) -> str:
    return _error(job).split(":", 1)[0].split(" (", 1)[0]


def failed_summary(jobs: list[Job]) -> str:
    """One sentence for the report: how many jobs finished, how many failed and why, and how
    many never wrote a result. A failed or missing job is in no rate or table but "Failed jobs"
    (a diverged training is failed, not collapsed); a sweep with a missing job is INCOMPLETE."""
    missing = [j for j in jobs if j.missing]
    failed = [j for j in jobs if not j.ok and not j.missing]
    finished = len(jobs) - len(failed) - len(missing)
    text = f"{finished} job{'' if finished == 1 else 's'} finished, "
    if not failed:
        text += "none failed"
    else:
        reasons = Counter(_failure_reason(j) for j in failed).most_common()
        listed = ", ".join(reason if n == 1 else f"{reason} × {n}" for reason, n in reasons)
        text += (
            f"{len(failed)} failed ({listed}): left out of every rate and table, "
            "listed under Failed jobs"
        )
    if missing:
        text += (
            f"; **INCOMPLETE: {len(missing)} job{'' if len(missing) == 1 else 's'} missing** "
            "(no result.json: killed, still running or never started; listed under Failed jobs)"
        )
    return text
