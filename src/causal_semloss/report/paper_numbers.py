"""The paper's reference numbers, kept once as a data file in the package."""

from __future__ import annotations

import json
from functools import cache

from causal_semloss.paths import RESOURCES_DIR


@cache
def paper_numbers() -> dict:
    return json.loads((RESOURCES_DIR / "paper_numbers.json").read_text())
