"""Report stage: read finished sweeps from their files, tables, claims, plots. `python -m causal_semloss.report SWEEP...`."""
