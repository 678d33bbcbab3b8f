"""λ schedules written in config as strings — `constant(0.1)`, `linear(0.05,0.30)`,
`cosine(a,b)`, `step(a,b,at)` — parsed by one pure function into `lambda_at(step)`.

`progress` runs from 0 at the first optimisation step to 1 at the last, so a schedule means the
same thing whatever the run length (the paper's λ rises 0.05 -> 0.30 over the whole run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from causal_semloss.errors import ConfigError

_CALL = re.compile(r"^\s*([a-z]+)\s*\(([^()]*)\)\s*$")
_ARITY = {"constant": 1, "linear": 2, "cosine": 2, "step": 3}


def parse_schedule(spec: str) -> Callable[[float], float]:
    """`spec` -> f(progress in [0, 1]) -> λ. Raises ConfigError on bad syntax, a value that is not
    finite, or λ < 0."""
    match = _CALL.match(spec or "")
    if not match or match.group(1) not in _ARITY:
        raise ConfigError(
            f"unknown schedule {spec!r}; expected one of constant(v), linear(a,b), cosine(a,b), step(a,b,at)"
        )
    name = match.group(1)
    try:
        args = [float(a) for a in match.group(2).split(",")]
    except ValueError:
        raise ConfigError(f"schedule {spec!r}: arguments must be numbers") from None
    if len(args) != _ARITY[name]:
        raise ConfigError(f"schedule {spec!r}: {name} takes {_ARITY[name]} argument(s)")
    if not all(math.isfinite(v) for v in args):
        raise ConfigError(f"schedule {spec!r}: every value must be finite (no nan or inf)")
    values = args if name != "step" else args[:2]
    if any(v < 0 for v in values):
        raise ConfigError(f"schedule {spec!r}: λ must be >= 0")
    if name == "constant":
        return lambda p: args[0]
    a, b = args[0], args[1]
    if name == "linear":
        return lambda p: a + (b - a) * p
    if name == "cosine":
        return lambda p: b + (a - b) * 0.5 * (1 + math.cos(math.pi * p))
    at = args[2]
    if not 0.0 <= at <= 1.0:
        raise ConfigError(
            f"schedule {spec!r}: the switch point must be a fraction of the run in [0, 1]"
        )
    return lambda p: a if p < at else b


def lambda_at(schedule: Callable[[float], float], step: int, total_steps: int) -> float:
    """λ for optimisation step `step` (0-based) of `total_steps`."""
    progress = step / (total_steps - 1) if total_steps > 1 else 1.0
    return schedule(min(max(progress, 0.0), 1.0))
