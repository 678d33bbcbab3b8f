"""Shared fixtures: the real Hydra config, composed with everything shrunk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from causal_semloss.paths import CONFIG_DIR
from causal_semloss.schema import checked

REPO = Path(__file__).resolve().parent.parent
TINY_DATA = [
    "data.n_train=200",
    "data.n_test=60",
    "data.n_eval=40",
    "data.n_adversarial=40",
    "data.natural_rate_sample=50",
]


def compose_cfg(overrides: list[str] | None = None):
    """The real config, composed and validated exactly as the CLIs do it."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return checked(compose(config_name="config", overrides=list(overrides or [])))


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
