"""Exports of the suite's evaluation sets for other tools (`python -m causal_semloss.export`)."""
