"""The trajectory probe: the trained task's splits scored at fixed examples seen, kept in
train_metrics.json and across a resume, and read back by the report."""

from __future__ import annotations

import pytest

from causal_semloss.evaluate.trajectory import probe_factory, probe_steps
from causal_semloss.report.sweep import Job
from causal_semloss.report.trajectory import aggregate, trajectory_frame, trajectory_summary
from causal_semloss.train.finetune import train
from causal_semloss.train.trainer import TrainingInterrupted
from tests.conftest import TINY_DATA, TINY_MODEL, compose_cfg

TRAIN = [
    "train.max_steps=8",
    "train.batch_size=8",
    "train.val_size=16",
    "train.eval_steps=100",
    "train.checkpoint_steps=100",
    "train.warmup_steps=2",
    "logger=none",
    "task=dseparation",
    "train.trajectory.examples=[0,8,40,1000]",
    "train.trajectory.max_examples=10",
    "eval.splits=[test,length,branching]",
]


def _cfg(tmp_path, *overrides):
    return compose_cfg(
        [*TINY_DATA, *TINY_MODEL, *TRAIN, f"paths.data_root={tmp_path / 'data'}", *overrides]
    )


def test_probe_steps_round_up_and_drop_points_past_the_end():
    assert probe_steps([0, 8, 40, 1000], per_step=8, total_steps=8) == (0, 1, 5)
    assert probe_steps([1, 9], per_step=8, total_steps=100) == (1, 2)


def test_no_points_no_probe(tmp_path):
    assert probe_factory(_cfg(tmp_path, "train.trajectory.examples=[]")) is None


def test_points_are_recorded_and_survive_a_resume(tmp_path):
    cfg = _cfg(tmp_path)
    full = train(cfg, tmp_path / "full", probe_factory=probe_factory(cfg))["trajectory"]
    assert sorted({(r["step"], r["examples"]) for r in full}) == [(0, 0), (1, 8), (5, 40)]
    assert {r["set"] for r in full} == {f"dseparation/{s}" for s in ("test", "length", "branching")}
    for row in full:
        assert row["n"] == 10 and 0 <= row["yes_rate"] <= 1
        # 10 answers are below eval.collapse_min_answers: the collapse is unknown, not judged
        assert cfg.eval.collapse_min_answers > 10 and row["collapsed"] is None
    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "resumed", interrupt_at=3, probe_factory=probe_factory(cfg))
    resumed = train(cfg, tmp_path / "resumed", probe_factory=probe_factory(cfg))
    assert resumed["resumed"] and resumed["trajectory"] == full


def _job(tmp_path, seed, role, points, final_yes):
    def split_entry(yes):
        return {
            "n": 100,
            "yes_rate": yes,
            "true_yes": 20,
            "balanced_accuracy": 0.5,
            "mcc": 0.0,
        }

    return Job(
        path=tmp_path / f"{role}{seed}",
        result={
            "status": "ok",
            "variant": f"dseparation_{role}",
            "recipe": role,
            "task": "dseparation",
            "trained": True,
            "seed": seed,
            "model": "m",
        },
        metrics={
            "splits": {"dseparation/test": split_entry(final_yes)},
            "summary": {"dseparation": {}},
        },
        train_metrics={
            "examples_seen": 64,
            "trajectory": [
                {
                    "step": e // 32,
                    "examples": e,
                    "set": "dseparation/test",
                    "n": 100,
                    "yes_rate": y,
                    "true_yes_rate": 0.5,
                    "balanced_accuracy": 0.5,
                    "mcc": 0.0,
                    "collapsed": max(y, 1 - y) >= 0.95,
                }
                for e, y in points
            ],
        },
        config={"model": {"name": "m"}},
    )


def test_report_keeps_the_full_split_score_where_a_probe_point_meets_the_end(tmp_path):
    jobs = [
        _job(tmp_path, 0, "baseline", [(0, 1.0), (32, 0.0), (64, 0.5)], final_yes=0.0),
        _job(tmp_path, 1, "baseline", [(0, 1.0), (32, 0.5)], final_yes=0.5),
    ]
    frame = trajectory_frame(jobs, lambda job: 0.95)
    agg = aggregate(frame).set_index("examples")
    assert agg.loc[64, "n"] == 100 and agg.loc[64, "final"]  # the full split, not the probe
    assert agg.loc[64, "yes_rate"] == pytest.approx(25.0)  # mean of 0% and 50%
    assert agg.loc[0, "collapsed_seeds"] == 2 and agg.loc[32, "collapsed_seeds"] == 1
    summary = trajectory_summary(frame).set_index("examples")
    assert summary.loc[64, "collapsed"] == 1 and summary.loc[64, "of"] == 2


def test_the_answer_weight_is_drawn_beside_the_trajectory(tmp_path):
    from causal_semloss.report.answer_weight import answer_weight_frame
    from causal_semloss.report.trajectory import trajectory_frame, trajectory_plots

    jobs = [_job(tmp_path, seed, "semantic", [(0, 0.9), (32, 0.5)], 0.5) for seed in (0, 1)]
    for job, weights in zip(jobs, ([2.0, 4.0], [3.0, 5.0]), strict=True):
        job.train_metrics["history"] = {"step": [1, 2], "answer_weight": weights}
        job.config["train"] = {"batch_size": 32, "grad_accum": 1}
    weights = answer_weight_frame(jobs)
    assert weights.set_index("examples")["answer_weight"].to_dict() == {32: 2.5, 64: 4.5}
    frame = trajectory_frame(jobs, lambda job: 0.95)
    (tmp_path / "a").mkdir()
    without = trajectory_plots(frame, tmp_path / "a", None)[0]
    (tmp_path / "b").mkdir()
    with_weights = trajectory_plots(frame, tmp_path / "b", None, weights)[0]
    from PIL import Image

    assert Image.open(with_weights).height > Image.open(without).height  # the extra row
