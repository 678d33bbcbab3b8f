"""Losses on hand-made logits: shifted vs the authors' unshifted CE, scopes, semantic terms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from causal_semloss.model.batches import IGNORE
from causal_semloss.train.losses import compute_loss, cross_entropy, oracle_answer_term
from tests.conftest import compose_cfg

V, YES, NO = 5, 3, 4


def _batch():
    # one row: tokens [0, 1, 2, YES, 1]; prompt = [0, 1, 2], answer = [YES, 1]; answer_col = 2
    labels = torch.tensor([[IGNORE, 1, 2, YES, 1]])
    return {
        "labels": labels,
        "answer_col": 2,
        "oracle": torch.tensor([True]),
        "graph_index": torch.tensor([0]),
    }


def _peaked(targets: list[int]) -> torch.Tensor:
    """Logits whose argmax at column c is targets[c], with confidence 10."""
    logits = torch.zeros(1, len(targets), V)
    for c, t in enumerate(targets):
        logits[0, c, t] = 10.0
    return logits


def test_shifted_ce_rewards_predicting_the_next_token():
    batch = _batch()
    next_token = _peaked([1, 2, YES, 1, 0])  # column c predicts token c+1
    same_token = _peaked([0, 1, 2, YES, 1])  # column c "predicts" token c (the authors' bug)
    good = cross_entropy(next_token, batch["labels"], 0, 2, "full", paper_ce_bug=False)
    bad = cross_entropy(same_token, batch["labels"], 0, 2, "full", paper_ce_bug=False)
    assert good.item() < 0.01 < bad.item()
    # the bug variant scores it the other way round
    assert cross_entropy(same_token, batch["labels"], 0, 2, "full", paper_ce_bug=True).item() < 0.01
    assert cross_entropy(next_token, batch["labels"], 0, 2, "full", paper_ce_bug=True).item() > 1.0


def test_answer_scope_scores_only_the_answer_token():
    batch = _batch()
    logits = torch.zeros(1, 5, V)
    logits[0, 2, YES] = 10.0  # the answer column predicts Yes; every other column is uniform
    ce = cross_entropy(logits, batch["labels"], 0, 2, "answer", paper_ce_bug=False)
    assert ce.item() == pytest.approx(F.cross_entropy(logits[0, 2:3], torch.tensor([YES])).item())
    # sliced logits (start = answer_col) give the same value
    sliced = cross_entropy(logits[:, 2:], batch["labels"], 2, 2, "answer", paper_ce_bug=False)
    assert sliced.item() == pytest.approx(ce.item())
    # the bug variant looks at the answer token's own column instead
    bug = cross_entropy(logits, batch["labels"], 0, 2, "answer", paper_ce_bug=True)
    assert bug.item() == pytest.approx(math.log(V))


def test_oracle_term_is_minus_log_p_of_the_oracle_answer():
    logprobs = torch.log(torch.tensor([[0.1, 0.1, 0.1, 0.6, 0.1], [0.1, 0.1, 0.1, 0.2, 0.5]]))
    batch = {"oracle": torch.tensor([True, False])}
    expected = -(math.log(0.6) + math.log(0.5)) / 2
    assert oracle_answer_term(logprobs, batch, YES, NO).item() == pytest.approx(expected)


def test_total_is_ce_plus_lambda_times_terms():
    batch = _batch()
    logits = torch.randn(1, 5, V, generator=torch.Generator().manual_seed(0))
    parts = compute_loss(
        logits,
        batch,
        start=0,
        scope="full",
        paper_ce_bug=False,
        terms=["oracle_answer"],
        lam=0.3,
        yes_id=YES,
        no_id=NO,
    )
    sem = -F.log_softmax(logits[0, 2], -1)[YES]
    assert parts.semantic["oracle_answer"].item() == pytest.approx(sem.item(), rel=1e-5)
    assert parts.total.item() == pytest.approx(parts.ce.item() + 0.3 * sem.item(), rel=1e-5)


def test_premise_consistency_term_penalises_equal_answers_within_a_premise():
    batch = {"oracle": torch.tensor([True, False]), "graph_index": torch.tensor([7, 7])}
    from causal_semloss.train.losses import premise_consistency_term

    same = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    right = torch.log(torch.tensor([[0.05, 0.95], [0.95, 0.05]]))
    scale = compose_cfg().loss.term_options.premise_consistency.margin_scale
    assert premise_consistency_term(right, batch, 1, 0, margin_scale=scale) < (
        premise_consistency_term(same, batch, 1, 0, margin_scale=scale)
    )


@pytest.mark.parametrize("lam", [0.0, 0.05, 0.3])
def test_logged_answer_weight_is_the_answer_tokens_gradient_weight(lam):
    """answer_weight = the answer column's gradient over a text column's, under uniform logits
    (1 + λT whole-text, T = scored tokens per row); answer_ce = −log p(label) there."""
    batch = _batch()
    logits = torch.zeros(1, 5, V, requires_grad=True)
    parts = compute_loss(
        logits, batch, start=0, scope="full", paper_ce_bug=False, terms=["oracle_answer"],
        lam=lam, yes_id=YES, no_id=NO,
    )  # fmt: skip
    parts.total.backward()
    norms = logits.grad[0].norm(dim=-1)
    scored = 4  # labels 1, 2, YES, 1 follow columns 0..3
    assert parts.answer_weight.item() == pytest.approx(1 + lam * scored)
    assert (norms[2] / norms[1]).item() == pytest.approx(parts.answer_weight.item())
    assert parts.answer_ce.item() == pytest.approx(math.log(V))


def test_answer_weight_under_the_ce_bug_and_answer_scope():
    batch = _batch()
    logits = torch.zeros(1, 5, V)
    common = {"start": 0, "terms": ["oracle_answer"], "lam": 0.3, "yes_id": YES, "no_id": NO}
    bug = compute_loss(logits, batch, scope="full", paper_ce_bug=True, **common)
    assert bug.answer_weight.item() == pytest.approx(0.3 * 4)  # the CE gives the answer nothing
    answer_only = compute_loss(logits, batch, scope="answer", paper_ce_bug=False, **common)
    assert answer_only.answer_weight is None  # no text token to compare with
    no_term = compute_loss(
        logits, batch, scope="full", paper_ce_bug=False, **common | {"terms": []}
    )
    assert no_term.answer_weight.item() == pytest.approx(1.0)
