"""Training objective: CE (full sequence or answer token; correct or the authors' unshifted
variant) + λ_t · Σ semantic constraint terms, all batched — no per-example Python loop.

A semantic term is a function (answer log-probs over the vocabulary, batch, yes_id, no_id) ->
scalar, registered by name in `SEMANTIC_TERMS`; `loss.terms` picks which are summed. The data
carries the oracle answers as tensors, so no text is parsed here (the authors' regex-in-the-loss
pitfall).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from causal_semloss.batches import IGNORE


def oracle_answer_term(
    answer_logprobs: torch.Tensor, batch: dict, yes_id: int, no_id: int
) -> torch.Tensor:
    """The paper's L_sem: −log p(answer the graph oracle gives) at the answer position."""
    target = torch.where(batch["oracle"], yes_id, no_id)
    return -answer_logprobs.gather(1, target[:, None]).mean()


def premise_consistency_term(
    answer_logprobs: torch.Tensor, batch: dict, yes_id: int, no_id: int
) -> torch.Tensor:
    """Ours (not in the paper): questions on one premise must not share a single answer when the
    oracle's answers differ — pushes p(Yes) of oracle-Yes above oracle-No within each premise."""
    p_yes = answer_logprobs[:, yes_id].exp()
    group = batch["graph_index"]
    same = group[:, None] == group[None, :]
    differ = batch["oracle"][:, None] & ~batch["oracle"][None, :] & same
    if not differ.any():
        return answer_logprobs.new_zeros(())
    margin = p_yes[:, None] - p_yes[None, :]
    return F.softplus(-margin[differ] * 5.0).mean()


SEMANTIC_TERMS: dict[str, Callable[..., torch.Tensor]] = {
    "oracle_answer": oracle_answer_term,
    "premise_consistency": premise_consistency_term,
}


@dataclass
class LossParts:
    total: torch.Tensor
    ce: torch.Tensor
    semantic: dict[str, torch.Tensor]
    lam: float


def logits_start(answer_col: int, scope: str) -> int:
    """First column whose logits the loss needs (the model computes logits from there on only)."""
    return 0 if scope == "full" else answer_col


def cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    start: int,
    answer_col: int,
    scope: str,
    paper_ce_bug: bool,
) -> torch.Tensor:
    """`logits` covers columns [start, width). Correct: logits[c] predicts token c+1.
    `paper_ce_bug`: logits[c] is scored against token c itself (unshifted), as in the authors'
    code — the answer token's own position then "predicts" the answer."""
    width = labels.shape[1]
    if scope == "answer":
        col = answer_col + 1 if paper_ce_bug else answer_col
        target = labels[:, answer_col + 1]
        return F.cross_entropy(logits[:, col - start], target)
    if paper_ce_bug:
        preds, targets = logits, labels[:, start:]
    else:
        preds, targets = logits[:, : width - 1 - start], labels[:, start + 1 :]
    return F.cross_entropy(
        preds.reshape(-1, preds.shape[-1]), targets.reshape(-1), ignore_index=IGNORE
    )


def compute_loss(
    logits: torch.Tensor,
    batch: dict,
    *,
    start: int,
    scope: str,
    paper_ce_bug: bool,
    terms: list[str],
    lam: float,
    yes_id: int,
    no_id: int,
) -> LossParts:
    answer_col = batch["answer_col"]
    ce = cross_entropy(logits, batch["labels"], start, answer_col, scope, paper_ce_bug)
    answer_logprobs = F.log_softmax(logits[:, answer_col - start].float(), dim=-1)
    semantic = {name: SEMANTIC_TERMS[name](answer_logprobs, batch, yes_id, no_id) for name in terms}
    sem_total = sum(semantic.values()) if semantic else ce.new_zeros(())
    return LossParts(total=ce + lam * sem_total, ce=ce, semantic=semantic, lam=lam)
