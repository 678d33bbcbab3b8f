"""Training objective: CE (full sequence or answer token; correct or the authors' unshifted
variant) + λ_t · Σ semantic constraint terms, all batched — no per-example Python loop.

A semantic term is a function (answer log-probs over the vocabulary, batch, yes_id, no_id) ->
scalar, registered by name in `SEMANTIC_TERMS`; `loss.terms` picks which are summed. The data
carries the oracle answers as tensors, so no text is parsed here (the authors' regex-in-the-loss
pitfall).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from causal_semloss.errors import ConfigError
from causal_semloss.model.batches import IGNORE
from causal_semloss.train.premise_groups import assignments
from causal_semloss.train.schedules import parse_schedule


def oracle_answer_term(
    answer_logprobs: torch.Tensor, batch: dict, yes_id: int, no_id: int
) -> torch.Tensor:
    """The paper's L_sem: −log p(answer the graph oracle gives) at the answer position, over
    labeled rows (a companion question is never trained on its answer)."""
    target = torch.where(batch["oracle"], yes_id, no_id)
    logp = answer_logprobs.gather(1, target[:, None])[:, 0]
    companion = batch.get("companion")
    if companion is None:
        return -logp.mean()
    return -logp[~companion].mean()


def premise_consistency_term(
    answer_logprobs: torch.Tensor, batch: dict, yes_id: int, no_id: int, *, margin_scale: float
) -> torch.Tensor:
    """Ours (not in the paper): questions on one premise must not share a single answer when the
    oracle's answers differ — pushes p(Yes) of oracle-Yes above oracle-No within each premise."""
    p_yes = answer_logprobs[:, yes_id].exp()
    group = batch["graph_index"]
    same = group[:, None] == group[None, :]
    differ = batch["oracle"][:, None] & ~batch["oracle"][None, :] & same
    companion = batch.get("companion")
    if companion is not None:
        differ &= ~companion[:, None] & ~companion[None, :]
    if not differ.any():
        return answer_logprobs.new_zeros(())
    margin = p_yes[:, None] - p_yes[None, :]
    return F.softplus(-margin[differ] * margin_scale).mean()


# A missing atom (a premise with fewer questions than the widest group) is pinned to No.
_LOG_ZERO = -1e4


def constraint_term(
    answer_logprobs: torch.Tensor, batch: dict, yes_id: int, no_id: int
) -> torch.Tensor:
    """Ours: the exact semantic loss of Xu et al. (2018), −log P(the answers to a premise's
    questions satisfy its formula), by weighted model counting over all 2**atoms assignments
    at once. Each answer is Yes with p = softmax over {Yes, No}. Needs no label: it ties the
    answers to one another (`constraints.py`), not to the oracle. Mean over constrained groups.
    """
    slots, satisfying = batch["group_slots"], batch["group_satisfying"]
    margin = answer_logprobs[:, yes_id] - answer_logprobs[:, no_id]
    present = slots >= 0
    atom_margin = margin[slots.clamp(min=0)]
    log_yes = F.logsigmoid(atom_margin).masked_fill(~present, _LOG_ZERO)
    log_no = F.logsigmoid(-atom_margin).masked_fill(~present, 0.0)
    bits = assignments(slots.shape[1]).to(device=margin.device, dtype=margin.dtype)
    log_weight = log_yes @ bits.T + log_no @ (1 - bits).T  # (groups, 2**atoms)
    log_satisfied = torch.logsumexp(log_weight.masked_fill(~satisfying, -torch.inf), dim=1)
    constrained = batch["group_constrained"]
    if not constrained.any():
        return margin.new_zeros(())
    return -log_satisfied[constrained].mean()


SEMANTIC_TERMS: dict[str, Callable[..., torch.Tensor]] = {
    "oracle_answer": oracle_answer_term,
    "premise_consistency": premise_consistency_term,
    "constraints": constraint_term,
}
# Terms that need premise groups (`premise_groups.py`) in every batch.
GROUP_TERMS = frozenset({"constraints"})


