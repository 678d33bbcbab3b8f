"""Training step cost. Targets: loss=scheduled / loss=none <= 1.05; trainer step / bare
forward+backward+AdamW <= 1.2. Also tiny_gemma3's training samples/s on this machine.

Run: `.venv/bin/python benchmarks/bench_train.py [--threads 1] [--steps 30]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from causal_semloss.batches import collate
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.schema import checked
from causal_semloss.training import Trainer, prepare


def _cfg(root: str, loss: str, threads: int):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return checked(
            compose(
                "config",
                overrides=[
                    f"loss={loss}",
                    "loss.scope=answer",
                    "logger=none",
                    f"paths.data_root={root}",
                    f"train.threads={threads}",
                    "data.n_train=4000",
                ],
            )
        )


def _median_step(fn, steps: int) -> float:
    for _ in range(3):  # warm-up
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as root:
        results = {}
        for loss in ("none", "scheduled"):
            cfg = _cfg(root, loss, args.threads)
            backbone, train_set, val_set, _ = prepare(cfg)
            trainer = Trainer(cfg, root, backbone, train_set, val_set)
            counter = iter(range(10**9))
            results[loss] = _median_step(
                lambda t=trainer, c=counter: t.train_step(next(c)), args.steps
            )
        # bare loop: same model, same batches, no trainer
        model = trainer.model
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        pad = backbone.tokenizer.pad_token_id
        batches = [
            collate(train_set, list(range(i * 32, i * 32 + 32)), pad, with_answer=True)
            for i in range(40)
        ]
        counter = iter(range(10**9))

        def bare_step():
            b = batches[next(counter) % len(batches)]
            keep = b["input_ids"].shape[1] - b["answer_col"]
            logits = model(
                input_ids=b["input_ids"],
                attention_mask=b["attention_mask"],
                position_ids=b["position_ids"],
                logits_to_keep=keep,
                use_cache=False,
            ).logits
            loss = F.cross_entropy(logits[:, 0], b["labels"][:, b["answer_col"] + 1])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        bare = _median_step(bare_step, args.steps)
    batch = cfg.train.batch_size
    print(
        f"threads={args.threads}, batch={batch}, model={cfg.model.name} "
        f"({sum(p.numel() for p in model.parameters()):,} params)"
    )
    print(f"bare fwd+bwd+AdamW   {1000 * bare:7.1f} ms/step  {batch / bare:6.0f} samples/s")
    print(
        f"trainer, loss=none   {1000 * results['none']:7.1f} ms/step  {batch / results['none']:6.0f} samples/s"
    )
    print(
        f"trainer, scheduled   {1000 * results['scheduled']:7.1f} ms/step  {batch / results['scheduled']:6.0f} samples/s"
    )
    print(f"scheduled / none = {results['scheduled'] / results['none']:.3f} (target <= 1.05)")
    print(f"trainer / bare   = {results['none'] / bare:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
