"""`python -m causal_semloss.report multirun/<date>/<time> [more sweep dirs]`: turn finished
sweeps into report.md, CSVs and PNG plots (written into the first sweep dir, or --out).

Several sweep dirs (e.g. experiment=paper and experiment=paper_balanced) are reported side by
side, told apart by their data setting. Every file is written via temp + rename.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from causal_semloss.atomic import atomic_path, write_text
from causal_semloss.errors import exit_on_user_error
from causal_semloss.report.answer_weight import answer_weight_frame
from causal_semloss.report.arm_findings import arm_findings, arm_findings_markdown, seed_escapes
from causal_semloss.report.arms import assign_arms
from causal_semloss.report.claims import claims_table, runs_frame
from causal_semloss.report.claims_text import claims_markdown
from causal_semloss.report.collapse import rule_text
from causal_semloss.report.heuristic import heuristic_markdown, heuristic_table
from causal_semloss.report.paper_numbers import paper_numbers
from causal_semloss.report.paper_rescored import paper_rescored_section
from causal_semloss.report.plots import (
    balanced_accuracy_heatmap,
    training_curves_plot,
    yes_rate_plot,
)
from causal_semloss.report.settings import collapse_threshold, report_config
from causal_semloss.report.sweep import Job, load_sweeps
from causal_semloss.report.tables import (
    baseline_table,
    failed_summary,
    failed_table,
    headline_table,
    per_split_table,
)
from causal_semloss.report.trajectory import (
    trajectory_frame,
    trajectory_plots,
    trajectory_section,
    trajectory_summary,
)
from causal_semloss.report.trivial import headline_flags, per_split_flags


def _fmt(value, sd=None) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(value)
    text = f"{value:.1f}"
    if sd:
        text += f" ± {sd:.1f}"
    return text


def _markdown(df: pd.DataFrame, columns: dict[str, str], sd: dict[str, str] | None = None) -> str:
    """`columns` of `df` as a markdown table (pandas' `to_markdown`), each cell formatted by
    `_fmt` (a mean with its sd where `sd` names the sd column)."""
    sd = sd or {}
    cells = pd.DataFrame(
        {
            title: [_fmt(row[c], row.get(sd[c]) if c in sd else None) for _, row in df.iterrows()]
            for c, title in columns.items()
        },
        columns=list(columns.values()),
    )
    return cells.to_markdown(index=False, disable_numparse=True)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def build_report(sweep_dirs: list[Path], out_dir: Path) -> Path:
    sweep_dirs, jobs = load_sweeps(sweep_dirs)  # each sweep and job once
    report_cfg = report_config(jobs)
    jobs, repeats = assign_arms(jobs, list(report_cfg.same_arm_ignores))  # seeds of one arm
    headline, per_split = headline_table(jobs), per_split_table(jobs)
    baselines, failed = baseline_table(jobs), failed_table(jobs)
    runs = runs_frame(jobs)
    claims_cfg, margin = report_cfg.claims, report_cfg.claims.equivalence_margin
    against_heuristic = heuristic_table(runs, claims_cfg)
    headline["trivial"] = headline_flags(headline, baselines, margin)
    per_split["trivial"] = per_split_flags(per_split, baselines, margin)
    rescored_section, rescored_tables = paper_rescored_section(report_cfg)
    tables = {
        "headline": headline,
        "per_split": per_split,
        "baselines": baselines,
        "failed_jobs": failed,
        "runs": runs,
        "heuristic": against_heuristic,
        **rescored_tables,
    }
    claims_section = claims_markdown(runs, claims_cfg, jobs)
    if claims_section:
        tables["claims"] = claims_table(runs, claims_cfg)
    trajectories = trajectory_frame(jobs, collapse_threshold)
    exposure = paper_numbers()["training_exposure"]["examples_seen"]
    weights = answer_weight_frame(jobs)
    trajectory_figures = trajectory_plots(trajectories, out_dir, exposure, weights)
    findings = pd.DataFrame()
    if trajectory_figures:
        tables["trajectory"] = trajectories
        tables["trajectory_summary"] = trajectory_summary(trajectories)
        escapes = seed_escapes(trajectories)
        findings = arm_findings(escapes, against_heuristic, weights)
        if not findings.empty:
            tables["arm_findings"] = findings
            tables["seed_escapes"] = escapes
    for name, df in tables.items():
        write_csv(df, out_dir / f"{name}.csv")
    yes_plot = yes_rate_plot(per_split, out_dir / "yes_rate.png")
    curves = training_curves_plot(jobs, out_dir / "training_curves.png")
    heatmap = balanced_accuracy_heatmap(
        per_split, rescored_tables.get("paper_rescored"), out_dir / "balanced_accuracy_heatmap.png"
    )

    parts = [
        "# causal-semloss report",
        "",
        f"Sweeps: {', '.join(str(d) for d in sweep_dirs)} — {failed_summary(jobs)}. "
        "Accuracies in %, mean ± sd over seeds. A row is one arm: the runs whose configs differ "
        "only in the seed (a suffix names what else differs).",
        "",
        *[f"- {note}" for note in repeats],
        "",
        "## 1. Headline: ours beside the paper's",
        "",
        "*ID* = balanced in-distribution test split of the arm's task (did it learn at all?). "
        "*OOD* = mean over the five OOD splits of that task. *Collapse rate* = share of seeds "
        f"collapsed, where {rule_text(_collapse_threshold(jobs))} — the one definition of every "
        "table, claim and trajectory here (ours). Paper columns: PAPER.md.",
        "",
        _markdown(
            headline,
            {
                "data": "data",
                "backbone": "backbone",
                "arm": "arm",
                "task": "task",
                "seeds_ok": "seeds",
                "id_accuracy": "ID acc",
                "ood_accuracy": "OOD acc",
                "ood_balanced_accuracy": "OOD bal. acc",
                "adversarial_accuracy": "adversarial acc",
                "collapse_rate": "collapse rate",
                "paper_row": "paper row",
                "paper_standard": "paper standard",
                "paper_adversarial": "paper adversarial",
                "paper_collapse": "paper collapse",
                "trivial": "≈ trivial (±δ)",
            },
            sd={
                "id_accuracy": "id_accuracy_sd",
                "ood_accuracy": "ood_accuracy_sd",
                "adversarial_accuracy": "adversarial_accuracy_sd",
            },
        ),
        "",
        *claims_section,
        *heuristic_markdown(against_heuristic, claims_cfg.confidence),
        *arm_findings_markdown(findings),
        *trajectory_section(trajectories, trajectory_figures),
        *rescored_section,
        "## 2. Per split",
        "",
        "CI: bootstrap 95% CI of accuracy (one seed) or the range over seeds. "
        "*Paper* = the paper's accuracy on transitivity questions for that split.",
        "",
    ]
    for task in sorted(per_split["task"].unique()):
        sub = per_split[per_split["task"] == task].copy()
        sub["ci"] = [
            f"[{lo:.1f}, {hi:.1f}]" for lo, hi in zip(sub["ci_low"], sub["ci_high"], strict=True)
        ]
        parts += [
            f"### {task} questions",
            "",
            _markdown(
                sub,
                {
                    "data": "data",
                    "backbone": "backbone",
                    "arm": "arm",
                    "split": "split",
                    "n": "n",
                    "accuracy": "acc",
                    "ci": "95% CI",
                    "balanced_accuracy": "bal. acc",
                    "f1": "F1 (Yes)",
                    "mcc": "MCC",
                    "yes_rate": "pred. %Yes",
                    "true_yes_rate": "true %Yes",
                    "paper_accuracy": "paper acc",
                    "trivial": "≈ trivial (±δ)",
                },
            ),
            "",
        ]
        base = baselines[baselines["task"] == task] if len(baselines) else baselines
        if len(base):
            pivot = base.pivot_table(
                index=["data", "baseline"], columns="split", values="accuracy"
            ).reset_index()
            cols = {
                "data": "data",
                "baseline": "baseline (accuracy)",
                **{c: c for c in pivot.columns[2:]},
            }
            parts += [
                "Trivial baselines (ours) on the same splits:",
                "",
                _markdown(pivot, cols),
                "",
            ]
    parts += ["## 3. Prediction distribution", "", f"![yes-rate per split]({yes_plot.name})", ""]
    parts += [f"![balanced accuracy per split]({heatmap.name})", ""]
    if curves is not None:
        parts += ["## 4. Training curves", "", f"![training curves]({curves.name})", ""]
    if len(failed):
        parts += [
            "## Failed jobs",
            "",
            _markdown(failed, {"job": "job", "arm": "arm", "seed": "seed", "error": "error"}),
            "",
        ]
    report = out_dir / "report.md"
    write_text(report, "\n".join(parts))
    _log_to_wandb(jobs, out_dir, tables, [yes_plot, curves, heatmap, *trajectory_figures])
    return report


def _collapse_threshold(jobs: list[Job]) -> str:
    """The threshold the sweep's evaluation used (`eval.collapse_threshold`), as a percentage."""
    found = {j.config["eval"]["collapse_threshold"] for j in jobs if "eval" in j.config}
    return " / ".join(f"{100 * t:g}%" for t in sorted(found)) or "the configured share"


def _log_to_wandb(jobs: list[Job], out_dir: Path, tables: dict, images: list) -> None:
    """With the W&B logger on in the sweep, log tables and plots to a summary run in its group."""
    cfg = next(
        (j.config for j in jobs if j.config.get("logger", {}).get("mode") in ("offline", "online")),
        None,
    )
    if cfg is None:
        return

    from causal_semloss.run_logger import make_logger

    # A sweep older than `_target_` in the logger group ran W&B too.
    cfg["logger"].setdefault("_target_", "causal_semloss.run_logger.WandbLogger")
    logger = make_logger(
        OmegaConf.create(cfg),
        out_dir,
        name="report",
        job_type="report",
        config={"sweeps": [str(j.path.parent) for j in jobs[:1]]},
    )
    logger.log_artifacts(tables, {p.stem: str(p) for p in images if p is not None})
    logger.finish()


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="causal-semloss-report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("sweeps", nargs="+", type=Path, help="multirun/<date>/<time> dirs")
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write (default: the first sweep dir)"
    )
    args = parser.parse_args(argv)
    out = args.out or args.sweeps[0]
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(args.sweeps, out)
    print(f"report: {report}")
    print(report.read_text().split("## 2.")[0])


if __name__ == "__main__":
    main()
