"""Where a stage runs: the configured device, and bf16 autocast on CUDA only. Shared by every
stage that touches a model (pre-training, fine-tuning, evaluation)."""

from __future__ import annotations

import torch

from causal_semloss.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is available")
    return torch.device(name)


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast on CUDA when asked; a no-op context elsewhere (the CPU path stays fp32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")
