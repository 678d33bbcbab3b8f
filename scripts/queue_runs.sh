#!/usr/bin/env bash
# A priority queue of single runs on this machine, PAR side by side (default 2, one thread each:
# on a 2-core CPU that trains ~1.7x faster in all than one 2-thread job). Usage:
#   bash scripts/queue_runs.sh QUEUE_FILE SWEEP_DIR [extra overrides...]
# QUEUE_FILE: one job a line, "name override override ...", most informative first; # comments.
# Each job runs `python -m causal_semloss.run <overrides> <extra> hydra.run.dir=SWEEP_DIR/name`.
# Rerunnable: a job whose result.json exists is skipped, a stopped one resumes from its
# checkpoint. Each job's log is SWEEP_DIR/logs/name.log; SWEEP_DIR/logs/queue.txt has start, end,
# exit status and wall seconds of every job.
set -u
QUEUE=${1:?queue file}; SWEEP=${2:?sweep dir}; shift 2
export EXTRA="$*" SWEEP PY=${PY:-.venv/bin/python}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
PAR=${PAR:-2}
mkdir -p "$SWEEP/logs"
run_job() {
  local name=$1; shift
  if [ -f "$SWEEP/$name/result.json" ]; then echo "$name already finished" >>"$SWEEP/logs/queue.txt"; return 0; fi
  local t0; t0=$(date +%s)
  echo "$name start $(date -u +%FT%TZ)" >>"$SWEEP/logs/queue.txt"
  # shellcheck disable=SC2086
  $PY -m causal_semloss.run "$@" $EXTRA hydra.run.dir="$SWEEP/$name" >>"$SWEEP/logs/$name.log" 2>&1
  echo "$name rc=$? end $(date -u +%FT%TZ) wall_s=$(($(date +%s) - t0))" >>"$SWEEP/logs/queue.txt"
}
export -f run_job
grep -v '^\s*\(#\|$\)' "$QUEUE" | xargs -P "$PAR" -L 1 bash -c 'run_job "$@"' _
