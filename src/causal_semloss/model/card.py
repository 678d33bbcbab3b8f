"""A backbone dir: weights + tokenizer + `card.json` (how it was built, what it scores, a hash).

The card is the contract between the pre-train stage and everything that loads a backbone:
a dir without one, or whose weights no longer match the card's hash, is refused with one line
naming the path — results must never silently come from other weights than the card describes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from causal_semloss.atomic import atomic_dir, write_json
from causal_semloss.errors import ConfigError
from causal_semloss.paths import RESOURCES_DIR

CARD = "card.json"
WEIGHTS = "model.safetensors"
PACKAGE_PREFIX = "pkg://"


def resolve_backbone_dir(spec: str) -> Path:
    """`pkg://NAME` is a backbone shipped in the package (resources/backbones/NAME)."""
    if spec.startswith(PACKAGE_PREFIX):
        return RESOURCES_DIR / "backbones" / spec[len(PACKAGE_PREFIX) :]
    return Path(spec).expanduser()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def files_sha256(directory: Path) -> dict[str, str]:
    """sha256 of every file of a backbone dir but the card: weights, config and tokenizer."""
    return {f.name: file_sha256(f) for f in sorted(directory.iterdir()) if f.name != CARD}


def read_card(directory: Path) -> dict:
    """The card of a backbone dir, after checking the dir is complete and every file's hash
    matches the card's."""
    if not directory.is_dir():
        raise ConfigError(f"backbone dir {directory} does not exist")
    card_path = directory / CARD
    if not card_path.exists():
        raise ConfigError(
            f"backbone dir {directory} has no {CARD}: not written by the pretrain stage"
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{card_path}: not UTF-8 text, so not a backbone card") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{card_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(card, dict) or "weights_sha256" not in card:
        raise ConfigError(f"{card_path}: not a backbone card (no weights_sha256)")
    expected = {WEIGHTS: card["weights_sha256"], **_listed_files(card, card_path)}
    if not isinstance(expected[WEIGHTS], str):
        raise ConfigError(f"{card_path}: weights_sha256 must be a sha256 string")
    for name, digest in expected.items():
        path = directory / name
        if not path.exists():
            raise ConfigError(f"backbone dir {directory} has no {name} (listed in {CARD})")
        if file_sha256(path) != digest:
            raise ConfigError(
                f"{path}: sha256 does not match {card_path}; the file changed after the card was written"
            )
    return card


def _listed_files(card: dict, card_path: Path) -> dict[str, str]:
    """The card's `files_sha256`: file names in the dir (no paths) -> sha256 strings."""
    listed = card.get("files_sha256", {})
    if not isinstance(listed, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) and Path(name).name == name
        for name, digest in listed.items()
    ):
        raise ConfigError(
            f"{card_path}: files_sha256 must map file names in the dir to sha256 strings"
        )
    return listed


def write_card(directory: Path, card: dict) -> None:
    """`card` + the sha256 of every file now in `directory` (a staging dir being assembled)."""
    card = {
        **card,
        "weights_sha256": file_sha256(directory / WEIGHTS),
        "files_sha256": files_sha256(directory),
    }
    write_json(directory / CARD, card)


def card_model_dir(directory: Path) -> None:
    """Card a saved model dir from before model dirs were carded (`save_backbone` cards each new
    one): the sha256 of its files as they are now, so only a dir one trusts."""
    if (directory / CARD).exists():
        raise ConfigError(f"{directory} already has a {CARD}")
    if not (directory / WEIGHTS).is_file():
        raise ConfigError(f"{directory} has no {WEIGHTS}: not a saved model dir")
    write_card(directory, {"kind": "saved model", "carded_after_saving": True})
    print(f"carded {directory}")


def write_backbone(model, tokenizer, target: Path, card: dict) -> None:
    """Weights + tokenizer + card, assembled beside `target` and renamed into place."""
    with atomic_dir(target) as staging:
        model.to("cpu").save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_card(staging, card)
        os.chmod(staging, 0o755)
        for file in staging.iterdir():
            os.chmod(file, 0o644)


if __name__ == "__main__":  # python -m causal_semloss.model.card MODEL_DIR...
    import sys

    from causal_semloss.errors import exit_on_user_error

    for arg in sys.argv[1:]:
        exit_on_user_error(card_model_dir)(Path(arg))
