"""Fine-tuning checkpoints that resume bit-exactly or not at all: weights, optimiser, every RNG
stream (torch CPU and CUDA, Python, NumPy) and a hash of the config that shapes the run; a
checkpoint written under another config is refused, and so is one whose bytes differ from the
sha256 in its sidecar (`checkpoint.json`, written after it) or has no sidecar. Also the final model dir, written
atomically with the config hash it was trained under (`training.json`), so a finished run
refuses a changed config like an interrupted one."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from causal_semloss.atomic import atomic_dir, atomic_path, write_json
from causal_semloss.errors import ConfigError, DataError
from causal_semloss.model.backbone import Backbone, save_backbone
from causal_semloss.model.card import file_sha256

TRAINING_RECORD = "training.json"  # in the model dir: the config hash it was trained under

# Settings that do not change what a run computes: a checkpoint may resume under other values.
_RESUMABLE_ACROSS = ("threads", "log_steps", "eval_steps", "checkpoint_steps", "eval_batch_size")


def run_config_hash(cfg: DictConfig) -> str:
    """Hash of everything that shapes a training run (seed, task, data, model, loss, train) but
    bookkeeping such as thread count or logging cadence."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    # Device, precision and compile shape a run too. They were `train` keys before conf/runtime/
    # and are hashed as such, so a run's hash (and its checkpoints) outlive the move.
    shaping_runtime = {k: plain["runtime"][k] for k in ("device", "bf16", "compile")}
    train = {**plain["train"], **shaping_runtime}
    train = {k: v for k, v in train.items() if k not in _RESUMABLE_ACROSS}
    shaping = {k: plain[k] for k in ("seed", "task", "data", "model", "loss")} | {"train": train}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()


def sidecar_of(checkpoint: Path) -> Path:
    """`checkpoint.pt` -> `checkpoint.json`: its sha256, step and config hash."""
    return checkpoint.with_suffix(".json")


def save_checkpoint(path: Path, cfg: DictConfig, model, optimizer, **state) -> None:
    """The checkpoint, then its sidecar, each atomically. The old sidecar goes first: a crash in
    between leaves a whole checkpoint without one (refused on resume, with what to do), never a
    checkpoint beside another one's hash."""
    payload = {
        **state,
        "config_hash": run_config_hash(cfg),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "python_rng": random.getstate(),
        "numpy_rng": np.random.get_state(),
    }
    sidecar = sidecar_of(path)
    sidecar.unlink(missing_ok=True)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
        digest = file_sha256(tmp)
    write_json(
        sidecar,
        {
            "file": path.name,
            "sha256": digest,
            "step": state.get("step"),
            "config_hash": payload["config_hash"],
        },
    )


def remove_checkpoint(path: Path) -> None:
    path.unlink(missing_ok=True)
    sidecar_of(path).unlink(missing_ok=True)


def _restart_hint(path: Path) -> str:
    return (
        f"delete {path} and {sidecar_of(path).name} beside it to train from step 0, "
        "or restore an intact copy"
    )


def verify_checkpoint(path: Path) -> None:
    """`path` matches the sha256 of its sidecar, or DataError. A checkpoint without a sidecar
    (older than sidecars, killed between the two writes, or the sidecar deleted) cannot be
    verified and is refused too: resuming it unverified could train on from flipped bits."""
    sidecar = sidecar_of(path)
    try:
        expected = json.loads(sidecar.read_text(encoding="utf-8"))["sha256"]
    except FileNotFoundError:
        raise DataError(
            f"{path} has no {sidecar.name} beside it (its sha256), so it cannot be verified; "
            f"{_restart_hint(path)}"
        ) from None
    except (ValueError, KeyError, TypeError):  # JSONDecodeError and UnicodeError are ValueErrors
        raise DataError(f"{sidecar}: not a checkpoint sidecar; {_restart_hint(path)}") from None
    if file_sha256(path) != expected:
        raise DataError(
            f"{path}: sha256 differs from {sidecar.name} (damaged or changed after it was "
            f"written); {_restart_hint(path)}"
        )


def load_checkpoint(path: Path, cfg: DictConfig, model, optimizer, device) -> dict:
    """Restore weights, optimiser and RNG streams from `path` after checking its sha256; the
    payload's own entries back."""
    verify_checkpoint(path)
    try:
        payload = torch.load(path, map_location=device, weights_only=False)
        if not isinstance(payload, dict) or "model" not in payload:
            raise ValueError("no model state in it")
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"{path}: not a readable checkpoint ({reason}); {_restart_hint(path)}"
        ) from None
    if payload.get("config_hash") != run_config_hash(cfg):
        raise ConfigError(
            f"{path} was written by a run with another config; resume with the same "
            "settings, or use a new output dir"
        )
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["torch_rng"].cpu())  # map_location moved it to the device
    if payload["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in payload["cuda_rng"]])
    random.setstate(payload["python_rng"])
    np.random.set_state(payload["numpy_rng"])
    return payload


def save_model_dir(backbone: Backbone, target: Path, cfg: DictConfig) -> None:
    """The fine-tuned model (safetensors + tokenizer) at `target`, assembled beside it and renamed
    into place, so a crash never leaves half a model; with the config hash it was trained under
    and a card of every file's sha256 (checked when it is loaded)."""
    config_hash = run_config_hash(cfg)
    with atomic_dir(target) as staging:
        write_json(staging / TRAINING_RECORD, {"config_hash": config_hash})
        save_backbone(
            backbone, staging, card={"kind": "fine-tuned model", "config_hash": config_hash}
        )


def trained_under(model_dir: Path) -> str | None:
    """The config hash a model dir was trained under; None if not recorded (or unreadable)."""
    try:
        return json.loads((model_dir / TRAINING_RECORD).read_text(encoding="utf-8"))["config_hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def refuse_another_config(out_dir: Path, cfg: DictConfig) -> None:
    """A finished training in `out_dir` (its model dir) made under another config than `cfg`
    (or under one not recorded) is refused, as an interrupted one is: nothing is overwritten."""
    model_dir = out_dir / "model"
    if not model_dir.is_dir():
        return
    recorded = trained_under(model_dir)
    if recorded != run_config_hash(cfg):
        made = "with another config" if recorded else "under a config it does not record"
        raise ConfigError(
            f"{out_dir} holds a finished training (model/) made {made}; use a new output dir, "
            f"or delete {model_dir} to train there again"
        )
