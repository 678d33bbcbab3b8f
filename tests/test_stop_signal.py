"""A sweep stopped by a signal in training names that signal in its stop line, as the README
shows (`stopped by SIGTERM; resume with: ...`): the trainer, which catches the signal there,
passes it on."""

from __future__ import annotations

import os
import signal

import pytest

from causal_semloss.sweep_stop import SweepInterrupted, run_stoppable, stop_scope
from causal_semloss.train.trainer import TrainingInterrupted
from tests.conftest import TINY_DATA, TINY_MODEL, compose_cfg


def test_a_stop_in_training_reports_its_signal():
    def job():
        raise TrainingInterrupted("interrupted at step 3/8", signum=signal.SIGTERM)

    with stop_scope() as stopped:
        with pytest.raises(SweepInterrupted):
            run_stoppable(job, "hydra.sweep.dir=/sweep")
        report = stopped()
    assert report.signal_name == "SIGTERM"
    assert report.resume_override == "hydra.sweep.dir=/sweep"


def test_the_trainer_passes_the_signal_it_caught(tmp_path, monkeypatch):
    from causal_semloss.train import trainer
    from causal_semloss.train.finetune import train

    real = trainer.compute_loss
    calls = {"n": 0}

    def signalled(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)  # caught by the trainer: checkpoint, stop
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "compute_loss", signalled)
    cfg = compose_cfg(
        [
            *TINY_DATA,
            *TINY_MODEL,
            "model.pretrain.steps=0",
            "train.max_steps=6",
            "train.batch_size=8",
            "train.val_size=16",
            "logger=none",
            f"paths.data_root={tmp_path / 'data'}",
        ]
    )
    with pytest.raises(TrainingInterrupted) as stop:
        train(cfg, tmp_path / "run")
    assert stop.value.signum == signal.SIGINT
    assert (tmp_path / "run" / "checkpoint.pt").exists()
