"""What the report counts: a row is one arm (the runs whose configs differ only in the seed), a
repeated run counts once, a job that never finished or scored nothing is reported as such, and
every trained arm is held against the surface heuristic with one collapse rule. Built from real
run files (docs/results/claims_full/runs), copied and edited the way a user's sweeps differ."""

from __future__ import annotations

import json
import shutil

import pytest

from causal_semloss.errors import UserError
from causal_semloss.report import sweep as sweep_module
from causal_semloss.report.arms import assign_arms
from causal_semloss.report.heuristic import AT, BELOW, BEYOND, CONSTANT, heuristic_table, label
from causal_semloss.report.runs import runs_frame
from causal_semloss.report.settings import report_config
from causal_semloss.report.sweep import load_sweep, load_sweeps
from causal_semloss.report.tables import (
    baseline_table,
    failed_summary,
    failed_table,
    headline_table,
    per_split_table,
)
from causal_semloss.report.verdicts import Interval
from tests.conftest import REPO

RUNS = REPO / "docs/results/claims_full/runs"


def _copy(sweep, run: str, name: str | None = None, edit=None):
    """Copy a committed run into `sweep` (as `name`); `edit(config)` changes its config.json."""
    dest = sweep / (name or run)
    shutil.copytree(RUNS / run, dest)
    if edit:
        config = json.loads((dest / "config.json").read_text())
        edit(config)
        (dest / "config.json").write_text(json.dumps(config))
    return dest


def _jobs(sweep):
    jobs = load_sweep(sweep)
    return assign_arms(jobs, list(report_config(jobs).same_arm_ignores))


def _rows(headline, task="transitivity"):
    return headline[headline.task == task].set_index("arm")


