"""Recipes are an axis of their own: each experiment sweeps task x recipe, a run records both,
its name comes from them (`<task>_<recipe>` for every run; the paper's row it stands for is a
field of its own), and the report reads its role from its config — never from its name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from causal_semloss.paths import CONFIG_DIR
from causal_semloss.pipeline import paper_row, run_name
from causal_semloss.report.runs import runs_frame
from causal_semloss.report.sweep import Job
from causal_semloss.report.tables import headline_table
from tests.conftest import compose_cached

RECIPES = sorted(p.stem for p in (CONFIG_DIR / "recipe").glob("*.yaml"))
TASK_NAMES = sorted(p.stem for p in (CONFIG_DIR / "task").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def _sweep_params(experiment: str) -> dict[str, list[str]]:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", [f"experiment={experiment}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params or {}
    return {k: [v.strip() for v in str(params[k]).split(",")] for k in params}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_sweeps_tasks_by_recipes(experiment):
    params = _sweep_params(experiment)
    assert "variant" not in params
    assert set(params["recipe"]) <= set(RECIPES) and set(params["task"]) <= set(TASK_NAMES)


# composes every run of the paper experiments (~15 s)
@pytest.mark.slow
def test_the_paper_experiments_hold_the_papers_five_rows():
    for experiment in ("smoke", "paper", "paper_gemma", "paper_gemma_cpu"):
        params = _sweep_params(experiment)
        rows = {
            paper_row(compose_cached(f"task={t}", f"recipe={r}"))
            for t in params["task"]
            for r in params["recipe"]
        }
        assert {
            "base",
            "transitivity_baseline",
            "dseparation_baseline",
            "transitivity_semantic",
            "dseparation_semantic",
        } <= rows, experiment


@pytest.mark.parametrize("task", TASK_NAMES)
def test_a_run_is_scored_on_the_task_it_trains_on(task):
    assert list(compose_cached(f"task={task}").eval.tasks) == [task]


@pytest.mark.parametrize(
    ("experiment", "task", "scored"),
    [
        ("paper", "dseparation", ["transitivity", "dseparation"]),
        ("paper", "transitivity", ["transitivity"]),
        ("claims", "transitivity", ["transitivity", "dseparation"]),
        ("paper_gemma", "transitivity", ["transitivity", "dseparation"]),
        ("smoke", "common_cause", ["transitivity", "dseparation", "common_cause"]),
    ],
)
def test_the_paper_experiments_score_the_transitivity_suite_too(experiment, task, scored):
    """experiment=paper scores what the paper's tables do: every run on transitivity questions
    (its D-separation V1 row is read off the transitivity files), a d-separation run on its own
    task too. The others score both paper tasks for every run; a run of another task (README
    "Adding a task") is scored on its own as well."""
    assert list(compose_cached(f"experiment={experiment}", f"task={task}").eval.tasks) == scored


def test_claims_trajectory_scores_its_untrained_run_on_dseparation():
    assert _sweep_params("claims_trajectory")["task"] == ["dseparation"]
    cfg = compose_cached("experiment=claims_trajectory", "task=dseparation", "recipe=zero_shot")
    assert not cfg.recipe.train and list(cfg.eval.tasks) == ["dseparation"]
    # paired arms are scored on the same (paper) rows, whatever data a recipe trains on
    for recipe in ("zero_shot", "baseline_balanced", "constraints"):
        cfg = compose_cached("experiment=claims", f"recipe={recipe}")
        assert cfg.eval.data.name == "paper" and not cfg.eval.data.balance


# The paper's rows and one arm of ours in `make test` (two compositions each, ~2 s); the rest: slow.
NAMED_BY_DEFAULT = ("zero_shot", "baseline", "semantic", "cebug")


@pytest.mark.parametrize(
    "recipe",
    [r if r in NAMED_BY_DEFAULT else pytest.param(r, marks=pytest.mark.slow) for r in RECIPES],
)
def test_a_run_is_named_by_task_and_recipe(recipe):
    for task in ("transitivity", "dseparation"):
        cfg = compose_cached(f"task={task}", f"recipe={recipe}")
        assert cfg.recipe.name == recipe and cfg.task.name == task
        assert run_name(cfg) == f"{task}_{recipe}"
        assert paper_row(cfg) == cfg.report.paper_rows.get(task, {}).get(recipe)
    zero_shot = compose_cached("recipe=zero_shot")
    assert (run_name(zero_shot), paper_row(zero_shot)) == ("transitivity_zero_shot", "base")


def _job(task: str, recipe: str | None, name: str, trained: bool, summary_tasks=None) -> Job:
    """A finished run; with no recipe, one recorded before the recipe axis (its name as
    `variant`), else as runs are recorded now (`name`)."""
    summary = {"id_balanced_accuracy": 0.5, "ood_accuracy": 0.5, "adversarial_accuracy": 0.5}
    summary |= {"id_accuracy": 0.5, "ood_balanced_accuracy": 0.5, "ood_f1": 0.5}
    summary |= {"collapsed": False, "id_yes_rate": 0.5}
    result = {"status": "ok", "task": task, "seed": 0, "trained": trained}
    result |= {"name": name, "recipe": recipe} if recipe else {"variant": name}
    return Job(
        path=Path(f"/sweep/{name}"),
        result=result,
        metrics={"summary": {t: summary for t in summary_tasks or [task]}, "splits": {}},
        config={"model": {"name": "m"}},
    )


def test_the_role_is_the_recipe_whatever_the_name():
    jobs = [
        _job(
            "transitivity",
            "zero_shot",
            "transitivity_zero_shot",
            False,
            ["transitivity", "dseparation"],
        ),
        _job("dseparation", "my_new_loss", "a_name_that_says_nothing", True),
    ]
    frame = runs_frame(jobs)
    # an untrained run speaks for its own task only (the other task has its own zero_shot run)
    assert list(zip(frame.role, frame.task, strict=True)) == [
        ("zero_shot", "transitivity"),
        ("my_new_loss", "dseparation"),
    ]


def test_a_run_recorded_before_the_recipe_axis_reads_back():
    jobs = [
        _job("transitivity", None, "base", False, ["transitivity", "dseparation"]),
        _job("dseparation", None, "dseparation_semantic_balanced", True),
    ]
    assert [j.recipe for j in jobs] == ["zero_shot", "semantic_balanced"]
    frame = runs_frame(jobs)
    assert list(zip(frame.role, frame.task, strict=True)) == [
        ("zero_shot", "transitivity"),
        ("zero_shot", "dseparation"),
        ("semantic_balanced", "dseparation"),
    ]


def test_the_report_orders_rows_by_recipe_then_task():
    jobs = [
        _job("dseparation", "zz_new", "dseparation_zz_new", True),
        _job("dseparation", "semantic", "dseparation_semantic", True),
        _job("transitivity", "semantic", "transitivity_semantic", True),
        _job("dseparation", "baseline", "dseparation_baseline", True),
        _job("dseparation", "zero_shot", "dseparation_zero_shot", False),
        _job("transitivity", "zero_shot", "transitivity_zero_shot", False),
    ]
    assert list(headline_table(jobs)["arm"]) == [
        "transitivity_zero_shot",
        "dseparation_zero_shot",
        "dseparation_baseline",
        "transitivity_semantic",
        "dseparation_semantic",
        "dseparation_zz_new",
    ]


def test_a_trained_run_not_scored_on_its_own_task_shows_no_numbers():
    """Never another task's levels under a trained run's name (eval.tasks left its task out)."""
    jobs = [
        _job("transitivity", "baseline", "transitivity_baseline", True, ["dseparation"]),
        _job("transitivity", "zero_shot", "transitivity_zero_shot", False, ["dseparation"]),
    ]
    table = headline_table(jobs).set_index("arm")
    assert table.loc["transitivity_baseline", "task"] == "transitivity"
    assert pd.isna(table.loc["transitivity_baseline", "id_accuracy"])
    assert pd.isna(table.loc["transitivity_baseline", "collapse_rate"])
    # untrained: the task it was scored on, under its own name
    assert table.loc["transitivity_zero_shot", "task"] == "dseparation"
    assert table.loc["transitivity_zero_shot", "id_accuracy"] == 50.0


def test_the_paper_sweep_launches_its_longest_jobs_first():
    """experiment=paper's jobs in the order Hydra's basic sweeper launches them (the product of
    its params, first key outermost): the trainings first, longest (d-separation) first, the
    scoring-only zero-shot runs last, and each seed's dseparation_zero_shot before its
    transitivity_zero_shot, which then reads the same backbone's margins from eval.cache."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = _sweep_params("paper")
    overrides = OverridesParser.create().parse_overrides(
        [f"{key}={','.join(values)}" for key, values in params.items()]
    )
    jobs = [
        dict(o.split("=", 1) for o in job)
        for job in BasicSweeper.split_arguments(overrides, None)[0]
    ]
    order = list(dict.fromkeys((j["task"], j["recipe"]) for j in jobs))
    assert order == [
        ("dseparation", "semantic"),
        ("dseparation", "baseline"),
        ("dseparation", "zero_shot"),
        ("transitivity", "semantic"),
        ("transitivity", "baseline"),
        ("transitivity", "zero_shot"),
    ]
    assert [j["recipe"] for j in jobs[-3:]] == ["zero_shot"] * 3
    position = {(j["task"], j["recipe"], j["seed"]): i for i, j in enumerate(jobs)}
    for seed in params["seed"]:
        first = position["dseparation", "zero_shot", seed]
        assert first < position["transitivity", "zero_shot", seed]
