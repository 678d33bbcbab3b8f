"""Evaluation speed. Targets: batched >= 20x one-at-a-time; 200,000 samples <= 5 minutes.

Run: `.venv/bin/python benchmarks/bench_eval.py [--threads 1] [--full]` (--full really scores
200,000 samples; without it the wall time is extrapolated from 20,000).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from hydra import compose, initialize_config_dir

from causal_semloss.batches import encode_records
from causal_semloss.data.build import build_data, read_split
from causal_semloss.modeling import load_backbone
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.schema import checked
from causal_semloss.scoring import yes_no_margins


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as root:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = checked(
                compose(
                    "config",
                    overrides=[f"paths.data_root={root}", "logger=none", "data.n_train=20000"],
                )
            )
        data_dir, _, _ = build_data(cfg)
        records = read_split(data_dir, "train")  # 20k mixed-length in-distribution questions
        backbone = load_backbone(cfg)
        tok = backbone.tokenizer
        kwargs = {"pad_id": tok.pad_token_id, "yes_id": backbone.yes_id, "no_id": backbone.no_id}
        encoded = encode_records(records, tok, cfg.model.prompt)
        single = encode_records(records[:200], tok, cfg.model.prompt)
        start = time.perf_counter()
        yes_no_margins(backbone.model, single, batch_size=1, **kwargs)
        one_at_a_time = len(single) / (time.perf_counter() - start)
        start = time.perf_counter()
        yes_no_margins(backbone.model, encoded, batch_size=cfg.eval.batch_size, **kwargs)
        batched = len(encoded) / (time.perf_counter() - start)
        print(f"threads={args.threads}, model={cfg.model.name}, eval batch={cfg.eval.batch_size}")
        print(f"one at a time: {one_at_a_time:7.0f} samples/s")
        print(
            f"batched:       {batched:7.0f} samples/s  ({batched / one_at_a_time:.0f}x, target >= 20x)"
        )
        if args.full:
            big = encode_records(records * 10, tok, cfg.model.prompt)
            start = time.perf_counter()
            yes_no_margins(backbone.model, big, batch_size=cfg.eval.batch_size, **kwargs)
            print(
                f"200,000 samples: {time.perf_counter() - start:.0f} s measured (target <= 300 s)"
            )
        else:
            print(
                f"200,000 samples: ~{200_000 / batched:.0f} s extrapolated (target <= 300 s; --full measures)"
            )


if __name__ == "__main__":
    main()
