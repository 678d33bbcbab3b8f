#!/usr/bin/env bash
# experiment=claims_full (the claims study at the paper's 150k-example exposure) on one lent GPU,
# within one bounded command: a priority queue of single runs, PAR side by side (through CUDA MPS
# when its daemon starts), no new run once fewer than MIN_START seconds are left, every run
# stopped (SIGTERM: it checkpoints) at the deadline, then packing. Run it as
#   OUT=<dir> LIMIT=540 bash scripts/gpu_claims.sh          (TINY=1: a CPU dry run, tiny sizes)
# Writes $OUT/summary.txt (environment, queue, throughput) and $OUT/runs.tgz (every run dir less
# its weights; a stopped run keeps its trajectory so far in partial_trajectory.json). Rebuild the
# report from it anywhere: `python -m causal_semloss.report <unpacked dir>`.
set -u
T0=$(date +%s)
LIMIT=${LIMIT:-540}          # seconds for the whole script
PACK_S=${PACK_S:-40}         # kept back for stopping, salvaging and packing
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 WANDB_MODE=disabled OMP_NUM_THREADS=1
WORK=${WORK:-/tmp/csl}        # scratch: data and caches (kept), run dirs and logs (emptied first)
export CAUSAL_SEMLOSS_DATA_ROOT=$WORK/data CAUSAL_SEMLOSS_CACHE=$WORK/cache
WHEELS=${WHEELS:-.whl}        # carried wheels (hydra-core, omegaconf, antlr4, hydra-joblib-launcher)
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site:src
fi
export PY=${PY:-python3}
export SWEEP=$WORK/sweep LOGS=$WORK/logs
rm -rf "$SWEEP" "$LOGS" && mkdir -p "$SWEEP" "$LOGS"
S=$OUT/summary.txt
{ nvidia-smi -L 2>/dev/null; nproc; $PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"; } >"$S" 2>&1

if [ "${TINY:-0}" = 1 ]; then
  export DEV="runtime.device=cpu"
  export SIZE="data.n_train=800 data.n_test=100 data.n_eval=100 data.n_adversarial=50 train.epochs=1 train.trajectory.examples=[0,64] train.trajectory.max_examples=50 eval.bootstrap=50 train.checkpoint_steps=5"
  PAR=${PAR:-2}; MIN_START=${MIN_START:-20}; MAX_JOBS=${MAX_JOBS:-5}
else
  export DEV="runtime=cuda runtime.bf16=false"   # fp32 like the CPU study; bf16 casts cost more than they save on a 274k-parameter model
  export SIZE=""
  PAR=${PAR:-12}; MIN_START=${MIN_START:-150}; MAX_JOBS=${MAX_JOBS:-1000}
  # MPS lets the runs' small kernels share the GPU instead of taking turns; fall back without it.
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p /tmp/mps /tmp/mps-log
  if nvidia-cuda-mps-control -d 2>>"$S" \
      && timeout 60 $PY -c "import torch; assert torch.ones(1, device='cuda').sum().item() == 1" 2>>"$S"; then
    echo "MPS: on" >>"$S"
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS: off" >>"$S"
  fi
  (nvidia-smi dmon -s u -d 10 >"$OUT/dmon.txt" 2>&1 &)
fi
export DEADLINE=$((T0 + LIMIT - PACK_S)) MIN_START T0

# Priority order: the untrained backbone, then baseline vs semantic (claims 1-2) on both tasks,
# the CE bug, more seeds, then the other arms. QUEUE=<file> of "task recipe seed" lines replaces
# it (e.g. the arms an earlier run skipped: docs/results/claims_full/queue_next.txt).
JOBS=()
if [ -n "${QUEUE:-}" ]; then mapfile -t JOBS < <(grep -v '^\s*\(#\|$\)' "$QUEUE"); else
for t in transitivity dseparation; do JOBS+=("$t zero_shot 0"); done
for s in 0 1 2; do for t in transitivity dseparation; do for r in baseline semantic; do JOBS+=("$t $r $s"); done; done; done
for s in 0 1 2; do for t in transitivity dseparation; do JOBS+=("$t cebug $s"); done; done
for s in 3 4; do for t in transitivity dseparation; do for r in baseline semantic; do JOBS+=("$t $r $s"); done; done; done
for r in answer_ce static semantic_cebug; do for s in 0 1 2; do for t in transitivity dseparation; do JOBS+=("$t $r $s"); done; done; done
for s in 3 4; do for t in transitivity dseparation; do JOBS+=("$t cebug $s"); done; done
fi

run_job() {
  local t=$1 r=$2 s=$3 name=${1}_${2}_${3} now left rc
  now=$(date +%s); left=$((DEADLINE - now))
  if [ "$left" -lt "$MIN_START" ]; then echo "$name skipped at t=$((now - T0)) s" >>"$LOGS/queue.txt"; return 0; fi
  echo "$name start t=$((now - T0)) s" >>"$LOGS/queue.txt"
  # shellcheck disable=SC2086
  timeout -k 20 "$left" $PY -m causal_semloss.run experiment=claims_full logger=none $DEV $SIZE ${EXTRA:-} \
    task="$t" recipe="$r" seed="$s" hydra.run.dir="$SWEEP/$name" >"$LOGS/$name.log" 2>&1
  rc=$?
  echo "$name rc=$rc end t=$(($(date +%s) - T0)) s" >>"$LOGS/queue.txt"
}
export -f run_job
echo "== queue: ${#JOBS[@]} jobs (first $MAX_JOBS), $PAR side by side, deadline t=$((DEADLINE - T0)) s" >>"$S"
printf '%s\n' "${JOBS[@]:0:$MAX_JOBS}" | xargs -P "$PAR" -L 1 bash -c 'run_job "$@"' _

echo "== salvage and pack (t=$(($(date +%s) - T0)) s)" >>"$S"
# A stopped run checkpointed on SIGTERM: keep its trajectory points so far beside its config.
$PY - "$SWEEP" >>"$S" 2>&1 <<'EOF'
import json, sys
from pathlib import Path
import torch
for ckpt in sorted(Path(sys.argv[1]).glob("*/**/checkpoint.pt")):
    run = ckpt.relative_to(sys.argv[1]).parts[0]
    run_dir = Path(sys.argv[1]) / run
    if (run_dir / "metrics.json").exists():
        continue
    payload = torch.load(ckpt, map_location="cpu", weights_only=False)
    rows = payload.get("trajectory", [])
    (run_dir / "partial_trajectory.json").write_text(json.dumps({"step": payload.get("step"), "trajectory": rows}, indent=1))
    print(f"salvaged {run}: step {payload.get('step')}, {len(rows)} trajectory rows")
EOF
for f in "$LOGS"/*.log; do  # the last training rate, then the log without progress bars
  echo "$(basename "$f" .log): $(tr '\r' '\n' <"$f" | grep -o 'train: *100%.*step/s' | grep -o '[0-9.]*step/s' | tail -1)" >>"$LOGS/speed.txt"
  tr '\r' '\n' <"$f" | grep -v "it/s\]\|step/s\|s/step\|ex/s\]\|s/it\]" >"$f.clean"; mv "$f.clean" "$f"
done
cp "$LOGS/queue.txt" "$OUT/queue.txt" 2>/dev/null
tar czf "$OUT/runs.tgz" --exclude='checkpoint.pt' --exclude='sweep/*/model' -C "$WORK" sweep logs
{
  echo "== queue"; cat "$LOGS/queue.txt"
  echo "== finished runs: $(ls "$SWEEP"/*/metrics.json 2>/dev/null | wc -l)"
  grep -h "collapsed=" "$LOGS"/*.log
  echo "== training rate at the end of each run"; cat "$LOGS/speed.txt"
  echo "== done (t=$(($(date +%s) - T0)) s)"
} >>"$S"
ls -la "$OUT" >>"$S"
cat "$S"
