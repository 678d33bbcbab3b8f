"""Nothing trains to a NaN model: non-finite or nonsensical optimiser settings are refused at
start-up, and a loss that turns non-finite in training stops it — no model, no NaN checkpoint,
and through `run` a `failed` job with the reason (never `collapsed`)."""

from __future__ import annotations

import json

import pytest
import torch

from causal_semloss.errors import ConfigError
from causal_semloss.train.loop import LoopPlan, TrainingDiverged, optimise
from causal_semloss.train.schedules import parse_schedule
from tests.conftest import QUICK_EVAL, TINY_DATA, TINY_MODEL, compose_cached, compose_cfg

FAST_TRAIN = [
    "model.pretrain.steps=0",  # a random from-config model: no pre-training stage
    "train.max_steps=8",
    "train.batch_size=8",
    "train.val_size=16",
    "train.eval_steps=100",
    "train.log_steps=100",
    "train.checkpoint_steps=3",
    "train.warmup_steps=0",
    "logger=none",
]


def _cfg(data_root, *overrides):
    return compose_cached(
        *TINY_DATA, *TINY_MODEL, *FAST_TRAIN, f"paths.data_root={data_root}", *overrides
    )


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("train.lr=inf", "train.lr"),
        ("train.lr=nan", "train.lr"),
        ("train.grad_clip=nan", "train.grad_clip"),
        ("train.grad_clip=-1", "train.grad_clip"),
        ("train.grad_clip=0", "train.grad_clip"),
        ("train.grad_clip=inf", "train.grad_clip"),
        ("train.weight_decay=inf", "train.weight_decay"),
        ("train.betas=[0.9,nan]", "train.betas"),
        ("train.betas=[0.9,1.0]", "train.betas"),
        ("model.pretrain.lr=inf", "model.pretrain"),
        ("model.pretrain.grad_clip=nan", "model.pretrain.grad_clip"),
        ("model.pretrain.weight_decay=-1", "model.pretrain.weight_decay"),
    ],
)
def test_nonfinite_or_negative_optimiser_settings_are_refused_at_start_up(override, key):
    with pytest.raises(ConfigError, match=f"config {key}"):
        compose_cfg([override])


@pytest.mark.parametrize(
    "spec",
    ["constant(nan)", "constant(inf)", "linear(0.05,inf)", "cosine(nan,0.3)", "step(0,nan,0.5)"],
)
def test_nonfinite_schedule_values_are_refused(spec):
    with pytest.raises(ConfigError, match="finite"):
        parse_schedule(spec)


@pytest.mark.parametrize(
    "override",
    ['loss.schedule="constant(nan)"', "loss.term_options.premise_consistency.margin_scale=inf"],
)
def test_train_refuses_nonfinite_loss_settings_before_training(data_root, tmp_path, override):
    from causal_semloss.train.finetune import train

    with pytest.raises(ConfigError, match="finite"):
        train(_cfg(data_root, override), tmp_path / "run")
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def _linear_run(nan_from: int | None, total: int = 6, log_steps: int = 100, after_step=None):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    logged = []

    def accumulate(step: int) -> dict:
        loss = torch.nn.functional.mse_loss(model(x), y)
        if nan_from is not None and step >= nan_from:
            loss = loss * float("nan")
        loss.backward()
        return {"loss": loss.detach()}

    done = optimise(
        model,
        optimizer,
        LoopPlan(total, log_steps, 100, 1.0, "test"),
        start=0,
        lr_at=lambda step: 0.1,
        accumulate=accumulate,
        on_log=lambda d, values: logged.append((d, values["loss"])),
        after_step=after_step,
    )
    return done, logged


def test_the_loop_stops_on_a_nonfinite_loss_and_names_the_step():
    with pytest.raises(TrainingDiverged, match=r"not finite .* step 3"):
        _linear_run(nan_from=2)
    assert _linear_run(nan_from=None)[0] == 6  # a finite run is unchanged


def test_the_loop_stops_even_between_log_steps():
    """Losses are read back only on log steps; a NaN in between is still caught by the end."""
    with pytest.raises(TrainingDiverged, match="step 5"):
        _linear_run(nan_from=4, total=6, log_steps=100)


def _nan_loss_after(monkeypatch, step: int) -> None:
    """Every loss from optimisation step `step` (0-based) on is NaN."""
    from causal_semloss.train import trainer

    real = trainer.compute_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        parts = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] > step:
            parts.total = parts.total * float("nan")
        return parts

    monkeypatch.setattr(trainer, "compute_loss", poisoned)


def test_a_nan_loss_stops_training_without_a_model_or_a_nan_checkpoint(
    data_root, tmp_path, monkeypatch
):
    from causal_semloss.train.finetune import train

    _nan_loss_after(monkeypatch, 4)  # steps 1-4 finite; checkpoint at 3, the next one at 6
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="not finite"):
        train(_cfg(data_root), out)
    assert not (out / "model").exists()
    assert not (out / "train_metrics.json").exists()
    saved = torch.load(out / "checkpoint.pt", weights_only=False)
    assert saved["step"] == 3  # the step-6 checkpoint would have held NaN weights
    assert all(torch.isfinite(t).all() for t in saved["model"].values())


def test_a_diverged_job_is_failed_with_the_reason_not_collapsed(data_root, tmp_path, monkeypatch):
    from causal_semloss.pipeline import run_job

    _nan_loss_after(monkeypatch, 1)
    cfg = _cfg(data_root, "recipe=baseline", *QUICK_EVAL)
    result = run_job(cfg, tmp_path / "job")
    assert result["status"] == "failed"
    assert "TrainingDiverged" in result["error"] and "not finite" in result["error"]
    assert "summary" not in result
    saved = json.loads((tmp_path / "job" / "result.json").read_text())
    assert saved["status"] == "failed"
    assert not (tmp_path / "job" / "model").exists()


def test_the_train_cli_reports_divergence_in_one_line(data_root, tmp_path, monkeypatch, capsys):
    from causal_semloss.train.__main__ import run_training

    _nan_loss_after(monkeypatch, 1)
    with pytest.raises(SystemExit) as stop:
        run_training(_cfg(data_root), str(tmp_path / "run"))
    assert stop.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("error: ") and "not finite" in lines[-1]
