"""The paper's reference numbers, kept once as a data file in the package; what the report says
about the paper (claim titles, run counts, ranges) is derived from it here, never retyped."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from functools import cache

from causal_semloss.paths import RESOURCES_DIR
from causal_semloss.report.settings import paper_row_of
from causal_semloss.tasks import PAPER_TASKS


@cache
def paper_numbers() -> dict:
    return json.loads((RESOURCES_DIR / "paper_numbers.json").read_text())


def paper_models(role: str) -> list[dict]:
    """The headline rows of the paper's `role` models ("baseline", "semantic"), one per paper
    task, in task order: each (task, recipe)'s paper row by `report.paper_rows`."""
    headline = paper_numbers()["headline"]
    return [headline[paper_row_of(task, role)] for task in PAPER_TASKS]


def collapsed_runs(role: str) -> tuple[int, int]:
    """(collapsed, runs) among the paper's `role` models, from their `collapse` column."""
    models = paper_models(role)
    return sum(m["collapse"] != "none" for m in models), len(models)


def whole_percent_range(values: Iterable[float]) -> str:
    """The whole percents enclosing `values`, as the paper's abstract states its ranges
    (1.2 and 3.4 -> "1–4")."""
    values = list(values)
    return f"{math.floor(min(values))}–{math.ceil(max(values))}"
