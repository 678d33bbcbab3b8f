"""experiment=claims_gpu composes for every (backbone, arm) of its sweep and trains each arm to
the paper's exposure, probing the trajectory on the way, on rows shared by all arms."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from causal_semloss.data.build import config_hash
from causal_semloss.evaluate.eval_sets import eval_data_config
from causal_semloss.paths import CONFIG_DIR
from tests.conftest import compose_cfg

SWEEP = OmegaConf.load(CONFIG_DIR / "experiment" / "claims_gpu.yaml").hydra.sweeper.params
BACKBONES = [m.strip() for m in SWEEP.model.split(",")]
RECIPES = [r.strip() for r in SWEEP.recipe.split(",")]
TASKS = [t.strip() for t in SWEEP.task.split(",")]
ARMS = {
    "baseline",
    "answer_ce",
    "static",
    "semantic",
    "semantic_cebug",
    "cebug",
    "constraints",
    "baseline_balanced",
    "semantic_balanced",
}
PAPER_EXPOSURE = 150_000


def test_sweep_covers_three_backbones_and_every_arm_of_both_tasks():
    assert set(BACKBONES) == {"tiny_gemma3_lm", "tiny_gemma3_it", "gemma3_270m"}
    assert set(TASKS) == {"transitivity", "dseparation"}
    assert set(RECIPES) == ARMS | {"zero_shot"}
    assert len(str(SWEEP.seed).split(",")) >= 3


# Every arm of the GPU study, composed (~1 s a composition here, 10 a case): slow. `make test`
# keeps the cheaper checks below.
@pytest.mark.parametrize(
    ("model", "task"),
    [
        pytest.param("tiny_gemma3_lm", "dseparation", marks=pytest.mark.slow),
        pytest.param("tiny_gemma3_lm", "transitivity", marks=pytest.mark.slow),
        pytest.param("tiny_gemma3_it", "transitivity", marks=pytest.mark.slow),
        pytest.param("tiny_gemma3_it", "dseparation", marks=pytest.mark.slow),
        pytest.param("gemma3_270m", "transitivity", marks=pytest.mark.slow),
        pytest.param("gemma3_270m", "dseparation", marks=pytest.mark.slow),
    ],
)
def test_every_arm_reaches_the_papers_exposure_with_a_trajectory(model, task):
    eval_rows = {}
    for recipe in RECIPES:
        cfg = compose_cfg(
            ["experiment=claims_gpu", f"model={model}", f"recipe={recipe}", f"task={task}"]
        )
        assert cfg.model.name == model
        if not cfg.recipe.train:
            continue
        train = cfg.train
        assert train.epochs * cfg.data.n_train == PAPER_EXPOSURE and train.max_steps is None
        assert (train.lr, train.batch_size, train.weight_decay) == (2e-5, 8, 0.01)
        points = list(train.trajectory.examples)
        assert points[0] == 0 and points[-1] < PAPER_EXPOSURE and len(points) >= 5
        # log-spaced: each point at least ~3x the one before it
        assert all(b >= 2.9 * a for a, b in zip(points[1:], points[2:], strict=False))
        eval_rows.setdefault(cfg.task.name, set()).add(
            config_hash(eval_data_config(cfg, cfg.task.name))
        )
        role = cfg.recipe.name
        assert cfg.loss.paper_ce_bug == role.endswith("cebug")
        if role == "cebug":
            assert cfg.loss.schedule == "constant(0.0)"
        if role.startswith("semantic"):
            assert cfg.loss.schedule == "linear(0.05,0.30)"
        assert cfg.data.balance == role.endswith("balanced")
    # every arm of the task is scored on one data dir's rows
    assert {name: len(hashes) for name, hashes in eval_rows.items()} == {task: 1}


def test_lora_only_on_the_real_gemma():
    for model in BACKBONES:
        cfg = compose_cfg(["experiment=claims_gpu", f"model={model}", "recipe=cebug"])
        assert (cfg.model.lora is not None) == (model == "gemma3_270m")
        steps = math.ceil((cfg.data.n_train - cfg.train.val_size) / cfg.train.batch_size)
        assert cfg.train.epochs * steps > 18_000


@pytest.mark.parametrize(
    "task", ["transitivity", pytest.param("dseparation", marks=pytest.mark.slow)]
)
def test_claims_full_is_claims_trajectory_at_the_papers_exposure(task):
    """The GPU-sized study (scripts/gpu_claims.sh): the CPU study's backbone and recipe, trained
    to 150k examples on both tasks, each run scored on the task it trained on."""
    sweep = OmegaConf.load(CONFIG_DIR / "experiment" / "claims_full.yaml").hydra.sweeper.params
    assert {t.strip() for t in sweep.task.split(",")} == {"transitivity", "dseparation"}
    assert len(str(sweep.seed).split(",")) >= 5
    cpu = compose_cfg(["experiment=claims_trajectory", "recipe=semantic", f"task={task}"])
    cfg = compose_cfg(["experiment=claims_full", "recipe=semantic", f"task={task}"])
    assert cfg.model.name == cpu.model.name == "tiny_gemma3_lm"
    assert (cfg.train.lr, cfg.train.batch_size) == (cpu.train.lr, cpu.train.batch_size)
    assert cfg.train.epochs * cfg.data.n_train == PAPER_EXPOSURE
    assert list(cfg.eval.tasks) == [task]
    assert config_hash(eval_data_config(cfg, task)) == config_hash(
        eval_data_config(
            compose_cfg(["experiment=claims_full", "recipe=cebug", f"task={task}"]), task
        )
    )