def test_runs_at_two_learning_rates_are_two_rows_named_by_what_differs(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0", "a")
    _copy(tmp_path, "transitivity_semantic_0", "b", lambda c: c["train"].update(lr=0.001))
    jobs, notes = _jobs(tmp_path)
    rows = _rows(headline_table(jobs))
    assert len(rows) == 2 and not notes
    assert set(rows.seeds_ok) == {1}
    assert set(rows.index) == {
        "transitivity_semantic [train.lr=0.0003]",
        "transitivity_semantic [train.lr=0.001]",
    }


def test_a_repeated_config_and_seed_counts_once(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0", "a")
    _copy(tmp_path, "transitivity_semantic_0", "b")
    jobs, notes = _jobs(tmp_path)
    assert len(jobs) == 1 and len(notes) == 1 and "counted once" in notes[0]
    assert _rows(headline_table(jobs)).seeds_ok.tolist() == [1]


def test_a_rerun_of_an_older_run_is_a_repeat_once_the_keys_only_it_has_are_set_aside(tmp_path):
    """The same arm and seed run again by a newer suite, whose config holds a key the old run's
    lacks (claims_controls rerunning claims_full's `cebug` seed 0): one run of that seed, in the
    headline and in the claims frame alike (a second seed 0 broke the paired differences)."""
    _copy(tmp_path, "transitivity_semantic_0", "a_old")
    _copy(tmp_path, "transitivity_semantic_1", "b_old")
    _copy(tmp_path, "transitivity_semantic_0", "c_new", lambda c: c["train"].update(added_later=1))
    jobs, notes = _jobs(tmp_path)
    assert len(jobs) == 2 and len(notes) == 1 and "counted once" in notes[0]
    assert notes[0].startswith(str(tmp_path / "c_new"))  # the later one is left out
    assert _rows(headline_table(jobs)).seeds_ok.tolist() == [2]
    assert sorted(runs_frame(jobs).seed) == [0, 1]


def test_of_two_copies_of_a_run_the_one_with_the_finer_trajectory_is_drawn(tmp_path):
    """claims_controls reran claims_full's `cebug` and `semantic` seeds with a probe every 10k
    examples: either copy counts the seed once, but only the rerun's trajectory times an escape
    to 10k. The richer record is kept (scores and all), wherever it sits."""

    def finer(run_dir):
        train = json.loads((run_dir / "train_metrics.json").read_text())
        train["trajectory"] = train["trajectory"] + train["trajectory"]
        (run_dir / "train_metrics.json").write_text(json.dumps(train))

    _copy(tmp_path, "transitivity_semantic_0", "a_old")
    finer(_copy(tmp_path, "transitivity_semantic_0", "b_new"))
    jobs, notes = _jobs(tmp_path)
    assert [job.path.name for job in jobs] == ["b_new"]
    assert len(notes) == 1 and "counted once" in notes[0] and "richer" in notes[0]


def test_a_constant_lambda_control_is_its_own_row_beside_the_scheduled_arm(tmp_path):
    for seed in range(3):
        _copy(tmp_path, f"transitivity_semantic_{seed}")
    constant = '"constant(0.3)"'
    _copy(
        tmp_path,
        "transitivity_semantic_0",
        "constant_0",
        lambda c: c["loss"].update(schedule="constant(0.3)"),
    )
    jobs, _ = _jobs(tmp_path)
    rows = _rows(headline_table(jobs))
    assert rows.loc["transitivity_semantic", "seeds_ok"] == 3  # the recipe's own arm: unnamed
    assert rows.loc["transitivity_semantic [loss.schedule=constant(0.3)]", "seeds_ok"] == 1
    assert constant not in " ".join(rows.index)
    frame = runs_frame(jobs)
    assert set(frame.role) == {"semantic", "semantic [loss.schedule=constant(0.3)]"}


def test_where_and_how_a_run_was_written_does_not_make_another_arm(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0")
    _copy(
        tmp_path,
        "transitivity_semantic_1",
        edit=lambda c: (
            c["runtime"].update(device="cuda", threads=4),
            c["paths"].update(data_root="x"),
        ),
    )
    jobs, _ = _jobs(tmp_path)
    assert _rows(headline_table(jobs)).seeds_ok.tolist() == [2]


def test_a_killed_job_is_missing_and_the_sweep_incomplete(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0", "0")
    killed = _copy(tmp_path, "transitivity_semantic_1", "1")
    (killed / "result.json").unlink()
    (killed / "metrics.json").unlink()
    jobs = load_sweep(tmp_path)
    line = failed_summary(jobs)
    assert line.startswith("1 job finished, none failed") and "INCOMPLETE: 1 job missing" in line
    assert "missing" in failed_table(jobs).error.iloc[0]
    assert _rows(headline_table(jobs)).seeds_ok.tolist() == [1]


def test_jobs_a_sweep_listed_but_never_started_are_missing(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0", "0")
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    params:\n      seed: 0,1,2\n  overrides:\n    task: []\n"
    )
    line = failed_summary(load_sweep(tmp_path))
    assert "INCOMPLETE: 2 jobs missing" in line


def test_a_job_that_scored_no_row_is_failed_not_counted(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0", "0")
    empty = _copy(tmp_path, "transitivity_semantic_1", "1")
    metrics = json.loads((empty / "metrics.json").read_text())
    (empty / "metrics.json").write_text(json.dumps({**metrics, "summary": {}, "splits": {}}))
    jobs = load_sweep(tmp_path)
    assert [j.ok for j in jobs] == [True, False]
    assert "scored no row" in failed_summary(jobs)
    assert _rows(headline_table(jobs)).seeds_ok.tolist() == [1]


@pytest.mark.parametrize("text", ["[]", "{}", '{"variant": "x"}', "3"])
def test_a_malformed_result_json_is_a_failed_job_by_reason(tmp_path, text):
    _copy(tmp_path, "transitivity_semantic_0", "0")
    bad = _copy(tmp_path, "transitivity_semantic_1", "1")
    (bad / "result.json").write_text(text)
    jobs = load_sweep(tmp_path)
    assert "malformed result.json" in failed_summary(jobs)
    runs_frame(jobs), headline_table(jobs), failed_table(jobs)  # no KeyError


def test_the_job_search_is_bounded(tmp_path, monkeypatch):
    _copy(tmp_path, "transitivity_semantic_0", "0")
    for i in range(30):
        (tmp_path / "junk" / str(i)).mkdir(parents=True)
    monkeypatch.setattr(sweep_module, "MAX_DIRS", 10)
    with pytest.raises(UserError, match="directories searched"):
        load_sweeps([tmp_path])


def test_every_task_has_its_trivial_baselines_whichever_job_comes_first(tmp_path):
    _copy(tmp_path, "dseparation_baseline_0", "0")  # first in path order
    _copy(tmp_path, "transitivity_semantic_0", "1")
    _copy(tmp_path, "transitivity_semantic_1", "2")
    baselines = baseline_table(load_sweep(tmp_path))
    trans = baselines[(baselines.task == "transitivity") & (baselines.baseline == "direct_link")]
    assert set(trans.split) >= {"test", "length", "adversarial"}
    assert (trans.seeds == 2).all()  # each seed's own rows, averaged


def test_true_yes_rate_is_the_mean_over_the_seeds_rows(tmp_path):
    for seed in range(4):
        _copy(tmp_path, f"dseparation_baseline_{seed}")
    per_split = per_split_table(load_sweep(tmp_path)).set_index("split")
    rates = [
        100 * e["true_yes"] / e["n"]
        for e in (
            json.loads((RUNS / f"dseparation_baseline_{s}/metrics.json").read_text())["splits"][
                "dseparation/length"
            ]
            for s in range(4)
        )
    ]
    assert len(set(rates)) > 1  # the seeds' rows differ
    assert per_split.loc["length", "true_yes_rate"] == pytest.approx(sum(rates) / 4)
    assert per_split.loc["length", "true_yes_rate_min"] == pytest.approx(min(rates))


def test_the_headline_and_the_claims_use_one_collapse_rule(tmp_path):
    for seed in range(5):
        _copy(tmp_path, f"transitivity_semantic_{seed}")
    jobs = load_sweep(tmp_path)
    frame = runs_frame(jobs)
    rate = _rows(headline_table(jobs)).loc["transitivity_semantic", "collapse_rate"]
    assert rate == pytest.approx(100 * frame.collapsed.mean())
    assert rate == pytest.approx(20.0)  # one seed collapses on an informative OOD split


def test_the_scheduled_rescue_is_held_against_the_heuristic(tmp_path):
    for seed in range(5):
        _copy(tmp_path, f"transitivity_semantic_{seed}")
    jobs = load_sweep(tmp_path)
    table = heuristic_table(runs_frame(jobs), report_config(jobs).claims).set_index("measure")
    ood = table.loc["OOD balanced accuracy (mean over the OOD splits)"]
    assert ood.seeds == 5 and ood.label == AT
    assert ood.difference == pytest.approx(0.5, abs=0.05)
    assert table.loc["ID balanced accuracy"].label == BEYOND


def test_a_collapsed_arm_is_never_beyond_the_heuristic_on_a_one_class_split(tmp_path):
    """Transitivity's length split is all Yes: an always-Yes run scores 100 there and the
    heuristic 19, so by the heuristic alone it read as "beyond the heuristic"."""
    for seed in range(5):
        _copy(tmp_path, f"transitivity_baseline_{seed}")  # always-Yes in every seed
    jobs = load_sweep(tmp_path)
    table = heuristic_table(runs_frame(jobs), report_config(jobs).claims).set_index("measure")
    length = table.loc["length balanced accuracy"]
    assert length.run > length.heuristic + 50  # what made it read as beyond
    assert length.constant == pytest.approx(length.run, abs=3)
    assert length.label == CONSTANT
    assert (table.label == CONSTANT).all()  # no split where it beats a constant answer


def test_heuristic_labels():
    assert label(Interval(5.0, 1.0, 9.0, 3), 2.0) == BEYOND
    assert label(Interval(-5.0, -9.0, -1.0, 3), 2.0) == BELOW
    assert label(Interval(1.0, -3.0, 5.0, 3), 2.0) == AT
    assert label(Interval(1.0, None, None, 1), 2.0).startswith(AT + " (one seed")
    assert label(Interval(3.0, None, None, 1), 2.0).startswith(BEYOND)


def test_a_setting_added_after_some_runs_ran_does_not_split_their_arm(tmp_path):
    _copy(tmp_path, "transitivity_semantic_0")
    _copy(
        tmp_path,
        "transitivity_semantic_1",
        edit=lambda c: c["eval"].update(collapse_min_answers=20),
    )
    jobs, _ = _jobs(tmp_path)
    assert _rows(headline_table(jobs)).seeds_ok.tolist() == [2]


@pytest.mark.parametrize("recorded", ["name", "variant"])
def test_one_recipe_on_two_tasks_has_one_name_pattern_with_the_paper_row_beside(tmp_path, recorded):
    """The untrained backbone on each task is `<task>_zero_shot` in the headline and the
    heatmap (never the paper's row name on one task and ours on the other); the paper's row
    stands beside it, found by the run's `paper_row` — or, in a result.json written before
    that field (only `variant`, e.g. "base": the committed runs), by its task and recipe."""
    import pandas as pd

    from causal_semloss.report.build import build_report

    sweep = tmp_path / "sweep"
    for run in ("transitivity_zero_shot_0", "dseparation_zero_shot_0"):
        dest = _copy(sweep, run)
        result = json.loads((dest / "result.json").read_text())
        assert "variant" in result and "name" not in result  # as committed
        if recorded == "name":
            row = {"transitivity": "base"}.get(result["task"])
            result = {k: v for k, v in result.items() if k != "variant"}
            result |= {"name": f"{result['task']}_{result['recipe']}", "paper_row": row}
            (dest / "result.json").write_text(json.dumps(result))
    out = tmp_path / "out"
    build_report([sweep], out)
    headline = pd.read_csv(out / "headline.csv")
    names = ["transitivity_zero_shot", "dseparation_zero_shot"]
    assert list(headline["arm"]) == names
    assert headline["paper_row"].iloc[0] == "Standard Gemma 270M-IT"
    assert headline["paper_standard"].iloc[0] == 70.1
    assert headline[["paper_row", "paper_standard"]].iloc[1].isna().all()
    heatmap = pd.read_csv(out / "balanced_accuracy_heatmap.csv")
    assert list(dict.fromkeys(heatmap[heatmap.source == "ours"]["row"])) == names
    assert "paper: Standard Gemma 270M-IT" in set(heatmap["row"])
    per_split = pd.read_csv(out / "per_split.csv").set_index(["arm", "split"])
    assert per_split.loc[("transitivity_zero_shot", "length"), "paper_accuracy"] == 57.2
    assert set(pd.read_csv(out / "runs.csv")["role"]) == {"zero_shot"}  # claims: by recipe


def test_an_untrained_run_from_before_the_recipe_axis_is_named_by_the_task_it_scored(tmp_path):
    """Such a run recorded the default task (`variant` "base", task transitivity) but was scored
    on d-separation only: it is that task's untrained row, and the paper's transitivity row
    ("base") is not put beside it."""
    shutil.copytree(REPO / "docs/results/claims_trajectory/runs/0", tmp_path / "0")
    result = json.loads((tmp_path / "0" / "result.json").read_text())
    assert (result["variant"], result["task"], "recipe" in result) == (
        "base",
        "transitivity",
        False,
    )
    jobs, _ = _jobs(tmp_path)
    row = headline_table(jobs).iloc[0]
    assert (row["arm"], row["task"], row["paper_row"]) == (
        "dseparation_zero_shot",
        "dseparation",
        None,
    )


def test_claim_2b_says_whether_the_escaped_runs_learned_beyond_the_heuristic(tmp_path):
    from causal_semloss.report.claims import claims_table
    from causal_semloss.report.verdicts import VERDICTS, beyond_heuristic_verdict

    for recipe in ("baseline", "semantic"):
        for seed in range(5):
            _copy(tmp_path, f"transitivity_{recipe}_{seed}")
    jobs, _ = _jobs(tmp_path)
    table = claims_table(runs_frame(jobs), report_config(jobs).claims)
    row = table[table.claim.str.startswith("2b.")].iloc[0]
    assert row.n == 4 and "4/5 semantic runs not collapsed" in row.statistic
    assert row.verdict == "inconclusive" and row.verdict in VERDICTS  # CI holds 0 and +δ
    assert "OOD: at heuristic level" in row.statistic
    assert beyond_heuristic_verdict(Interval(5.0, 1.0, 9.0, 3), 2.0) == "confirmed"
    assert beyond_heuristic_verdict(Interval(0.0, -3.0, 1.5, 3), 2.0) == "refuted"
    assert beyond_heuristic_verdict(Interval(5.0, None, None, 1), 2.0) == "no verdict"


def test_the_report_refuses_the_file_system_root_before_searching_it(capsys):
    from causal_semloss.report.build import main

    with pytest.raises(SystemExit) as stop:
        main(["/"])
    assert stop.value.code == 2
    assert "not a sweep" in capsys.readouterr().err
