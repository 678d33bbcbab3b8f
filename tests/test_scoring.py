"""Batched Yes/No scoring: the bucketed, right-padded path gives the margins of the reference
`collate` path (left-padded, one batch at a time), in input order, however it is batched."""

from __future__ import annotations

import pytest
import torch

from causal_semloss.model.backbone import build_from_config
from causal_semloss.model.batches import EncodedSet, collate, encode_records
from causal_semloss.model.scoring import (
    cache_kwarg,
    plan_batches,
    right_padded,
    shared_prefix_length,
    yes_no_margins,
)
from tests.conftest import TINY_MODEL, compose_cfg

MIN_SHARED_PREFIX = 4  # the conf/eval default

PAD, YES, NO = 0, 5, 6


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    built, _ = build_from_config(compose_cfg(TINY_MODEL))
    return built.eval()


TEMPLATE = [2, 9, 10, 11, 12, 13]  # a chat template's opening, shared by every prompt


def _random_prompts(n: int, seed: int = 0, templated: bool = False) -> EncodedSet:
    """Random prompts of 1..40 tokens in shuffled order; `templated`: all open with TEMPLATE."""
    gen = torch.Generator().manual_seed(seed)
    prompts = []
    for _ in range(n):
        length = int(torch.randint(1, 41, (1,), generator=gen))
        body = torch.randint(7, 60, (length,), generator=gen).tolist()
        prompts.append(TEMPLATE + body if templated else body)
    empty = torch.zeros(n, dtype=torch.long)
    return EncodedSet(prompts, [[YES]] * n, empty.bool(), empty.bool(), empty)


def _encode(records, backbone, cfg) -> EncodedSet:
    return encode_records(records, backbone.tokenizer, cfg.model.prompt)


@torch.no_grad()
def _collate_margins(
    model,
    encoded: EncodedSet,
    batch_size: int,
    pad_id: int = PAD,
    yes_id: int = YES,
    no_id: int = NO,
) -> torch.Tensor:
    """The reference: left-padded `collate` batches in input order, last column's logits."""
    margins = []
    for start in range(0, len(encoded), batch_size):
        batch = collate(
            encoded, list(range(start, min(start + batch_size, len(encoded)))), pad_id, False
        )
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
        logits = model(**inputs, logits_to_keep=1, use_cache=False).logits[:, -1]
        margins.append(logits[:, yes_id] - logits[:, no_id])
    return torch.cat(margins)


@pytest.mark.parametrize("templated", [False, True], ids=["no-prefix", "shared-prefix"])
@pytest.mark.parametrize(
    ("batch_size", "max_batch_tokens"), [(16, None), (7, 60), (64, 10_000), (1, None)]
)
def test_margins_equal_the_collate_path(model, templated, batch_size, max_batch_tokens):
    encoded = _random_prompts(50, templated=templated)
    want = _collate_margins(model, encoded, batch_size=8)
    got = yes_no_margins(
        model,
        encoded,
        pad_id=PAD,
        yes_id=YES,
        no_id=NO,
        batch_size=batch_size,
        max_batch_tokens=max_batch_tokens,
        min_shared_prefix=MIN_SHARED_PREFIX,
    )
    assert got.shape == (50,) and got.dtype == torch.float32
    assert torch.allclose(got, want, atol=1e-5, rtol=0)


def test_shared_prefix_is_found_and_exact(model):
    """The templated prompts do take the KV-cache path, and it equals computing them in full."""
    encoded = _random_prompts(40, templated=True)
    plan = plan_batches(encoded.prompt_ids, 8)
    ids = right_padded(encoded.prompt_ids, plan.order, PAD)
    assert shared_prefix_length(ids, plan.lengths) == len(TEMPLATE) >= MIN_SHARED_PREFIX
    assert cache_kwarg(model) is not None
    kwargs = {"pad_id": PAD, "yes_id": YES, "no_id": NO, "batch_size": 8}
    shared = yes_no_margins(model, encoded, min_shared_prefix=MIN_SHARED_PREFIX, **kwargs)
    full = yes_no_margins(model, encoded, min_shared_prefix=None, **kwargs)
    assert torch.allclose(shared, full, atol=1e-5, rtol=0)


def test_shared_prefix_leaves_every_row_a_token():
    ids = torch.tensor([[2, 9, 10, 0], [2, 9, 10, 11]])
    assert shared_prefix_length(ids, torch.tensor([3, 4])) == 2


def test_empty_input_gives_an_empty_tensor(model):
    empty = EncodedSet(
        [],
        [],
        torch.zeros(0, dtype=torch.bool),
        torch.zeros(0, dtype=torch.bool),
        torch.zeros(0, dtype=torch.long),
    )
    got = yes_no_margins(model, empty, pad_id=PAD, yes_id=YES, no_id=NO, batch_size=8)
    assert got.shape == (0,)


def test_training_mode_is_restored(model):
    model.train()
    yes_no_margins(model, _random_prompts(5), pad_id=PAD, yes_id=YES, no_id=NO, batch_size=4)
    assert model.training
    model.eval()


def test_plan_covers_every_row_once_within_the_budget():
    prompts = _random_prompts(200, seed=1).prompt_ids
    plan = plan_batches(prompts, batch_size=32, max_batch_tokens=300)
    assert sorted(plan.order.tolist()) == list(range(200))
    assert plan.bounds[0] == 0 and plan.bounds[-1] == 200
    assert plan.lengths.tolist() == sorted(len(p) for p in prompts)
    for start, end, width in zip(plan.bounds[:-1], plan.bounds[1:], plan.widths, strict=True):
        assert 1 <= end - start <= 32
        assert width == max(len(prompts[i]) for i in plan.order[start:end].tolist())
        assert (end - start) * width <= 300 or end - start == 1
    # Sorted buckets pad far less than input-order batches of the same rows.
    assert plan.padding_fraction < 0.1


@pytest.mark.parametrize("method", ["logits", "generate"])
def test_predict_both_methods(tiny_cfg, method):
    """`predict` on real prompts: logits margins are deterministic and agree with the
    one-at-a-time path; eval.method=generate still answers every record (without margins)."""
    from causal_semloss.data.build import build_data, read_split
    from causal_semloss.evaluate.evaluation import predict
    from causal_semloss.model.backbone import load_backbone

    random_weights = [o for o in TINY_MODEL if not o.startswith("model.pretrain.")]
    cfg = tiny_cfg(
        *random_weights, "model.pretrain.steps=0", f"eval.method={method}", "eval.batch_size=8"
    )
    backbone = load_backbone(cfg)
    data_dir, _, _ = build_data(cfg)
    records = read_split(data_dir, "length")[:10] + read_split(data_dir, "test")[:10]
    predicted, margins = predict(backbone, records, cfg)
    assert len(predicted) == len(margins) == 20
    assert all(isinstance(p, bool) for p in predicted)
    if method == "generate":
        assert margins == [None] * 20
        return
    assert predict(backbone, records, cfg) == (predicted, margins)  # same config, same answers
    one_at_a_time = _collate_margins(
        backbone.model,
        _encode(records, backbone, cfg),
        batch_size=1,
        pad_id=backbone.tokenizer.pad_token_id,
        yes_id=backbone.yes_id,
        no_id=backbone.no_id,
    )
    assert predicted == [m > 0 for m in margins]
    assert torch.allclose(torch.tensor(margins), one_at_a_time, atol=1e-5, rtol=0)
