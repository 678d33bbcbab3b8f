"""The generated parts of docs/: the configuration reference (from the schema and conf/) and the
study and benchmark pages (templates filled from committed result files). Rebuild with
`python -m causal_semloss.docs`; `--check` only says which pages are stale (exit 1)."""
