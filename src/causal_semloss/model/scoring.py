"""Batched Yes/No scoring: the next-token logits of "Yes" and "No" after each prompt.

The model is tiny, so the cost is not the arithmetic per token but how it is laid out. Measured
on the default model (benchmarks/bench_eval.py): length-sorted batches already padded only ~0.2%
of tokens, and Python collation took ~2% of the time; what cost was batch size (128 rows x ~52
tokens of activations overflow a CPU core's cache) and the chat template's opening, computed
again for every prompt. So:
- the set is sorted by length once and cut into consecutive batches (buckets of near-equal
  length: few padded tokens); margins are put back in input order at the end;
- prompts are padded once, for the whole set, in that sorted order: a batch is a slice, not a
  Python loop over rows;
- prompts are *right*-padded and no attention mask is passed: under causal attention a real
  token never sees the pads after it, so the plain causal kernel (no mask tensor, default
  positions) is exact;
- the LM head is never run over the vocabulary: the decoder body gives hidden states, each row's
  last real position is picked, and only the two rows of the output embedding that the margin
  reads (Yes, No) are applied (`AnswerHead`). With Gemma 3's 262k-token vocabulary the head is
  the largest matmul of a position; keeping columns with `logits_to_keep` instead keeps the
  same columns for every row, so a batch with k distinct prompt lengths paid k head passes a
  row (measured on Gemma 3 270M: no faster than the plain full-logits call);
- a batch holds at most `batch_size` rows and, if `max_batch_tokens` is set, at most that many
  tokens (rows x width): short prompts get more rows, and on a CPU the activations stay in cache
  (`eval.cpu_batch_tokens` on a CPU);
- the tokens every prompt starts with (a chat template's opening) are run once: their keys and
  values are repeated across each batch as a KV cache, and the batch computes only the rest.
  Right padding aligns that prefix; causal attention makes it exact (the prefix never sees what
  follows it).
Batches run on the model's device (bf16 autocast there when asked and it is CUDA); margins stay
on that device until the end, so the loop does not sync per batch.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from itertools import chain

import torch

from causal_semloss.model.batches import EncodedSet


def scoring_options(eval_cfg, device: torch.device) -> dict:
    """`yes_no_margins` keywords from the `eval` config group: the token budget per batch applies
    on a CPU only (`eval.cpu_batch_tokens`: activations that fit the core's cache), and a prompt
    prefix shared by every example is computed once when at least `eval.min_shared_prefix` long."""
    return {
        "max_batch_tokens": eval_cfg.cpu_batch_tokens if device.type == "cpu" else None,
        "min_shared_prefix": eval_cfg.min_shared_prefix,
    }


@dataclass(frozen=True)
class BatchPlan:
    """The sorted order and the consecutive batches `yes_no_margins` scores, decided up front.

    `order[k]` is the input index of the k-th shortest prompt; batch b covers sorted rows
    `bounds[b]:bounds[b + 1]` and is `widths[b]` tokens wide (its longest prompt).
    """

    order: torch.Tensor
    lengths: torch.Tensor  # prompt lengths in sorted order
    bounds: list[int]
    widths: list[int]

    @property
    def padding_fraction(self) -> float:
        """Padded tokens / all tokens in the batches (0.0 for an empty plan)."""
        total = sum(
            (end - start) * width
            for start, end, width in zip(
                self.bounds[:-1], self.bounds[1:], self.widths, strict=True
            )
        )
        return 1.0 - int(self.lengths.sum()) / total if total else 0.0


def plan_batches(
    prompt_ids: list[list[int]], batch_size: int, max_batch_tokens: int | None = None
) -> BatchPlan:
    """Sort by length (stable, so ties keep input order) and cut greedily: each batch takes as
    many of the next rows as fit in `batch_size` rows and `max_batch_tokens` tokens (always at
    least one row, however long)."""
    lengths = torch.tensor([len(p) for p in prompt_ids], dtype=torch.long)
    order = torch.argsort(lengths, stable=True)
    lengths = lengths[order]
    host = lengths.tolist()
    bounds, widths, start = [0], [], 0
    while start < len(host):
        rows = min(batch_size, len(host) - start)
        # Sorted ascending, so a batch's width is its last row's length; shrink until it fits.
        while max_batch_tokens and rows > 1 and rows * host[start + rows - 1] > max_batch_tokens:
            rows = max(1, min(rows - 1, max_batch_tokens // host[start + rows - 1]))
        widths.append(host[start + rows - 1])
        start += rows
        bounds.append(start)
    return BatchPlan(order, lengths, bounds, widths)


def right_padded(prompt_ids: list[list[int]], order: torch.Tensor, pad_id: int) -> torch.Tensor:
    """All prompts in `order`, right-padded to the longest, built with one scatter (no per-row
    tensor)."""
    rows = [prompt_ids[i] for i in order.tolist()]
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    width = int(lengths.max()) if rows else 0
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    ids[torch.arange(width) < lengths[:, None]] = torch.tensor(
        list(chain.from_iterable(rows)), dtype=torch.long
    )
    return ids


def shared_prefix_length(ids: torch.Tensor, lengths: torch.Tensor) -> int:
    """Leading columns equal in every row of right-padded `ids`, leaving each row at least one
    token of its own (the answer is read at a row's last token, which must be computed)."""
    if len(ids) == 0:
        return 0
    head = int(lengths.min()) - 1
    same = (ids[:, :head] == ids[:1, :head]).all(dim=0)
    return int(same.long().cumprod(dim=0).sum())


def cache_kwarg(model: torch.nn.Module) -> str | None:
    """The name under which the backbone's forward takes a KV cache (transformers renamed
    `past_key_values` to `cache`), or None if it takes none: then no prefix is shared. A PEFT
    wrapper passes keyword arguments through, so its base model's signature decides."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(base.forward).parameters
    return next((name for name in ("cache", "past_key_values") if name in params), None)


@dataclass(frozen=True)
class AnswerHead:
    """The decoder body of a causal LM and the Yes/No rows of its output layer: the margin
    logit(Yes) − logit(No) from a hidden state, without the vocabulary-wide matmul. A final
    logit soft-cap (Gemma 2) is applied to the two logits as the full head would."""

    decoder: torch.nn.Module
    weight: torch.Tensor  # (2, hidden): the Yes and No rows
    bias: torch.Tensor | None
    softcap: float | None

    @classmethod
    def of(cls, model: torch.nn.Module, yes_id: int, no_id: int) -> AnswerHead:
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        head = base.get_output_embeddings()
        rows = torch.tensor([yes_id, no_id], device=head.weight.device)
        bias = getattr(head, "bias", None)
        config = base.config.get_text_config()
        return cls(
            decoder=base.get_decoder(),
            weight=head.weight[rows],
            bias=None if bias is None else bias[rows],
            softcap=getattr(config, "final_logit_softcapping", None),
        )

    def margins(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = hidden.float() @ self.weight.float().T
        if self.bias is not None:
            logits = logits + self.bias.float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits[:, 0] - logits[:, 1]


@torch.inference_mode()
def yes_no_margins(
    model: torch.nn.Module,
    encoded: EncodedSet,
    *,
    pad_id: int,
    yes_id: int,
    no_id: int,
    batch_size: int,
    bf16: bool = False,
    max_batch_tokens: int | None = None,
    min_shared_prefix: int | None = None,
    progress=None,
) -> torch.Tensor:
    """logit(Yes) − logit(No) per example, in input order (predict Yes when > 0).

    `max_batch_tokens` caps rows x width per batch (None: `batch_size` rows only). A prompt
    prefix shared by all examples is computed once when at least `min_shared_prefix` tokens long
    (None: every prompt in full). `scoring_options` gives both from the config.
    The margins do not depend on how the set is batched or on the prefix sharing.
    """
    device = next(model.parameters()).device
    if len(encoded) == 0:
        return torch.empty(0)
    was_training = model.training
    model.eval()
    plan = plan_batches(encoded.prompt_ids, batch_size, max_batch_tokens)
    pin = device.type == "cuda"
    ids = right_padded(encoded.prompt_ids, plan.order, pad_id)
    kwarg = cache_kwarg(model) if min_shared_prefix is not None else None
    prefix = shared_prefix_length(ids, plan.lengths) if kwarg else 0
    if kwarg and prefix < min_shared_prefix:
        prefix = 0
    ids = (ids.pin_memory() if pin else ids).to(device, non_blocking=True)
    positions = torch.arange(ids.shape[1], device=device)
    margins = torch.empty(len(encoded), device=device)  # in sorted order
    head = AnswerHead.of(model, yes_id, no_id)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and pin):
        if prefix:
            prefix_cache = getattr(head.decoder(input_ids=ids[:1, :prefix], use_cache=True), kwarg)
        for start, end, width in zip(plan.bounds[:-1], plan.bounds[1:], plan.widths, strict=True):
            rows = end - start
            cached = {}
            if prefix:
                cache = copy.deepcopy(prefix_cache)
                cache.batch_repeat_interleave(rows)
                cached = {kwarg: cache, "position_ids": positions[prefix:width].expand(rows, -1)}
            # Each row's last real position, computed on the host from the plan (no sync).
            ends = (plan.lengths[start:end] - 1 - prefix).to(device, non_blocking=True)
            hidden = head.decoder(
                input_ids=ids[start:end, prefix:width], use_cache=bool(prefix), **cached
            ).last_hidden_state
            margins[start:end] = head.margins(hidden[torch.arange(rows, device=device), ends])
            if progress is not None:
                progress(rows)
    model.train(was_training)
    out = torch.empty_like(margins)
    out[plan.order.to(device)] = margins
    return out.cpu()
