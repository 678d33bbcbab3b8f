#!/usr/bin/env bash
# Build tiny_gemma3_it candidates side by side on one GPU, within one bounded command.
# How the shipped backbone was made (docs/studies/backbone.md); run on a lent GPU machine as
#   OUT=<dir> bash scripts/gpu_backbone.sh        (TINY=1: a CPU dry run with tiny sizes)
# Writes $OUT/summary.txt (environment, benchmark, corpus log) and one $OUT/<candidate>.tgz per
# candidate (its backbone dir(s) + log). Every step has a timeout so the packing always runs.
set -u
START=$SECONDS
LIMIT=${LIMIT:-540}   # seconds for the whole script
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 WANDB_MODE=disabled OMP_NUM_THREADS=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:src
fi
PY=${PY:-python3}
S=$OUT/summary.txt
{ nvidia-smi -L 2>/dev/null; $PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"; } >"$S" 2>&1

if [ "${TINY:-0}" = 1 ]; then
  DEV="runtime.device=cpu runtime.bf16=false"
  SIZE="model.build.graphs=3000 model.build.val_graphs=200 model.build.stages.lm.steps=10 model.build.stages.instruct.steps=20 model.build.stages.lm.batch_size=32 model.build.stages.instruct.batch_size=32 model.build.stages.lm.eval_steps=10 model.build.stages.instruct.eval_steps=10 model.build.zero_shot_n=100 model.build.card_check.n=50 model.build.workers=2"
  BENCH="--device cpu --steps 5"
else
  DEV="runtime=cuda"
  SIZE="model.build.stages.lm.batch_size=512 model.build.stages.instruct.batch_size=512 model.build.stages.instruct.steps=200000 model.build.stages.lm.time_budget_s=45"
  BENCH="--device cuda --batch-size 128 --steps 300"
fi
COMMON="model=tiny_gemma3_it $DEV logger=none model.build.corpus_cache=/tmp/corpus $SIZE"

echo "== bench_train $BENCH" >>"$S"
timeout 100 $PY benchmarks/bench_train.py $BENCH >>"$S" 2>&1
echo "== corpus (t=$((SECONDS - START)) s)" >>"$S"
timeout 200 $PY -m causal_semloss.train.pretrain $COMMON model.build.corpus_only=true hydra.run.dir=/tmp/h/corpus >>"$S" 2>&1
echo "== candidates (t=$((SECONDS - START)) s)" >>"$S"

declare -A CAND=(
  [c1_128x4]=""
  [c2_128x6]="model.architecture.num_hidden_layers=6"
  [c3_128x4_text]="model.build.stages.instruct.text_loss_weight=0.1 model.build.stages.instruct.lr=2e-3"
  [c4_192x6]="model.architecture.hidden_size=192 model.architecture.num_hidden_layers=6 model.architecture.num_attention_heads=6 model.architecture.num_key_value_heads=6 model.architecture.intermediate_size=768"
)
LEFT=$((LIMIT - (SECONDS - START) - 20))
[ "$LEFT" -lt 120 ] && LEFT=120   # `timeout 0` would mean no limit at all
BUDGET=$((LEFT - 90))   # instruct stage; the rest: start-up, LM stage, zero-shot, writing
[ "${TINY:-0}" = 1 ] && BUDGET=5
for c in "${!CAND[@]}"; do
  LMDIR="model.build.lm_out_dir=/tmp/cand/$c/lm"
  [ "$c" = c4_192x6 ] && LMDIR=""   # keeps its archive under the 16 MB a file may bring back
  timeout "$LEFT" $PY -m causal_semloss.train.pretrain $COMMON ${CAND[$c]} \
    model.build.out_dir=/tmp/cand/$c/it $LMDIR model.build.stages.instruct.time_budget_s=$BUDGET \
    hydra.run.dir=/tmp/h/$c >/tmp/cand_$c.log 2>&1 &
done
wait
echo "== packing (t=$((SECONDS - START)) s)" >>"$S"
for c in "${!CAND[@]}"; do
  mkdir -p /tmp/cand/$c
  grep -v "step/s\|s/step" /tmp/cand_$c.log >/tmp/cand/$c/build.log
  tail -c 3000 /tmp/cand_$c.log >>/tmp/cand/$c/build.log
  tar czf "$OUT/$c.tgz" -C /tmp/cand/$c .
  echo "$c: $(grep '^backbone:' /tmp/cand_$c.log | tr '\n' ' ')" >>"$S"
done
echo "== done (t=$((SECONDS - START)) s)" >>"$S"
cat "$S"
