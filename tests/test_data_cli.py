"""The data CLI as a user runs it: a summary table, and one clear line for bad config."""

from __future__ import annotations

import pytest

from tests.conftest import TINY_DATA, run_cli


def test_generates_and_prints_a_table(tmp_path):
    result = run_cli(
        "causal_semloss.data",
        "task=dseparation",
        *TINY_DATA,
        f"paths.data_root={tmp_path}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("wrote ")
    assert lines[1].split()[:3] == ["split", "n", "%Yes"]
    assert [line.split()[0] for line in lines[2:]] == [
        "train",
        "test",
        "length",
        "branching",
        "reversed",
        "shuffled",
        "long_names",
        "adversarial",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task=causality", "causality"),
        ("data.n_train=0", "data.n_train: must be > 0"),
        ("data.n_train=many", "data.n_train"),
        # each a subprocess (~8 s here): the other range checks run with the slow tests
        pytest.param("data.n_eval=-5", "data.n_eval: must be > 0", marks=pytest.mark.slow),
        pytest.param(
            "task.splits.long_names.name_length=[0,3]",
            "task.splits.long_names.name_length: must be >= 1",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "task.splits.branching.branching_factor=[1.4,9]",
            "task.splits.branching.branching_factor: must be <= 4.0",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "+data.yes_rate.bogus=0.5", "data.yes_rate.bogus: unknown split", marks=pytest.mark.slow
        ),
    ],
)
def test_bad_config_fails_fast_with_one_line(tmp_path, override, message):
    result = run_cli(
        "causal_semloss.data",
        override,
        f"paths.data_root={tmp_path / 'data'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert message in error_lines[0]
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
