#!/usr/bin/env bash
# `make reproduce`: the paper's five rows x three seeds at CPU scale (experiment=paper),
# then the report. Prints where the report went and the wall time.
set -euo pipefail
PY=.venv/bin/python
SWEEP=${SWEEP:-multirun/reproduce-$(date +%Y-%m-%d_%H-%M-%S)}
THREADS=${THREADS:-2}
start=$(date +%s)
rc=0  # 1: a job failed (the report lists it) or the sweep was stopped (stderr says how to resume)
$PY -m causal_semloss.run -m experiment=paper runtime.threads="$THREADS" hydra.sweep.dir="$SWEEP" || rc=$?
$PY -m causal_semloss.report "$SWEEP"
echo "reproduce: finished in $(( $(date +%s) - start )) s; report: $SWEEP/report.md"
exit "$rc"
