"""Records -> token tensors, once: prompts rendered, tokenized in one batch call, left-padded.

With left padding every row's prompt ends at the same column, so the answer position is one
index for the whole batch; explicit position ids keep RoPE positions independent of padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

IGNORE = -100


def render_prompt(template: str, record: dict) -> str:
    return template.format(premise=record["premise"], hypothesis=record["hypothesis"])


@dataclass
class EncodedSet:
    """Token ids per example + what the losses need, all precomputed (no text in the loop)."""

    prompt_ids: list[list[int]]
    answer_ids: list[list[int]]  # the label token + the answer suffix tokens
    oracle: torch.Tensor  # bool: the oracle's answer (what L_sem pushes towards)
    label: torch.Tensor  # bool: the record's label (what CE trains on; == oracle when generated)
    graph_index: torch.Tensor  # int: premise id, so constraint terms can tie related answers

    def __len__(self) -> int:
        return len(self.prompt_ids)


def encode_records(records: list[dict], tokenizer, prompt_cfg: DictConfig) -> EncodedSet:
    prompts = [render_prompt(prompt_cfg.template, r) for r in records]
    answers = [
        prompt_cfg.answer.format(label=r.get("label") or prompt_cfg.no_word) for r in records
    ]
    prompt_ids = tokenizer(prompts, add_special_tokens=True)["input_ids"]
    answer_ids = tokenizer(answers, add_special_tokens=False)["input_ids"]
    graph_ids: dict[str, int] = {}
    return EncodedSet(
        prompt_ids=prompt_ids,
        answer_ids=answer_ids,
        oracle=torch.tensor([bool(r.get("oracle")) for r in records]),
        label=torch.tensor([r.get("label") == prompt_cfg.yes_word for r in records]),
        graph_index=torch.tensor(
            [graph_ids.setdefault(r["graph_id"], len(graph_ids)) for r in records]
        ),
    )


def collate(encoded: EncodedSet, indices: list[int], pad_id: int, with_answer: bool) -> dict:
    """Left-padded batch. `answer_col` is the column whose next-token logits give the answer."""
    seqs = [encoded.prompt_ids[i] + (encoded.answer_ids[i] if with_answer else []) for i in indices]
    width = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    labels = torch.full((len(seqs), width), IGNORE, dtype=torch.long)
    for row, seq in enumerate(seqs):
        input_ids[row, width - len(seq) :] = torch.tensor(seq)
        attention[row, width - len(seq) :] = 1
        labels[row, width - len(seq) + 1 :] = torch.tensor(seq[1:])  # never predict <bos>
    # Answer suffixes may differ in length only if a tokenizer splits the label oddly; the label
    # token is the first answer token, right after the prompt.
    answer_len = {len(encoded.answer_ids[i]) for i in indices} if with_answer else {0}
    if len(answer_len) != 1:
        raise ValueError("answer suffixes tokenize to different lengths; check model.prompt.answer")
    answer_col = width - 1 - answer_len.pop()
    position_ids = (attention.cumsum(dim=1) - 1).clamp(min=0)
    idx = torch.tensor(indices)
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "position_ids": position_ids,
        "labels": labels,
        "answer_col": answer_col,
        "oracle": encoded.oracle[idx],
        "label": encoded.label[idx],
        "graph_index": encoded.graph_index[idx],
    }
