#!/usr/bin/env bash
# `make reproduce`: the paper's five rows x three seeds at CPU scale (experiment=paper),
# then the report. Prints where the report went and the wall time.
set -euo pipefail
PY=.venv/bin/python
SWEEP=${SWEEP:-multirun/reproduce-$(date +%Y-%m-%d_%H-%M-%S)}
THREADS=${THREADS:-2}
start=$(date +%s)
$PY -m causal_semloss.run -m experiment=paper runtime.threads="$THREADS" hydra.sweep.dir="$SWEEP"
$PY -m causal_semloss.report "$SWEEP"
echo "reproduce: finished in $(( $(date +%s) - start )) s; report: $SWEEP/report.md"
