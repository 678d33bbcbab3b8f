"""`logger=none` logs nothing and never imports W&B: a lent GPU machine has no wandb installed,
and a run there must not fail at start-up for a logger it does not use."""

from __future__ import annotations

import sys

import pandas as pd

from causal_semloss.run_logger import make_logger
from tests.conftest import compose_cfg


def test_logger_none_needs_no_wandb(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` now raises ImportError
    cfg = compose_cfg(["logger=none"])
    logger = make_logger(cfg, tmp_path, name="run", job_type="train", config={"seed": 0})
    logger.log({"loss": 1.0}, step=1)
    logger.summary({"final/loss": 1.0})
    logger.log_artifacts({"table": pd.DataFrame({"a": [1]})}, {})
    logger.finish()
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_logger_wandb_still_imports_wandb(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    cfg = compose_cfg(["logger=wandb"])
    try:
        make_logger(cfg, tmp_path, name="run", job_type="train", config={})
    except Exception as exc:  # hydra wraps the ImportError of the target's __init__
        assert "wandb" in str(exc)
    else:
        raise AssertionError("logger=wandb built without wandb importable")
