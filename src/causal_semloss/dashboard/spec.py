"""The dashboard of a sweep as data: sections of panels, each naming the logged keys it reads
(`dashboard_plan`), and the W&B workspace built from that plan (`build_workspace`).

What a panel reads is decided here from the sweep's own files (the tasks, splits, baselines and
semantic terms its jobs wrote), and every key is one that causal_semloss.run_logger and the
trainer log: summary keys `eval/...`, `baseline/...`; history keys `train/...`, `val/...`.
Runs are grouped by their name (`run_name` in their W&B config: `<task>_<recipe>`, the name the
report's tables and figures show), mean ± stderr over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from causal_semloss.report.sweep import Job
from causal_semloss.run_logger import BASELINE_METRICS, RUN_NAME_KEY, default_group
from causal_semloss.schema import ALL_SPLITS

GROUP_BY = RUN_NAME_KEY  # the config key runs are grouped by (pipeline.run_job logs it)
METRIC_TITLES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "mcc": "MCC",
}
# The parallel-coordinates axes: config keys (recipe, λ schedule, lr, seed), then summary keys.
PARALLEL_CONFIG = ("loss.name", "loss.schedule", "train.lr", "seed")
PARALLEL_SUMMARY = ("eval/own/id_mcc", "eval/own/ood_mcc", "eval/own/collapsed_splits")
RUNS_TABLE = (
    f"config:{GROUP_BY}.value",
    "config:recipe.value.name",
    "config:loss.value.name",
    "config:seed.value",
    *(f"summary:{k}" for k in PARALLEL_SUMMARY),
)


@dataclass
class Panel:
    kind: str  # "bar" (summary keys, grouped), "line" (history keys vs x), "parallel", "compare"
    title: str
    keys: list[str]
    x: str = "Step"


@dataclass
class Plan:
    project: str
    entity: str
    groups: list[str]
    sections: dict[str, list[Panel]] = field(default_factory=dict)

    def summary_keys(self) -> set[str]:
        kinds = ("bar", "parallel")
        return {k for ps in self.sections.values() for p in ps if p.kind in kinds for k in p.keys}

    def history_keys(self) -> set[str]:
        keys = {k for ps in self.sections.values() for p in ps if p.kind == "line" for k in p.keys}
        xs = {p.x for ps in self.sections.values() for p in ps if p.kind == "line"}
        return keys | (xs - {"Step"})


def _splits(jobs: list[Job]) -> list[tuple[str, str]]:
    """(task, split) of every built-in split some finished job scored, in the schema's order."""
    seen = {tuple(k.split("/", 1)) for j in jobs if j.ok for k in j.metrics["splits"]}
    tasks = sorted({t for t, _ in seen})
    return [(t, s) for t in tasks for s in ALL_SPLITS if (t, s) in seen]


def dashboard_plan(jobs: list[Job]) -> Plan:
    """The sections and panels for the finished jobs of a sweep (at least one). Bar and
    parallel-coordinates panels read summary keys every job logs; the training section reads
    history keys only trained jobs have (an untrained run has no curves)."""
    done = [j for j in jobs if j.ok]
    logger = done[0].config.get("logger", {})
    groups = sorted(
        {j.config.get("logger", {}).get("group") or default_group(j.path) for j in done}
    )
    splits = _splits(done)
    baselines = sorted({name for j in done for name in j.metrics.get("baselines", {})})
    plan = Plan(logger.get("project") or "causal-semloss", logger.get("entity") or "", groups)
    plan.sections["Collapse at a glance: predicted Yes-rate per split"] = [
        Panel(
            "bar",
            f"{t} / {s}: predicted vs true Yes-rate",
            [f"eval/{t}/{s}/yes_rate", f"eval/{t}/{s}/true_yes_rate"],
        )
        for t, s in splits
    ]
    for metric in BASELINE_METRICS:
        plan.sections[f"{METRIC_TITLES[metric]} per split, with the trivial baselines"] = [
            Panel(
                "bar",
                f"{t} / {s}: {METRIC_TITLES[metric].lower()}",
                [f"eval/{t}/{s}/{metric}"] + [f"baseline/{t}/{s}/{b}/{metric}" for b in baselines],
            )
            for t, s in splits
        ]
    trained = [j for j in done if j.train_metrics]
    if trained:
        sem = sorted(
            {k for j in trained for k in j.train_metrics["history"] if k.startswith("sem/")}
        )
        plan.sections["Training"] = [
            Panel("line", "cross-entropy", ["train/ce"]),
            *(Panel("line", f"semantic term {k[4:]}", [f"train/{k}"]) for k in sem),
            Panel("line", "λ (weight of the semantic loss)", ["train/lambda"]),
            *(
                [
                    Panel(
                        "line",
                        "answer token's weight (× one text token)",
                        ["train/answer_weight"],
                    ),
                    Panel("line", "answer token's CE", ["train/answer_ce"]),
                ]
                if any("answer_weight" in j.train_metrics["history"] for j in trained)
                else []
            ),
            Panel("line", "validation Yes-rate", ["val/yes_rate"]),
            Panel(
                "line",
                "validation Yes-rate vs examples seen",
                ["val/yes_rate"],
                x="val/examples_seen",
            ),
            Panel("line", "validation accuracy", ["val/accuracy"]),
        ]
    plan.sections["Recipes, schedules and outcomes"] = [
        Panel(
            "parallel",
            "recipe, λ schedule, lr, seed → ID MCC, OOD MCC, collapsed splits",
            list(PARALLEL_SUMMARY),
        ),
        Panel("compare", "runs side by side", []),
    ]
    return plan


def build_workspace(plan: Plan, name: str):
    """The `wandb_workspaces` Workspace of `plan` (built without network)."""
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws
    from wandb_workspaces import expr

    grouped = {
        "groupby": f"config.{GROUP_BY}",
        "groupby_aggfunc": "mean",
        "groupby_rangefunc": "stderr",
    }

    def panel(p: Panel):
        if p.kind == "bar":
            return wr.BarPlot(title=p.title, metrics=p.keys, orientation="v", **grouped)
        if p.kind == "line":
            return wr.LinePlot(title=p.title, x=p.x, y=p.keys, **grouped)
        if p.kind == "parallel":
            columns = [
                wr.ParallelCoordinatesPlotColumn(metric=wr.Config(c)) for c in PARALLEL_CONFIG
            ]
            columns += [
                wr.ParallelCoordinatesPlotColumn(metric=wr.SummaryMetric(k)) for k in p.keys
            ]
            return wr.ParallelCoordinatesPlot(title=p.title, columns=columns)
        return wr.RunComparer(diff_only="split")

    groups = ", ".join(repr(g) for g in plan.groups)
    return ws.Workspace(
        entity=plan.entity,
        project=plan.project,
        name=name,
        sections=[
            ws.Section(name=title, panels=[panel(p) for p in panels], is_open=True)
            for title, panels in plan.sections.items()
        ],
        runset_settings=ws.RunsetSettings(
            # the sweep's job runs, not the report's summary run (job_type "report")
            filters=f"Metric('Group') in [{groups}] and Metric('JobType') != 'report'",
            groupby=[expr.Config(GROUP_BY)],
            pinned_columns=list(RUNS_TABLE),
        ),
    )


def workspace_spec(workspace) -> dict:
    """The workspace as the JSON W&B stores (the package's own serialisation; no network)."""
    return workspace._to_model().model_dump(by_alias=True, exclude_none=True, mode="json")
