"""The committed run dirs of one arm: `<runs>/<task>_<arm>_<seed>/`, the seed digits only, so
`semantic` does not also pick up `semantic_constant0.3_0` (another arm that shares a recipe)."""

from __future__ import annotations

import re
from pathlib import Path


def run_files(runs: Path, task: str, arm: str, name: str) -> list[Path]:
    """`name` in every run dir of `task` x `arm`, by seed."""
    pattern = re.compile(rf"{re.escape(task)}_{re.escape(arm)}_(\d+)")
    found = [
        (int(m.group(1)), d / name) for d in runs.iterdir() if (m := pattern.fullmatch(d.name))
    ]
    return [path for _, path in sorted(found) if path.exists()]
