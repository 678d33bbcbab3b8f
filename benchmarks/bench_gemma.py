"""Real Gemma 3 270M on this machine: scoring and LoRA fine-tuning throughput, side by side.

Why: the 262,144-token vocabulary makes the LM head (640 x 262,144 a token) the largest matmul
of every position, so where only the answer is read (scoring, answer-only CE, L_sem) the suite
projects hidden states onto the vocabulary at the answer position alone. This measures what
that, the shared-prefix KV cache and length-sorted batches buy against the plain call.

Rows, all in one run, same prompts (the paper's chat prompt), same threads:
- `scoring, plain HF call`  tokenizer(padding) -> model(...).logits (every position projected)
                            -> last position's Yes/No logits, batch 8 in input order: the
                            reference every ratio is taken against;
- `scoring, suite`          `yes_no_margins` with the eval config's layout (head at each row's
                            answer only, shared prefix run once, length-sorted token-budget
                            batches); margins checked equal to the plain call's;
- `LoRA step, answer-only`  forward (logits at the answer only) + CE + L_sem + backward + AdamW
                            on LoRA r=32 q/k/v/o, batch 8;
- `LoRA step, whole-text`   the same with CE over the whole text (the paper's baselines): the
                            head runs at every position.
Also peak RSS, and with --profile the top operators of one answer-only step.

Run: `.venv/bin/python benchmarks/bench_gemma.py [--threads 2] [--rows 64] [--steps 4]`
(needs `make gemma3`; `--model tiny_gemma3_it` tries the script on the shipped stand-in).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import torch
from hydra import compose, initialize_config_dir

from causal_semloss.config_checks import checked
from causal_semloss.data.build import build_data, read_split
from causal_semloss.model.batches import encode_records, render_prompt
from causal_semloss.model.scoring import scoring_options, yes_no_margins
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.train.finetune_data import prepare
from causal_semloss.train.trainer import Trainer

BATCH = 8


def _cfg(root: str, args, scope: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return checked(
            compose(
                "config",
                overrides=[
                    f"model={args.model}",
                    "task=transitivity",
                    "loss=scheduled",
                    f"loss.scope={scope}",
                    "logger=none",
                    f"paths.data_root={root}/data",
                    f"runtime.threads={args.threads}",
                    f"train.batch_size={BATCH}",
                    "train.lr=2e-5",
                    "train.val_size=8",
                    f"data.n_train={max(4 * args.rows, 64)}",
                    f"data.n_test={args.rows}",
                ],
            )
        )


def _plain_margins(model, tokenizer, prompts, yes_id, no_id) -> torch.Tensor:
    out = []
    with torch.inference_mode():
        for start in range(0, len(prompts), BATCH):
            enc = tokenizer(prompts[start : start + BATCH], return_tensors="pt", padding=True)
            logits = model(**enc).logits[:, -1].float()
            out.append(logits[:, yes_id] - logits[:, no_id])
    return torch.cat(out)


def _step_rate(trainer: Trainer, steps: int, profile: bool) -> float:
    """Steps/s of the trainer's own step (`accumulate`: forward, loss, backward) + clip + AdamW."""
    model, opt = trainer.model, trainer.optimizer

    def step(s: int) -> None:
        trainer.accumulate(s)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step(0)  # warm-up: allocator, first-call overheads
    start = time.perf_counter()
    for s in range(1, steps + 1):
        step(s)
    rate = steps / (time.perf_counter() - start)
    if profile:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step(steps + 1)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="gemma3_270m")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=64, help="questions scored per method")
    parser.add_argument("--steps", type=int, default=4, help="LoRA steps timed per mode")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as root:
        cfg = _cfg(root, args, "answer")
        backbone, _, _, data_dir = prepare(cfg)
        records = read_split(build_data(cfg)[0], "test")[: args.rows]
        model, tok = backbone.model.eval(), backbone.tokenizer
        prompts = [render_prompt(cfg.model.prompt.template, r) for r in records]
        start = time.perf_counter()
        plain = _plain_margins(model, tok, prompts, backbone.yes_id, backbone.no_id)
        rates["scoring, plain HF call"] = len(prompts) / (time.perf_counter() - start)
        encoded = encode_records(records, tok, cfg.model.prompt)
        start = time.perf_counter()
        suite = yes_no_margins(
            model,
            encoded,
            pad_id=tok.pad_token_id,
            yes_id=backbone.yes_id,
            no_id=backbone.no_id,
            batch_size=cfg.eval.batch_size,
            **scoring_options(cfg.eval, torch.device("cpu")),
        )
        rates["scoring, suite"] = len(prompts) / (time.perf_counter() - start)
        gap = float((plain - suite).abs().max())
        agree = float(((plain > 0) == (suite > 0)).float().mean())
        del model, backbone  # one model in memory at a time: peak RSS is one job's
        for scope, row in (("answer", "LoRA step, answer-only"), ("full", "LoRA step, whole-text")):
            cfg = _cfg(root, args, scope)
            backbone, train_set, val_set, _ = prepare(cfg)
            trainer = Trainer(cfg, f"{root}/{scope}", backbone, train_set, val_set)
            trainer.model.train()
            rates[row] = _step_rate(trainer, args.steps, args.profile and scope == "answer")
            del trainer, backbone
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    tokens = sum(len(p) for p in encoded.prompt_ids) / len(encoded)
    print(
        f"model={args.model}, threads={args.threads}, rows={len(prompts)}, batch={BATCH}, "
        f"mean prompt {tokens:.0f} tokens, steps={args.steps}, peak RSS {peak_gb:.2f} GB"
    )
    for row, rate in rates.items():
        unit = "samples/s" if row.startswith("scoring") else "steps/s"
        print(f"{row:26s} {rate:8.3f} {unit:9s} {1 / rate:7.2f} s each")
    ratio = rates["scoring, suite"] / rates["scoring, plain HF call"]
    print(f"scoring suite / plain       = {ratio:.2f}x (target >= 2.5x, >= 6 samples/s)")
    print(f"margins suite vs plain: max |diff| {gap:.2e}, same answer on {agree:.1%}")
    print(
        f"answer-only / whole-text    = "
        f"{rates['LoRA step, answer-only'] / rates['LoRA step, whole-text']:.2f}x "
        "(target answer-only >= 0.35 steps/s; peak RSS <= 6 GB)"
    )


if __name__ == "__main__":
    main()
