"""experiment=paper_gemma is the paper's recipe, value for value (PAPER.md "Training set-up"),
and experiment=paper_gemma_cpu changes only what its header says it cuts."""

from __future__ import annotations

import pytest

from tests.conftest import compose_cfg

# The paper's five rows as (task, recipe).
PAPER_ROWS = [
    ("transitivity", "zero_shot"),
    ("transitivity", "baseline"),
    ("dseparation", "baseline"),
    ("transitivity", "semantic"),
    ("dseparation", "semantic"),
]


@pytest.mark.parametrize(("task", "recipe"), PAPER_ROWS)
def test_paper_gemma_is_the_papers_recipe(task, recipe):
    cfg = compose_cfg(["experiment=paper_gemma", f"task={task}", f"recipe={recipe}"])
    assert cfg.model.name == "gemma3_270m" and cfg.model.source == "gguf_package"
    assert cfg.model.prompt.name == "paper"
    assert "<start_of_turn>model\n" in cfg.model.prompt.template
    lora = cfg.model.lora
    assert (lora.r, lora.alpha, lora.dropout) == (32, 32, 0.1)
    assert list(lora.target_modules) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    train = cfg.train
    assert (train.lr, train.weight_decay, train.batch_size, train.epochs) == (2e-5, 0.01, 8, 3)
    assert (train.grad_clip, train.max_steps, train.grad_accum) == (1.0, None, 1)
    assert cfg.data.name == "paper" and cfg.data.n_train == 50_000
    # 3 epochs x 50k / batch 8: the paper's exposure (the validation split is held out of it).
    assert train.epochs * cfg.data.n_train // train.batch_size == 18_750
    assert cfg.loss.scope == "full"  # whole-text SFT, as the authors' trainer
    if recipe == "semantic":
        assert cfg.loss.schedule == "linear(0.05,0.30)" and not cfg.loss.paper_ce_bug


def test_paper_gemma_cpu_cuts_only_what_it_says():
    semantic = ["task=dseparation", "recipe=semantic"]
    gpu = compose_cfg(["experiment=paper_gemma", *semantic])
    cpu = compose_cfg(["experiment=paper_gemma_cpu", *semantic])
    assert cpu.runtime.device == "cpu" and cpu.loss.scope == "answer"
    assert cpu.train.max_steps * cpu.train.batch_size < 0.01 * 150_000
    for key in ("lr", "weight_decay", "batch_size", "grad_clip", "lr_schedule", "betas"):
        assert cpu.train[key] == gpu.train[key], key
    assert cpu.model == gpu.model
    assert cpu.loss.schedule == gpu.loss.schedule
