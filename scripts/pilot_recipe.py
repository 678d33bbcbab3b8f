"""Pilot runs behind the recipe table in docs/models.md (scratch, one thread per run).

Each row of that table is one call, e.g. the best one:
  OMP_NUM_THREADS=1 .venv/bin/python scripts/pilot_recipe.py --name F --pretrain 6 --lr 1e-3 --minutes 14
Others: --lr 2e-3 [--curriculum 0.4]; --lr 5e-4 --curriculum 0.4; --ov task.splits.train.name_length=[1,1]
task.splits.test.name_length=[1,1] --n_train 50000; --scope full --lr 1e-3; --pretrain 5 --lr 2e-3;
--layers 6 --pretrain 5; --scope full --pretrain 5. Prints (step, seconds, loss, test accuracy, yes-rate).
"""

import argparse
import json
import random
import sys
import time

import torch
from omegaconf import OmegaConf
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "tests"))
import torch.nn.functional as F
from conftest import compose_cfg

from causal_semloss.data.build import build_data, read_split
from causal_semloss.model.batches import collate, encode_records
from causal_semloss.model.scoring import yes_no_margins
from causal_semloss.model.tokenizer import build_tokenizer

p = argparse.ArgumentParser()
p.add_argument("--name")
p.add_argument("--task", default="transitivity")
p.add_argument("--hidden", type=int, default=64)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--warmup", type=int, default=100)
p.add_argument("--minutes", type=float, default=12)
p.add_argument("--n_train", type=int, default=100000)
p.add_argument("--curriculum", type=float, default=0.0)
p.add_argument("--scope", default="answer")
p.add_argument("--ov", nargs="*", default=[])
p.add_argument("--pretrain", type=float, default=0.0)
p.add_argument("--wd", type=float, default=0.0)
p.add_argument("--eval_every", type=int, default=250)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)
PROMPT = {
    "template": "<start_of_turn>user\nGiven the following causal relationships:\n{premise}\n\n{hypothesis}\nPlease answer with only 'Yes' or 'No'.<end_of_turn>\n<start_of_turn>model\n",
    "answer": "{label}<end_of_turn>",
    "yes_word": "Yes",
    "no_word": "No",
}
pc = OmegaConf.create(PROMPT)
cfg = compose_cfg([f"task={a.task}", f"data.n_train={a.n_train}", "paths.data_root=data", *a.ov])
d, m, _ = build_data(cfg)
tok = build_tokenizer(
    [
        PROMPT["template"],
        PROMPT["answer"],
        "A causes B.",
        "Yes No",
        "Does {x} cause {y}?",
        "Are {x} and {y} d-separated given {given}?",
    ]
)
train = read_split(d, "train")
test = read_split(d, "test")
E = encode_records(train, tok, pc)
T = encode_records(test, tok, pc)
hd = a.hidden // a.heads
conf = Gemma3TextConfig(
    vocab_size=len(tok),
    hidden_size=a.hidden,
    num_hidden_layers=a.layers,
    num_attention_heads=a.heads,
    num_key_value_heads=a.heads,
    head_dim=hd,
    query_pre_attn_scalar=hd,
    intermediate_size=4 * a.hidden,
    max_position_embeddings=512,
    sliding_window=512,
    pad_token_id=tok.pad_token_id,
    bos_token_id=tok.bos_token_id,
    eos_token_id=tok.eos_token_id,
)
conf._attn_implementation = "sdpa"
model = Gemma3ForCausalLM(conf)
print(a, sum(p.numel() for p in model.parameters()), flush=True)
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, betas=(0.9, 0.98))
yes, no = tok.convert_tokens_to_ids("Yes"), tok.convert_tokens_to_ids("No")
nodes = [len(r["nodes"]) for r in train]
rng = random.Random(0)


def order():
    idx = list(range(len(train)))
    rng.shuffle(idx)
    return idx


start = time.time()
step = 0
perm = []
log = []
cur_steps = None
while time.time() - start < a.minutes * 60:
    if not perm:
        perm = order()
    if a.curriculum > 0 and (time.time() - start) < a.curriculum * a.minutes * 60:
        # curriculum: sample from examples with <= k nodes, k growing with time
        frac = (time.time() - start) / (a.curriculum * a.minutes * 60)
        k = 3 + int(frac * 4)
        if cur_steps != k:
            pool = [i for i in range(len(train)) if nodes[i] <= k]
            cur_steps = k
        idx = rng.sample(pool, a.batch)
    else:
        idx, perm = perm[: a.batch], perm[a.batch :]
        if len(idx) < a.batch:
            continue
    b = collate(E, idx, tok.pad_token_id, with_answer=True)
    lr = a.lr * min(1.0, (step + 1) / a.warmup)
    for g in opt.param_groups:
        g["lr"] = lr
    pre = (time.time() - start) < a.pretrain * 60
    if pre:
        out = model(
            input_ids=b["input_ids"],
            attention_mask=b["attention_mask"],
            position_ids=b["position_ids"],
            use_cache=False,
        ).logits
        lab = b["labels"].clone()
        lab[:, b["answer_col"] + 1 :] = -100
        loss = F.cross_entropy(
            out[:, :-1].reshape(-1, out.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100
        )
    elif a.scope == "answer":
        out = model(
            input_ids=b["input_ids"],
            attention_mask=b["attention_mask"],
            position_ids=b["position_ids"],
            logits_to_keep=b["input_ids"].shape[1] - b["answer_col"],
            use_cache=False,
        ).logits
        loss = F.cross_entropy(out[:, 0], b["labels"][:, b["answer_col"] + 1])
    else:
        out = model(
            input_ids=b["input_ids"],
            attention_mask=b["attention_mask"],
            position_ids=b["position_ids"],
            use_cache=False,
        ).logits
        loss = F.cross_entropy(
            out[:, :-1].reshape(-1, out.shape[-1]),
            b["labels"][:, 1:].reshape(-1),
            ignore_index=-100,
        )
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    step += 1
    if step % a.eval_every == 0:
        mg = yes_no_margins(model, T, pad_id=tok.pad_token_id, yes_id=yes, no_id=no, batch_size=128)
        acc = ((mg > 0) == T.oracle).float().mean().item()
        yr = (mg > 0).float().mean().item()
        log.append((step, round(time.time() - start), round(loss.item(), 4), acc, yr))
        print(log[-1], flush=True)
        model.train()
with open(f"pilot-{a.name}.json", "w") as handle:
    json.dump(log, handle)
