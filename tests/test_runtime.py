"""The runtime is one object resolved from `conf/runtime/`: bf16 only where it runs (CUDA), no
silent CPU fallback, and the settings that shape a run's numbers (device, precision, compile) in
its training-config hash while the thread count is not."""

from __future__ import annotations

import pytest
import torch

from causal_semloss.errors import ConfigError
from causal_semloss.runtime import Runtime
from causal_semloss.train.checkpoints import run_config_hash
from causal_semloss.train.loop import adamw
from tests.conftest import compose_cached


def test_bf16_is_used_on_cuda_only():
    runtime = Runtime.of(compose_cached("runtime.device=cpu", "runtime.bf16=true"))
    assert runtime.device == torch.device("cpu") and runtime.bf16 is False
    assert runtime.threads == 1 and runtime.compile is False


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_device_is_an_error_not_a_fallback():
    with pytest.raises(ConfigError, match="runtime.device=cuda"):
        Runtime.of(compose_cached("runtime=cuda"))


def test_the_hash_covers_what_shapes_a_run_but_threads():
    base = run_config_hash(compose_cached())
    assert run_config_hash(compose_cached("runtime.threads=2")) == base
    for changed in ("runtime.bf16=true", "runtime.device=cpu", "runtime.compile=true"):
        assert run_config_hash(compose_cached(changed)) != base, changed


def test_one_optimiser_builder():
    cfg = compose_cached()
    optimizer = adamw([torch.nn.Parameter(torch.zeros(2))], cfg.train)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (cfg.train.lr, cfg.train.weight_decay)
    assert group["betas"] == tuple(cfg.train.betas)
