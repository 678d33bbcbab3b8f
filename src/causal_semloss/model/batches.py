"""Records -> token tensors, once: prompts rendered, tokenized in one batch call, left-padded.

With left padding every row's prompt ends at the same column, so the answer position is one
index for the whole batch; explicit position ids keep RoPE positions independent of padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from causal_semloss.data.records import truth

IGNORE = -100


def render_prompt(template: str, record: dict) -> str:
    return template.format(premise=record["premise"], hypothesis=record["hypothesis"])


@dataclass
class EncodedSet:
    """Token ids per example + what the losses need, all precomputed (no text in the loop)."""

    prompt_ids: list[list[int]]
    answer_ids: list[list[int]]  # the label token + the answer suffix tokens
    oracle: torch.Tensor  # bool: the oracle's answer, the one truth (CE's target is its text)
    graph_index: torch.Tensor  # int: premise id, so constraint terms can tie related answers
    companion: torch.Tensor | None = None  # bool: unlabeled companion question (no CE, no L_sem)

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
    companion = [bool(r.get("companion")) for r in records]
    return EncodedSet(
        prompt_ids=prompt_ids,
        answer_ids=answer_ids,
        oracle=torch.tensor([truth(r) for r in records]),
        graph_index=torch.tensor(
            [graph_ids.setdefault(r["graph_id"], len(graph_ids)) for r in records]
        ),
        companion=torch.tensor(companion) if any(companion) else None,
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
        "graph_index": encoded.graph_index[idx],
    }


@dataclass
class PaddedSet:
    """An `EncodedSet` left-padded once to its longest sequence, so that a batch is an
    `index_select` and a column slice instead of a Python loop over rows (`collate`).

    Only the token ids and lengths are stored; the attention mask, position ids and labels are
    derived from them per batch with a few element-wise ops, on whatever device the set lives.
    `batch(...)` returns exactly what `collate` returns for the same indices.
    """

    input_ids: torch.Tensor  # (n, width) left-padded to the longest sequence
    lengths: torch.Tensor  # (n,) sequence lengths, on the same device as input_ids
    host_lengths: torch.Tensor  # (n,) the same on the CPU: batch widths without a device sync
    answer_len: torch.Tensor  # (n,) CPU: answer-suffix tokens per row (0 without answers)
    oracle: torch.Tensor
    graph_index: torch.Tensor
    companion: torch.Tensor | None = None

    @classmethod
    def build(cls, encoded: EncodedSet, pad_id: int, with_answer: bool) -> PaddedSet:
        seqs = [
            p + (a if with_answer else [])
            for p, a in zip(encoded.prompt_ids, encoded.answer_ids, strict=True)
        ]
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        width = int(lengths.max()) if len(seqs) else 0
        input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        for row, seq in enumerate(seqs):
            input_ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
        answer_len = torch.tensor(
            [len(a) if with_answer else 0 for a in encoded.answer_ids], dtype=torch.long
        )
        return cls(
            input_ids,
            lengths,
            lengths,
            answer_len,
            encoded.oracle,
            encoded.graph_index,
            encoded.companion,
        )

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def to(self, device: torch.device) -> PaddedSet:
        """The whole set on `device` (pinned and copied asynchronously to CUDA), built once, so
        each batch is gathered where the model runs and no per-step host-to-device copy exists."""

        def move(t: torch.Tensor) -> torch.Tensor:
            if device.type == "cuda":
                t = t.pin_memory()
            return t.to(device, non_blocking=True)

        return PaddedSet(
            move(self.input_ids),
            move(self.lengths),
            self.host_lengths,
            self.answer_len,
            move(self.oracle),
            move(self.graph_index),
            None if self.companion is None else move(self.companion),
        )

    def shapes(self, indices: torch.Tensor, batch_size: int) -> tuple[list[int], list[int]]:
        """(width, answer_col) of each consecutive `batch_size` chunk of CPU `indices`, computed
        in one vectorised call on the host (so the training loop never syncs for them)."""
        widths = self.host_lengths[indices].view(-1, batch_size).max(dim=1).values
        answers = self.answer_len[indices].view(-1, batch_size)
        if not torch.equal(answers.min(dim=1).values, answers.max(dim=1).values):
            raise ValueError(
                "answer suffixes tokenize to different lengths; check model.prompt.answer"
            )
        return widths.tolist(), (widths - 1 - answers[:, 0]).tolist()

    def batch(self, indices: torch.Tensor, width: int, answer_col: int) -> dict:
        """The batch of `indices` (a tensor on this set's device), as `collate` builds it."""
        full = self.input_ids.shape[1]
        input_ids = self.input_ids.index_select(0, indices)[:, full - width :]
        first = (width - self.lengths.index_select(0, indices))[:, None]  # first real column
        cols = torch.arange(width, device=input_ids.device)
        labels = input_ids.masked_fill(cols <= first, IGNORE)  # pads and <bos>: ignored
        batch = {
            "input_ids": input_ids,
            "attention_mask": (cols >= first).long(),
            "position_ids": (cols - first).clamp(min=0),
            "labels": labels,
            "answer_col": answer_col,
            "oracle": self.oracle.index_select(0, indices),
            "graph_index": self.graph_index.index_select(0, indices),
        }
        if self.companion is not None:  # unlabeled rows: no token is a target
            companion = self.companion.index_select(0, indices)
            batch["labels"] = labels.masked_fill(companion[:, None], IGNORE)
            batch["companion"] = companion
        return batch
