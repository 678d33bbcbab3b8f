"""Where and how the stages run: the device, bf16 autocast (on CUDA only), the CPU thread count
and torch.compile, resolved once from the config into one `Runtime` that the entry point hands
to every stage touching a model (pre-training, fine-tuning, evaluation)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from causal_semloss.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when there is one; `cuda` without one is an error, never a CPU fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:  # torch's message lists every device type it knows: too long a line
        raise ConfigError(
            f"config runtime.device: unknown device {name!r}; expected auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"runtime.device={name} but no CUDA device is available")
    return device


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    bf16: bool  # bf16 autocast: asked for and on CUDA (the CPU path stays fp32)
    threads: int  # torch CPU threads while training
    compile: bool  # torch.compile the fine-tuned model's forward pass

    @classmethod
    def of(cls, cfg: DictConfig) -> Runtime:
        """The runtime `cfg` asks for, resolved on this machine (no side effects)."""
        rc = cfg.runtime
        device = resolve_device(rc.device)
        return cls(device, bool(rc.bf16 and device.type == "cuda"), int(rc.threads), rc.compile)

    def use_threads(self) -> Runtime:
        """Set torch's CPU thread count to this runtime's (evaluation sets its own)."""
        torch.set_num_threads(self.threads)
        return self

    def autocast(self):
        """bf16 autocast when this runtime uses it; a no-op context otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)
