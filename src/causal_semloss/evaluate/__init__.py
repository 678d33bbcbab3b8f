"""Evaluate stage: batched prediction on every split, metrics, trivial baselines. `python -m causal_semloss.evaluate`."""
