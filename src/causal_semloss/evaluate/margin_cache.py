"""A content-addressed cache of Yes/No margins (`eval.cache`): one file per (model weights,
prompts, scoring settings) under `${paths.cache_root}/eval_margins/<key>.json`.

Why: an untrained run scores the same backbone on the same rows whatever its task (the rows
depend on the seed), so in experiment=paper `dseparation_zero_shot` and `transitivity_zero_shot`
of one seed computed the same 14k margins twice. The key is everything the margins depend on —
every parameter and buffer (name, dtype, shape, bytes), the model's class and config, the
encoded prompts, the pad/Yes/No token ids, the scoring layout (batch size, CPU token budget,
shared prefix: they change the float summation order), bf16, the device, the thread count, the
torch/transformers versions and the source of the scoring code itself (an edit to
model/scoring.py must not read margins the old code wrote) — so a hit returns the very floats a fresh scoring would, and
the predictions and metrics written from them are byte-identical.

Only eval.method=logits is cached (generation is not a margin). A file that cannot be read or
does not hold one margin per prompt is ignored: scored again and overwritten, never an error;
nor is a failed write. Files are written by rename, so a reader never sees half of one; two
jobs that miss the same key at once both score it and write the same bytes (no lock).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from omegaconf import DictConfig

from causal_semloss.atomic import write_text
from causal_semloss.model import scoring
from causal_semloss.model.backbone import Backbone
from causal_semloss.model.batches import EncodedSet
from causal_semloss.model.card import file_sha256
from causal_semloss.model.scoring import scoring_options

log = logging.getLogger(__name__)

MARGINS_DIR = "eval_margins"


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer: name, dtype, shape and raw bytes (any dtype,
    bf16 included: the bytes are read as uint8, never converted)."""
    digest = hashlib.sha256()
    for kind, named in (("parameter", model.named_parameters()), ("buffer", model.named_buffers())):
        for name, tensor in named:
            tensor = tensor.detach()
            digest.update(f"{kind} {name} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
            raw = tensor.to("cpu").contiguous().reshape(-1).view(torch.uint8)
            digest.update(raw.numpy().tobytes())
    return digest.hexdigest()


def _model_config(model: torch.nn.Module) -> dict | None:
    """The model's config (values that shape the forward pass without being weights, e.g. the
    attention scale), less where it was loaded from."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    plain = config.to_dict()
    plain.pop("_name_or_path", None)
    return json.loads(json.dumps(plain, sort_keys=True, default=str))


def _scoring_source() -> str:
    """sha256 of model/scoring.py, the code that turns weights and prompts into margins."""
    return file_sha256(Path(scoring.__file__))


def _device_identity(device: torch.device) -> str:
    if device.type == "cuda":  # two GPU models need not round alike
        return f"cuda {torch.cuda.get_device_name(device)}"
    return device.type


@dataclass(frozen=True)
class MarginCache:
    """Where one evaluation's margins are cached; `scorer` is the digest of everything but the
    prompts (the model and the scoring settings), computed once per evaluation."""

    root: Path
    scorer: str

    @classmethod
    def for_evaluation(cls, cfg: DictConfig, backbone: Backbone, bf16: bool) -> MarginCache | None:
        """The cache for scoring `backbone` as `cfg.eval` asks (after the model is on its
        device), or None when eval.cache is off or the method is not logits."""
        if not cfg.eval.cache or cfg.eval.method != "logits":
            return None
        device = next(backbone.model.parameters()).device
        identity = {
            "weights": weights_digest(backbone.model),
            "model_class": type(backbone.model).__qualname__,
            "model_config": _model_config(backbone.model),
            "pad_id": backbone.tokenizer.pad_token_id,
            "yes_id": backbone.yes_id,
            "no_id": backbone.no_id,
            "method": cfg.eval.method,
            "batch_size": cfg.eval.batch_size,
            # As `yes_no_margins` receives them: the CPU token budget applies on a CPU only.
            "scoring": scoring_options(cfg.eval, device),
            "bf16": bf16,
            "device": _device_identity(device),
            "threads": cfg.eval.threads,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "scoring_source": _scoring_source(),
        }
        blob = json.dumps(identity, sort_keys=True).encode()
        return cls(Path(cfg.paths.cache_root) / MARGINS_DIR, hashlib.sha256(blob).hexdigest())

    def path(self, encoded: EncodedSet) -> Path:
        digest = hashlib.sha256(self.scorer.encode())
        digest.update(json.dumps(encoded.prompt_ids, separators=(",", ":")).encode())
        return self.root / f"{digest.hexdigest()}.json"

    def load(self, path: Path, n: int) -> tuple[list[bool], list[float]] | None:
        """(predicted Yes, margins) of `n` prompts from `path`; None when it is missing or does
        not hold exactly that (a warning, and the caller scores again)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            predicted, margins = data["predicted"], data["margins"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable margin cache %s (%s): scoring again", path, exc)
            return None
        if not _consistent(predicted, margins, n):
            log.warning("ignoring margin cache %s: not %d margins and answers", path, n)
            return None
        return predicted, margins

    def store(self, path: Path, predicted: list[bool], margins: list[float]) -> None:
        try:
            write_text(path, json.dumps({"predicted": predicted, "margins": margins}) + "\n")
        except OSError as exc:  # a cache never fails an evaluation
            log.warning("could not write margin cache %s (%s)", path, exc)


def _consistent(predicted, margins, n: int) -> bool:
    """One float margin and one bool answer per prompt, the answer Yes iff the margin is > 0
    (as `predict_encoded` decides it; NaN is No)."""
    return (
        isinstance(predicted, list)
        and isinstance(margins, list)
        and len(predicted) == len(margins) == n
        and all(
            isinstance(p, bool) and isinstance(m, float) and p == (m > 0)
            for p, m in zip(predicted, margins, strict=True)
        )
    )
