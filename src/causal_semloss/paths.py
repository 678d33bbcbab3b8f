"""Where the suite's own files live (the Hydra config dir, packaged resources)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The Hydra config ships inside the package (`conf/` at the repository root is a link to it), so
# an installed wheel finds it as an editable install does; CAUSAL_SEMLOSS_CONF overrides it.
CONFIG_DIR = Path(os.environ.get("CAUSAL_SEMLOSS_CONF", PACKAGE_DIR / "conf")).resolve()
RESOURCES_DIR = PACKAGE_DIR / "resources"
# A job dir holds this once its job ended (status ok or failed): the pipeline writes it, the
# report reads it.
RESULT = "result.json"
# A run's resolved config, written by the pipeline when its job starts: whose run the dir holds.
RUN_CONFIG = "config.json"
# A fine-tuned job's training record (history, validation, trajectory): the trainer writes it,
# the pipeline and the report read it.
TRAIN_METRICS = "train_metrics.json"
