"""The W&B dashboard as code: the spec from a synthetic sweep on disk (fast), bad input (one
error line, exit 2, nothing written), and on a real smoke sweep every key a panel reads logged
by every job (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causal_semloss.dashboard.__main__ import SPEC_FILE, main
from causal_semloss.dashboard.offline_runs import read_run, run_files
from causal_semloss.dashboard.spec import PARALLEL_CONFIG, dashboard_plan
from causal_semloss.report.sweep import load_sweep
from causal_semloss.schema import ALL_SPLITS
from tests.conftest import run_cli

TASKS = ("transitivity", "dseparation")
SPLIT = {"n": 10, "accuracy": 0.5, "balanced_accuracy": 0.5, "mcc": 0.0, "yes_rate": 0.4}


def _job(sweep: Path, n: int, recipe: str, seed: int, wandb_files: bool = True) -> Path:
    job = sweep / str(n)
    job.mkdir(parents=True)
    splits = {f"{t}/{s}": {**SPLIT, "true_yes": 5} for t in TASKS for s in ALL_SPLITS}
    metrics = {
        "splits": splits,
        "summary": {t: {"id_accuracy": 0.5, "ood_mcc": 0.0} for t in TASKS},
        "baselines": {b: dict(splits) for b in ("always_yes", "always_no")},
    }
    history = {"step": [5], "ce": [0.7], "lambda": [0.1], "loss": [0.7], "lr": [1e-3]}
    history["sem/oracle_answer"] = [0.6]
    config = {
        "recipe": {"name": recipe, "train": recipe != "zero_shot"},
        "seed": seed,
        "logger": {"name": "wandb", "mode": "offline", "project": "p", "entity": None},
    }
    files = {
        "result.json": {
            "status": "ok",
            "name": f"transitivity_{recipe}",
            "task": "transitivity",
            "recipe": recipe,
            "seed": seed,
        },
        "metrics.json": metrics,
        "config.json": config,
    }
    if recipe != "zero_shot":
        files["train_metrics.json"] = {"history": history, "validation": []}
    for name, obj in files.items():
        (job / name).write_text(json.dumps(obj))
    if wandb_files:
        run = job / "wandb" / "offline-run-20261130_000000-abc" / "run-abc.wandb"
        run.parent.mkdir(parents=True)
        run.write_bytes(b":W&B\xe1\xbe\x00")
    return job


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "multirun" / "2026-11-30" / "06-00-00"
    for n, (recipe, seed) in enumerate([("zero_shot", 0), ("semantic", 0)]):
        _job(root, n, recipe, seed)
    return root


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_plan_has_every_section_and_panel_key(sweep):
    plan = dashboard_plan(load_sweep(sweep))
    assert plan.groups == ["2026-11-30_06-00-00"] and plan.project == "p"
    titles = list(plan.sections)
    assert titles[0].startswith("Collapse at a glance")
    assert any(t.startswith("Balanced accuracy") for t in titles)
    assert any(t.startswith("MCC") for t in titles) and "Training" in titles
    summary = plan.summary_keys()
    for task in TASKS:
        for split in ALL_SPLITS:
            assert f"eval/{task}/{split}/yes_rate" in summary
            assert f"eval/{task}/{split}/true_yes_rate" in summary
            assert f"baseline/{task}/{split}/always_no/mcc" in summary
    assert {"eval/own/id_mcc", "eval/own/ood_mcc", "eval/own/collapsed_splits"} <= summary
    history = plan.history_keys()
    assert {"train/ce", "train/sem/oracle_answer", "train/lambda", "val/yes_rate"} <= history
    assert "val/examples_seen" in history


def test_the_answer_tokens_logged_weight_gets_a_panel_where_runs_logged_it(sweep):
    """The re-weighting a λ·L_sem term does, seen on the dashboard beside λ (issue #23 §1)."""
    assert "train/answer_weight" not in dashboard_plan(load_sweep(sweep)).history_keys()
    path = sweep / "1" / "train_metrics.json"
    train = json.loads(path.read_text())
    train["history"] |= {"answer_weight": [9.5], "answer_ce": [0.69]}
    path.write_text(json.dumps(train))
    assert {"train/answer_weight", "train/answer_ce"} <= dashboard_plan(
        load_sweep(sweep)
    ).history_keys()


def test_cli_writes_the_workspace_spec_offline(sweep, capsys, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    main([str(sweep)])
    spec = json.loads((sweep / SPEC_FILE).read_text())
    assert capsys.readouterr().out.startswith("workspace spec:")
    sections = spec["spec"]["section"]["panelBankConfig"]["sections"]
    views = {p["viewType"] for s in sections for p in s["panels"]}
    assert {"Bar Chart", "Run History Line Plot", "Parallel Coordinates Plot"} <= views
    text = json.dumps(spec)
    assert "eval/transitivity/long_names/balanced_accuracy" in text
    assert "val/examples_seen" in text
    run_set = spec["spec"]["section"]["runSets"][0]
    assert run_set["grouping"] == [{"section": "config", "name": "run_name.value"}]
    assert "summary:eval/own/ood_mcc" in run_set["runFeed"]["columnOrder"]


def test_no_finished_job_is_one_error_line(tmp_path, capsys):
    job = _job(tmp_path / "sweep", 0, "zero_shot", 0)
    (job / "result.json").write_text(json.dumps({"status": "failed", "error": "x"}))
    assert "no finished jobs" in _error(capsys, [str(tmp_path / "sweep")])
    assert not (tmp_path / "sweep" / SPEC_FILE).exists()


def test_a_job_without_wandb_files_is_one_error_line(sweep, capsys):
    _job(sweep, 2, "baseline", 0, wandb_files=False)
    line = _error(capsys, [str(sweep), "--out", str(sweep / "out")])
    assert "no W&B run files" in line and "logger=none" in line
    assert not (sweep / "out").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [({}, "WANDB_API_KEY"), ({"WANDB_API_KEY": "x" * 40, "WANDB_MODE": "offline"}, "online")],
)
def test_push_without_key_or_offline_is_one_error_line(sweep, capsys, monkeypatch, env, message):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert message in _error(capsys, [str(sweep), "--push"])
    assert not (sweep / SPEC_FILE).exists()


@pytest.mark.slow
def test_every_panel_key_is_logged_by_every_job(tmp_path):
    """A real smoke sweep with the W&B logger (offline): each job's run file holds every summary
    key a panel reads, and each trained job every history key; the summary run gets tables."""
    sweep = tmp_path / "sweep"
    result = run_cli(
        "causal_semloss.run",
        "-m",
        "experiment=smoke",
        "logger=wandb",
        "eval.max_examples=40",
        f"paths.data_root={tmp_path / 'data'}",
        f"hydra.sweep.dir={sweep}",
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = [j for j in load_sweep(sweep) if j.ok]
    plan = dashboard_plan(jobs)
    assert len(jobs) == 6  # the smoke sweep: 3 recipes x 2 tasks
    for job in jobs:
        (path,) = run_files(job.path)
        run = read_run(path)
        assert run.group in plan.groups
        for dotted in PARALLEL_CONFIG:  # the parallel-coordinates axes read from the config
            head, *rest = dotted.split(".")
            value = run.config[head]
            for part in rest:
                value = value[part]
        missing = plan.summary_keys() - set(run.summary)
        assert not missing, (job.path, sorted(missing)[:10])
        if job.result["trained"]:
            missing = plan.history_keys() - run.history_keys
            assert not missing, (job.path, sorted(missing))
    assert run_cli("causal_semloss.dashboard", str(sweep)).returncode == 0
    assert run_cli("causal_semloss.report", str(sweep)).returncode == 0
    (report_run,) = run_files(sweep)
    logged = {key.split("/")[0] for key in read_run(report_run).summary}  # tables, images
    assert {"headline", "per_split", "runs", "yes_rate", "balanced_accuracy_heatmap"} <= logged


def test_the_dashboard_groups_by_the_key_the_pipeline_logs(tmp_path, monkeypatch):
    """Each job's W&B config carries its name (`<task>_<recipe>`, the report's row name) under
    the key the dashboard groups by; the W&B run is named by it too."""
    from causal_semloss import pipeline
    from causal_semloss.dashboard.spec import GROUP_BY, RUNS_TABLE
    from tests.conftest import TINY_DATA, compose_cached

    logged = {}

    class Recorder:
        def summary(self, metrics):
            pass

        def finish(self):
            pass

    def make_logger(cfg, out_dir, **kwargs):
        logged.update(kwargs)
        return Recorder()

    def no_backbone(*args, **kwargs):
        raise RuntimeError("stopped after the logger started")  # the job fails, fast

    monkeypatch.setattr(pipeline, "make_logger", make_logger)
    monkeypatch.setattr(pipeline, "prepare_backbone", no_backbone)
    cfg = compose_cached(*TINY_DATA, "logger=none", "task=transitivity", "recipe=zero_shot")
    result = pipeline.run_job(cfg, tmp_path / "job")
    assert result["status"] == "failed" and "stopped after" in result["error"]
    assert result["name"] == "transitivity_zero_shot" and result["paper_row"] == "base"
    assert logged["config"][GROUP_BY] == result["name"]
    assert logged["config"]["paper_row"] == "base"
    assert logged["job_type"] == result["name"] and logged["name"] == f"{result['name']}-s0"
    assert f"config:{GROUP_BY}.value" in RUNS_TABLE
