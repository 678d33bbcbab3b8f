"""Plot validation accuracy vs steps from train_metrics.json files (docs/models.md).

Usage: .venv/bin/python scripts/plot_learning_curves.py OUT.png LABEL=RUN_DIR [LABEL=RUN_DIR ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from causal_semloss.report.plots import learning_curve_plot


def main() -> None:
    out, *pairs = sys.argv[1:]
    runs = {}
    for pair in pairs:
        label, run_dir = pair.split("=", 1)
        runs[label] = json.loads((Path(run_dir) / "train_metrics.json").read_text())
    learning_curve_plot(
        runs, Path(out), bars={"bar: transitivity 95%": 0.95, "bar: d-separation 85%": 0.85}
    )
    print(out)


if __name__ == "__main__":
    main()
