"""model.source=gguf_package: the real Gemma 3 270M's code path (chunks checked, GGUF assembled,
converted once to a backbone dir with a card, loaded from it), run on a tiny Gemma 3 that the
test writes as GGUF and installs as a fake chunked package."""

from __future__ import annotations

import json

import pytest
import torch

from causal_semloss.errors import ConfigError
from causal_semloss.model.backbone import load_backbone
from causal_semloss.model.card import read_card
from tests.gguf_tiny import install_fake_package, tiny_gemma3, write_gguf


@pytest.fixture(scope="module")
def fake_package(tmp_path_factory):
    root = tmp_path_factory.mktemp("gguf")
    model = tiny_gemma3()
    gguf_file = write_gguf(model, root / "tiny.gguf")
    name = install_fake_package(gguf_file, root / "site", name="tiny_gemma3_gguf_pkg")
    return model, name, root


def _cfg(tiny_cfg, name, backbone_dir, *extra):
    return tiny_cfg(
        "model=gemma3_270m",
        f"model.package.module={name}",
        f"model.package.distribution={name}",
        f"model.backbone_dir={backbone_dir}",
        *extra,
    )


def test_converts_once_and_loads_the_same_weights(fake_package, tiny_cfg, tmp_path):
    original, name, _ = fake_package
    target = tmp_path / "converted"
    cfg = _cfg(tiny_cfg, name, target, "model.lora=null")
    backbone = load_backbone(cfg)
    card = read_card(target)
    assert card["source"]["package"] == name
    assert card["source"]["version"] == "1.0.0"
    assert len(card["source"]["gguf_sha256"]) == 64
    assert card["source"]["licence_files"] == [f"{name}/data/TOY_TERMS.txt"]
    assert not list(target.glob("*.gguf")), "the assembled GGUF is not kept beside the weights"
    assert "quantization_config" not in json.loads((target / "config.json").read_text())
    # The float weights survive GGUF -> safetensors: same logits as the model the test wrote.
    ids = torch.tensor([[2, 4, 10, 9, 5, 6]])
    with torch.no_grad():
        want = original(input_ids=ids).logits
        got = backbone.model(input_ids=ids).logits
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert backbone.tokenizer.convert_ids_to_tokens([backbone.yes_id, backbone.no_id]) == [
        "Yes",
        "No",
    ]
    # A second load reuses the dir (no reconversion) and checks it against the card.
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    load_backbone(cfg)
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_killed_conversion_leaves_nothing_behind(fake_package, tiny_cfg, tmp_path):
    _, name, _ = fake_package
    leftover = tmp_path / ".c.abc123"  # the staging dir of a conversion killed with -9
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"partial")
    load_backbone(_cfg(tiny_cfg, name, tmp_path / "c"))
    assert not leftover.exists()
    assert read_card(tmp_path / "c")["source"]["package"] == name


def test_lora_wraps_the_converted_model(fake_package, tiny_cfg, tmp_path):
    _, name, _ = fake_package
    backbone = load_backbone(_cfg(tiny_cfg, name, tmp_path / "c"))
    trainable = [n for n, p in backbone.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_missing_package_says_how_to_install(tiny_cfg, tmp_path):
    cfg = _cfg(tiny_cfg, "no_such_gguf_package", tmp_path / "c")
    with pytest.raises(ConfigError, match="not installed; install it with `make gemma3`"):
        load_backbone(cfg)
    assert not (tmp_path / "c").exists()


def test_damaged_chunk_is_named_and_nothing_is_written(fake_package, tiny_cfg, tmp_path):
    _, name, root = fake_package
    chunk = root / "site" / name / "data" / "part01"
    good = chunk.read_bytes()
    chunk.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    try:
        with pytest.raises(ConfigError, match="part01: sha256 differs from its wheel's RECORD"):
            load_backbone(_cfg(tiny_cfg, name, tmp_path / "c"))
    finally:
        chunk.write_bytes(good)
    assert not (tmp_path / "c").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".c.")], "staging dir left"


def test_converted_dir_whose_weights_changed_is_refused(fake_package, tiny_cfg, tmp_path):
    _, name, _ = fake_package
    target = tmp_path / "c"
    cfg = _cfg(tiny_cfg, name, target)
    load_backbone(cfg)
    weights = target / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 1
    weights.write_bytes(bytes(blob))
    with pytest.raises(ConfigError, match="sha256 does not match"):
        load_backbone(cfg)
