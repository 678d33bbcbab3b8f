#!/usr/bin/env bash
# `make reproduce`: the paper's five rows x three seeds at CPU scale (experiment=paper),
# then the report. Prints where the report went and the wall time. The 18 jobs are independent
# and small: JOBS of them run side by side (joblib), THREADS torch threads each — on a 2-core CPU
# two 1-thread jobs train ~1.7x faster in all than one 2-thread job.
set -euo pipefail
PY=.venv/bin/python
SWEEP=${SWEEP:-multirun/reproduce-$(date +%Y-%m-%d_%H-%M-%S)}
THREADS=${THREADS:-1}
JOBS=${JOBS:-2}
start=$(date +%s)
rc=0  # 1: a job failed (the report lists it) or the sweep was stopped (stderr says how to resume)
$PY -m causal_semloss.run -m experiment=paper runtime.threads="$THREADS" \
  hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS" hydra.sweep.dir="$SWEEP" || rc=$?
$PY -m causal_semloss.report "$SWEEP"
echo "reproduce: finished in $(( $(date +%s) - start )) s; report: $SWEEP/report.md"
exit "$rc"
