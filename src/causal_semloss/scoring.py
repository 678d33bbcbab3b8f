"""Batched Yes/No scoring: the next-token logits of "Yes" and "No" after each prompt.

Prompts are left-padded, so the answer position is the last column for every row, and only that
column's logits are computed (`logits_to_keep=1`) — one forward per batch, not per example.
Batches run on the model's device (bf16 autocast there when asked and it is CUDA); margins stay
on that device until the end, so the loop does not sync per batch.
"""

from __future__ import annotations

import torch

from causal_semloss.batches import EncodedSet, collate


@torch.no_grad()
def yes_no_margins(
    model: torch.nn.Module,
    encoded: EncodedSet,
    *,
    pad_id: int,
    yes_id: int,
    no_id: int,
    batch_size: int,
    bf16: bool = False,
    progress=None,
) -> torch.Tensor:
    """logit(Yes) − logit(No) per example, in input order (predict Yes when > 0)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    # Sorting by length keeps padding (wasted compute) small; results are put back in order.
    order = sorted(range(len(encoded)), key=lambda i: len(encoded.prompt_ids[i]))
    margins = torch.empty(len(encoded), device=device)
    pin = device.type == "cuda"
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = collate(encoded, idx, pad_id, with_answer=False)
        inputs = {
            key: (batch[key].pin_memory() if pin else batch[key]).to(device, non_blocking=True)
            for key in ("input_ids", "attention_mask", "position_ids")
        }
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and pin):
            logits = model(**inputs, logits_to_keep=1, use_cache=False).logits[:, -1].float()
        margins[torch.tensor(idx, device=device)] = logits[:, yes_id] - logits[:, no_id]
        if progress is not None:
            progress(len(idx))
    model.train(was_training)
    return margins.cpu()
