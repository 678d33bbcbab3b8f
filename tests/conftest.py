"""Shared fixtures: the real Hydra config, composed with everything shrunk."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from causal_semloss.config_checks import checked
from causal_semloss.paths import CONFIG_DIR

REPO = Path(__file__).resolve().parent.parent
# Pre-trained tiny backbones go to a per-session temp dir, never into the checkout.
os.environ.setdefault("CAUSAL_SEMLOSS_CACHE", tempfile.mkdtemp(prefix="causal-semloss-cache-"))
TINY_DATA = [
    "data.n_train=200",
    "data.n_test=60",
    "data.n_eval=40",
    "data.n_adversarial=40",
    "data.natural_rate_sample=50",
]
# A Gemma 3 small enough for a test to train in a second or two.
TINY_MODEL = [
    "model.architecture.hidden_size=32",
    "model.architecture.num_hidden_layers=2",
    "model.architecture.num_attention_heads=2",
    "model.architecture.num_key_value_heads=1",
    "model.architecture.head_dim=16",
    "model.architecture.query_pre_attn_scalar=16",
    "model.architecture.intermediate_size=64",
    "model.pretrain.steps=4",
    "model.pretrain.warmup_steps=2",
    "model.pretrain.batch_size=8",
    "model.pretrain.corpus_per_task=200",
]
# The tiny model with random weights (nothing pre-trained): an evaluation in about a second.
RANDOM_WEIGHTS = [
    *[o for o in TINY_MODEL if not o.startswith("model.pretrain.")],
    "model.pretrain.steps=0",
]
# One transitivity question as the authors' JSONL files hold it.
ROW = {"premise": "A causes B. B causes C.", "hypothesis": "Does A cause C?", "label": "Yes"}


# Evaluation cut to one small split: for tests that only need a job to finish.
QUICK_EVAL = [
    "eval.max_examples=20",
    "eval.tasks=[transitivity]",
    "eval.splits=[test]",
    "eval.bootstrap=0",
]


def compose_cfg(overrides: list[str] | None = None):
    """The real config, composed and validated exactly as the CLIs do it."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return checked(compose(config_name="config", overrides=list(overrides or [])))


@functools.cache
def compose_cached(*overrides: str):
    """`compose_cfg`, once per set of overrides (composing takes a second); never mutate it."""
    return compose_cfg(list(overrides))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """One data cache per test module: its tests share generated data."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def tiny_cfg(tmp_path):
    def make(*overrides: str):
        return compose_cfg([*TINY_DATA, f"paths.data_root={tmp_path / 'data'}", *overrides])

    return make


def run_cli(module: str, *args: str, cwd: Path | None = None, timeout: int = 300):
    """Run `python -m module args` as a user would; returns the CompletedProcess."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def restore_logging():
    """Hydra run in-process points the loggers at this test's captured stderr; put them back, or
    a later test's log lines would go to a closed stream."""
    loggers = [logging.root, *logging.Logger.manager.loggerDict.values()]
    saved = {
        id(lg): (lg, lg.handlers[:], lg.level) for lg in loggers if isinstance(lg, logging.Logger)
    }
    yield
    for lg in [logging.root, *logging.Logger.manager.loggerDict.values()]:
        if isinstance(lg, logging.Logger):
            _, handlers, level = saved.get(id(lg), (lg, [], logging.NOTSET))
            lg.handlers[:] = handlers
            lg.setLevel(level)
