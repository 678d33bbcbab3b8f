"""The one optimisation loop: when it logs, evaluates and stops, and that it optimises."""

from __future__ import annotations

import torch

from causal_semloss.train.loop import LoopPlan, optimise


def _run(total: int, log_steps: int, eval_steps: int, finish_early=None, start: int = 0):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    logged, evaluated, rates = [], [], []

    def accumulate(step: int) -> dict:
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return {"loss": loss.detach(), "lr": optimizer.param_groups[0]["lr"]}

    done = optimise(
        model,
        optimizer,
        LoopPlan(total, log_steps, eval_steps, 1.0, "test"),
        start=start,
        lr_at=lambda step: 0.1 / (step + 1),
        accumulate=accumulate,
        on_log=lambda d, values: (logged.append((d, values["loss"])), rates.append(values["lr"])),
        on_eval=evaluated.append,
        finish_early=finish_early,
    )
    return done, logged, evaluated, rates


def test_logs_first_every_and_last_step_and_the_loss_falls():
    done, logged, evaluated, rates = _run(total=10, log_steps=4, eval_steps=5)
    assert done == 10
    assert [d for d, _ in logged] == [1, 4, 8, 10]
    assert all(isinstance(v, float) for _, v in logged)  # read back to the host
    assert evaluated == [5, 10]
    assert logged[-1][1] < logged[0][1]
    assert rates[0] == 0.1 and rates[-1] == 0.1 / 10  # lr_at(step) set before each step


def test_finish_early_makes_that_step_the_last():
    done, logged, evaluated, _ = _run(
        total=100, log_steps=50, eval_steps=50, finish_early=lambda d: d == 7
    )
    assert done == 7
    assert logged[-1][0] == 7 and evaluated == [7]


def test_resume_starts_at_the_given_step():
    done, logged, _, _ = _run(total=6, log_steps=2, eval_steps=100, start=3)
    assert done == 6 and [d for d, _ in logged] == [4, 6]
