"""Evaluation speed: samples/s and padding fraction of the scoring path, before and after.

"Before" is the reference below (`collate_margins`): length-sorted batches of `eval.batch_size`
rows, each left-padded by `collate` in Python, with an attention mask. "After" is
`scoring.yes_no_margins` as `evaluation.predict` calls it: the set padded once, right-padded
and mask-free, batches capped by a token budget. Target: 200,000 samples <= 180 s.

Run: `.venv/bin/python benchmarks/bench_eval.py [--threads 1] [--full] [--max-batch-tokens N]`
(--full really scores 200,000 samples with the new path; without it the wall time is
extrapolated from 20,000).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from hydra import compose, initialize_config_dir

from causal_semloss.config_checks import checked
from causal_semloss.data.build import build_data, read_split
from causal_semloss.model.backbone import load_backbone
from causal_semloss.model.batches import EncodedSet, collate, encode_records
from causal_semloss.model.scoring import plan_batches, yes_no_margins
from causal_semloss.paths import CONFIG_DIR

TARGET_200K_S = 180


@torch.no_grad()
def collate_margins(model, encoded: EncodedSet, *, pad_id, yes_id, no_id, batch_size):
    """The scoring loop before issue 8: one `collate` (a Python loop over rows) per batch."""
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded.prompt_ids[i]))
    margins = torch.empty(len(encoded))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = collate(encoded, idx, pad_id, with_answer=False)
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
        logits = model(**inputs, logits_to_keep=1, use_cache=False).logits[:, -1].float()
        margins[torch.tensor(idx)] = logits[:, yes_id] - logits[:, no_id]
    return margins


def timed(fn, *args, **kwargs) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full", action="store_true")
    parser.add_argument(
        "--max-batch-tokens", type=int, default=None, help="default: eval.cpu_batch_tokens"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as root:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = checked(
                compose(
                    "config",
                    overrides=[
                        f"paths.data_root={root}",
                        "logger=none",
                        "data.n_train=20000",
                        "model.pretrain.steps=0",  # speed does not depend on the weights
                    ],
                )
            )
        data_dir, _, _ = build_data(cfg)
        records = read_split(data_dir, "train")  # 20k mixed-length in-distribution questions
        backbone = load_backbone(cfg)
        args.max_batch_tokens = args.max_batch_tokens or cfg.eval.cpu_batch_tokens
        prefix = {"min_shared_prefix": cfg.eval.min_shared_prefix}
        tok, model = backbone.tokenizer, backbone.model
        kwargs = {"pad_id": tok.pad_token_id, "yes_id": backbone.yes_id, "no_id": backbone.no_id}
        rows = cfg.eval.batch_size
        encoded = encode_records(records, tok, cfg.model.prompt)
        warm = encode_records(records[:500], tok, cfg.model.prompt)
        collate_margins(model, warm, batch_size=rows, **kwargs)  # first-call costs out of timing
        before, before_s = timed(collate_margins, model, encoded, batch_size=rows, **kwargs)
        after, after_s = timed(
            yes_no_margins,
            model,
            encoded,
            batch_size=rows,
            max_batch_tokens=args.max_batch_tokens,
            **prefix,
            **kwargs,
        )
        _, plain_s = timed(
            yes_no_margins,
            model,
            encoded,
            batch_size=rows,
            max_batch_tokens=args.max_batch_tokens,
            min_shared_prefix=None,
            **kwargs,
        )
        plans = {
            "before": plan_batches(encoded.prompt_ids, rows),
            "after": plan_batches(encoded.prompt_ids, rows, args.max_batch_tokens),
        }
        plans["after, no shared prefix"] = plans["after"]
        n = len(encoded)
        print(
            f"threads={args.threads}, model={cfg.model.name}, {n} samples "
            f"(prompt lengths {min(plans['after'].lengths.tolist())}-"
            f"{max(plans['after'].lengths.tolist())} tokens)"
        )
        for name, seconds, detail in (
            ("before", before_s, f"collate per batch, {rows} rows"),
            ("after", after_s, f"<= {rows} rows and <= {args.max_batch_tokens} tokens"),
            ("after, no shared prefix", plain_s, "min_shared_prefix=None"),
        ):
            plan = plans[name]
            print(
                f"{name:24}  {n / seconds:6.0f} samples/s  padding {plan.padding_fraction:6.2%}  "
                f"{len(plan.widths):4d} batches  200k ~{200_000 * seconds / n:4.0f} s  ({detail})"
            )
        print(
            f"speed-up {before_s / after_s:.2f}x; max |margin difference| {(after - before).abs().max():.1e}"
        )
        if args.full:
            big = encode_records(records * 10, tok, cfg.model.prompt)
            _, seconds = timed(
                yes_no_margins,
                model,
                big,
                batch_size=rows,
                max_batch_tokens=args.max_batch_tokens,
                **prefix,
                **kwargs,
            )
            print(f"200,000 samples: {seconds:.0f} s measured (target <= {TARGET_200K_S} s)")
        else:
            print(
                f"200,000 samples: ~{200_000 * after_s / n:.0f} s extrapolated "
                f"(target <= {TARGET_200K_S} s; --full measures)"
            )


if __name__ == "__main__":
    main()
