"""λ schedule strings: one pure parser, every form, and the errors."""

from __future__ import annotations

import pytest

from causal_semloss.errors import ConfigError
from causal_semloss.train.schedules import lambda_at, parse_schedule


@pytest.mark.parametrize(
    ("spec", "progress", "expected"),
    [
        ("constant(0.1)", 0.0, 0.1),
        ("constant(0.1)", 1.0, 0.1),
        ("linear(0.05,0.30)", 0.0, 0.05),
        ("linear(0.05,0.30)", 0.5, 0.175),
        ("linear(0.05, 0.30)", 1.0, 0.30),
        ("cosine(0.0,1.0)", 0.0, 0.0),
        ("cosine(0.0,1.0)", 0.5, 0.5),
        ("cosine(0.0,1.0)", 1.0, 1.0),
        ("step(0.1,0.3,0.5)", 0.49, 0.1),
        ("step(0.1,0.3,0.5)", 0.5, 0.3),
    ],
)
def test_schedule_values(spec, progress, expected):
    assert parse_schedule(spec)(progress) == pytest.approx(expected)


def test_lambda_at_spans_the_whole_run():
    schedule = parse_schedule("linear(0.05,0.30)")
    values = [lambda_at(schedule, step, 11) for step in range(11)]
    assert values[0] == pytest.approx(0.05) and values[-1] == pytest.approx(0.30)
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    assert lambda_at(schedule, 0, 1) == pytest.approx(0.30)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("exp(0.1)", "unknown schedule"),
        ("linear(0.1)", "takes 2"),
        ("constant(-0.1)", "must be >= 0"),
        ("linear(0.1,-0.2)", "must be >= 0"),
        ("constant(abc)", "must be numbers"),
        ("step(0.1,0.2,1.5)", "switch point"),
        ("", "unknown schedule"),
    ],
)
def test_schedule_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_schedule(spec)
