"""Fuzzing the external loader and the checker: random bytes, random JSON shapes and random
Unicode names never raise anything but a one-line DataError, and every row is accounted for
(valid + each invalid reason == rows; scored + each skip reason == rows)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_semloss.data.external import check_external, load_external
from causal_semloss.errors import DataError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = ("premise", "hypothesis", "label", "prompt", "completion", "companion")
_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
# Word characters of any script, combining marks, separators, and a few hostile ones.
_CHARS = st.characters(
    categories=("L", "M", "Nd", "Pd", "Po", "Zs", "Cs"), include_characters="'’.-_{}?"
)
_NAME = st.text(_CHARS, min_size=1, max_size=5)
_TEXT = st.text(_CHARS, max_size=30)
# Rows of the right shape with hostile values, so most examples get past the shape checks.
_SHAPED = st.fixed_dictionaries(
    {"premise": _TEXT, "hypothesis": _TEXT, "label": _JSON},
    optional={"companion": _JSON},
) | st.fixed_dictionaries(
    {"prompt": _TEXT, "completion": _JSON}, optional={"companion": st.booleans()}
)


def _check_both(path: Path, task: str) -> None:
    """Either one DataError line, or a summary and a load that account for every row."""
    try:
        summary = check_external(path, task)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert summary["valid"] + sum(summary["invalid"].values()) == summary["n"]
    for mode in ("keep", "drop"):
        try:
            loaded = load_external(path, task, on_invalid=mode)
        except DataError as exc:  # a file of the other task: refused with a hint
            assert "\n" not in str(exc)
            return
        assert loaded.summary() == summary
        assert len(loaded.records) + sum(loaded.skipped.values()) == summary["n"]
        for record in loaded.records:
            (record["premise"] + record["hypothesis"]).encode("utf-8")  # tokenizable


def _file(content: bytes) -> Path:
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as handle:
        handle.write(content)
    return Path(handle.name)


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from(["transitivity", "dseparation"]))
def test_random_bytes(content, task):
    path = _file(content)
    try:
        _check_both(path, task)
    finally:
        path.unlink()


@SETTINGS
@given(
    st.lists(
        _SHAPED | st.dictionaries(st.sampled_from(FIELDS), _JSON | _NAME, max_size=6) | _JSON,
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["transitivity", "dseparation"]),
)
def test_random_json_shapes(rows, task):
    path = _file("".join(json.dumps(r) + "\n" for r in rows).encode())
    try:
        _check_both(path, task)
    finally:
        path.unlink()


@SETTINGS
@given(
    st.lists(st.tuples(_NAME, _NAME), min_size=1, max_size=4),
    _NAME,
    _NAME,
    st.lists(_NAME, max_size=2),
    st.sampled_from(["Yes", "No", "maybe", None]),
)
def test_random_unicode_names(edges, x, y, given_nodes, label):
    premise = " ".join(f"{u} causes {v}." for u, v in edges)
    rows = [
        {"premise": premise, "hypothesis": f"Does {x} cause {y}?", "label": label},
        {
            "premise": premise,
            "hypothesis": f"Are {x} and {y} d-separated given {{{', '.join(given_nodes)}}}?",
            "label": label,
        },
    ]
    path = _file("".join(json.dumps(r) + "\n" for r in rows).encode())
    try:
        for task in ("transitivity", "dseparation"):
            _check_both(path, task)
    finally:
        path.unlink()