def check_loss_config(loss_cfg) -> None:
    """Start-up check of what the config schema cannot know: term names and the λ schedule."""
    for term in loss_cfg.terms:
        if term not in SEMANTIC_TERMS:
            raise ConfigError(
                f"config loss.terms: unknown term {term!r}; one of {sorted(SEMANTIC_TERMS)}"
            )
    parse_schedule(loss_cfg.schedule)
    for term, options in loss_cfg.term_options.items():
        for key, value in options.items():
            if not math.isfinite(value):
                raise ConfigError(
                    f"config loss.term_options.{term}.{key}: must be finite, got {value}"
                )


@dataclass
class LossParts:
    total: torch.Tensor
    ce: torch.Tensor
    semantic: dict[str, torch.Tensor]
    # What the objective does to the answer token, so a reader sees the re-weighting instead of
    # inferring it (detached; logged, never trained on). `answer_ce`: −log p(label) at the answer
    # position over labeled rows. `answer_weight`: the answer token's weight relative to one
    # scored text token (see `answer_weight`); None when the CE scores no text token (scope=answer).
    answer_ce: torch.Tensor | None = None
    answer_weight: torch.Tensor | None = None

    def diagnostics(self) -> dict[str, torch.Tensor]:
        """The logged-only values that are present, by their history key."""
        found = {"answer_ce": self.answer_ce, "answer_weight": self.answer_weight}
        return {key: value for key, value in found.items() if value is not None}


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


def answer_weight(
    labels: torch.Tensor,
    start: int,
    answer_col: int,
    scope: str,
    paper_ce_bug: bool,
    lam: float,
    terms: list[str],
    labeled_rows: torch.Tensor,
) -> torch.Tensor | None:
    """The answer token's weight in the objective relative to one scored text token.

    Whole-text CE averages over the N scored tokens of the batch, so each gets 1/N; the label
    term (`oracle_answer`: the answer token's CE again, since labels are the oracle's answers)
    adds λ/B to each of the B labeled answers. Relative weight: 1 + λ·N/B = 1 + λT, T the scored
    tokens per row. Under the authors' CE bug the answer position is scored against its own
    input token, so the CE gives the answer no weight and the ratio is λT. Under answer-only
    scope there is no text token to compare with: None.
    """
    if scope != "full":
        return None
    targets = labels[:, start:] if paper_ce_bug else labels[:, start + 1 :]
    scored = (targets != IGNORE).sum().double()
    rows = labeled_rows.sum().double().clamp(min=1)
    from_ce = 0.0 if paper_ce_bug else 1.0
    from_term = lam * scored / rows if "oracle_answer" in terms else scored.new_zeros(())
    return from_ce + from_term


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
    term_options: dict | None = None,
) -> LossParts:
    """CE + λ · Σ terms; `term_options[name]` are a term's settings (`loss.term_options`)."""
    answer_col = batch["answer_col"]
    ce = cross_entropy(logits, batch["labels"], start, answer_col, scope, paper_ce_bug)
    answer_logprobs = F.log_softmax(logits[:, answer_col - start].float(), dim=-1)
    semantic = {
        name: SEMANTIC_TERMS[name](
            answer_logprobs, batch, yes_id, no_id, **(term_options or {}).get(name, {})
        )
        for name in terms
    }
    sem_total = sum(semantic.values()) if semantic else ce.new_zeros(())
    with torch.no_grad():
        answer_labels = batch["labels"][:, answer_col + 1]
        labeled = answer_labels != IGNORE
        picked = answer_logprobs.gather(1, answer_labels.clamp(min=0)[:, None])[:, 0]
        answer_ce = -picked[labeled].mean() if labeled.any() else answer_logprobs.new_zeros(())
        weight = answer_weight(
            batch["labels"], start, answer_col, scope, paper_ce_bug, lam, terms, labeled
        )
    return LossParts(
        total=ce + lam * sem_total,
        ce=ce,
        semantic=semantic,
        answer_ce=answer_ce,
        answer_weight=weight,
    )
