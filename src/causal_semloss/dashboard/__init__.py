"""W&B dashboards as code: a sweep's workspace built from its files (`spec`), its runs read back
from their offline files (`offline_runs`), and the CLI (`python -m causal_semloss.dashboard`)."""
