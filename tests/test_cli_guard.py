"""The entry points' command line before Hydra composes it, and Ctrl-C: an unknown option of a
config group, a run dir that is a file and an unknown device are one `error:` line, exit 2;
Ctrl-C is one line, exit 130, and an interrupted evaluation leaves no partial predictions/."""

from __future__ import annotations

import json
import sys

import pytest

from causal_semloss.cli_overrides import check_overrides
from causal_semloss.errors import ConfigError
from tests.conftest import RANDOM_WEIGHTS, TINY_DATA, compose_cfg

# Hydra run in-process points the loggers at the test's captured stderr: conftest puts them back.
pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["task=foo"], "config task: unknown option 'foo'; one of ['common_cause', 'dseparation'"),
        (["recipe=nope"], "config recipe: unknown option 'nope'; one of ['answer_ce'"),
        (["model=nope"], "config model: unknown option 'nope'"),
        (["experiment=nope"], "config experiment: unknown option 'nope'"),
        (["model/prompt=nope"], "config model/prompt: unknown option 'nope'"),
        (["-m", "task=transitivity,foo"], "config task: unknown option 'foo'"),
    ],
)
def test_an_unknown_group_option_is_refused(args, message):
    with pytest.raises(ConfigError, match=rf"^{message.replace('[', '.').replace(']', '.')}"):
        check_overrides(args)


def test_known_options_and_other_overrides_pass(tmp_path):
    check_overrides(
        [
            "-m",
            "task=dseparation,transitivity",
            "recipe=zero_shot",
            "experiment=smoke",
            "model/prompt=paper",
            "task@tasks.transitivity=transitivity",
            "hydra/launcher=joblib",
            "data.n_train=5",
            "seed=0,1",
            f"hydra.run.dir={tmp_path / 'new'}",
            "--cfg",
            "job",
        ]
    )


def test_another_config_dir_leaves_the_groups_to_hydra(tmp_path):
    check_overrides(["--config-dir", str(tmp_path), "experiment=mine"])
    check_overrides([f"hydra.searchpath=[file://{tmp_path}]", "experiment=mine"])


def _main_exits(monkeypatch, capsys, module: str, *args: str) -> tuple[int, str]:
    import importlib

    main = importlib.import_module(module).main
    monkeypatch.setattr(sys, "argv", [module, *args])
    with pytest.raises(SystemExit) as excinfo:
        main()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return excinfo.value.code, lines[0]


@pytest.mark.parametrize(
    "module",
    ["causal_semloss.run", "causal_semloss.evaluate.__main__", "causal_semloss.data.__main__"],
)
def test_the_entry_points_refuse_an_unknown_task_and_a_run_dir_that_is_a_file(
    tmp_path, monkeypatch, capsys, module
):
    code, line = _main_exits(monkeypatch, capsys, module, "task=foo", "logger=none")
    assert code == 2 and line.startswith("error: config task: unknown option 'foo'")
    file = tmp_path / "a_file"
    file.write_text("x")
    code, line = _main_exits(monkeypatch, capsys, module, f"hydra.run.dir={file}")
    assert code == 2 and line == f"error: hydra.run.dir={file}: exists and is not a dir"


def test_an_unknown_device_is_one_error_line(tmp_path, capsys):
    from hydra import compose, initialize_config_dir

    from causal_semloss.evaluate.__main__ import run_evaluation
    from causal_semloss.paths import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        raw = compose(config_name="config", overrides=["runtime.device=bogus", "logger=none"])
    with pytest.raises(SystemExit) as excinfo:
        run_evaluation(raw, str(tmp_path / "out"))
    assert excinfo.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: config runtime.device: unknown device 'bogus'; expected auto, cpu, cuda or cuda:N"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("module", "inner"),
    [
        ("causal_semloss.data.__main__", "generate"),
        ("causal_semloss.evaluate.__main__", "run_evaluation"),
    ],
)
def test_ctrl_c_is_one_line_exit_130(tmp_path, monkeypatch, capsys, module, inner):
    import importlib

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(module), inner, interrupted)
    code, line = _main_exits(monkeypatch, capsys, module, f"hydra.run.dir={tmp_path}")
    assert code == 130 and line.startswith("stopped: interrupted")


FAST = [
    *TINY_DATA,
    *RANDOM_WEIGHTS,
    "eval.bootstrap=0",
    "eval.threads=1",
    "eval.max_examples=8",
    "eval.tasks=[transitivity]",
    "eval.splits=[test,length]",
    "logger=none",
]


def test_an_interrupted_evaluation_leaves_the_previous_predictions_and_metrics(
    tmp_path, monkeypatch
):
    import causal_semloss.evaluate.evaluation as evaluation
    from causal_semloss.model.backbone import load_backbone

    # eval.cache=false: the second evaluation must score again (and be interrupted), not read
    # the first one's margins.
    cfg = compose_cfg([*FAST, f"paths.data_root={tmp_path / 'data'}", "eval.cache=false"])
    backbone, out = load_backbone(cfg), tmp_path / "out"
    evaluation.evaluate(cfg, backbone, out)
    before = {p.name: p.read_bytes() for p in (out / "predictions").iterdir()}
    metrics = (out / "metrics.json").read_bytes()
    assert len(before) == 2

    real, calls = evaluation.predict_encoded, []

    def interrupted_on_the_second_set(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "predict_encoded", interrupted_on_the_second_set)
    with pytest.raises(KeyboardInterrupt):
        evaluation.evaluate(cfg, backbone, out)
    assert {p.name: p.read_bytes() for p in (out / "predictions").iterdir()} == before
    assert (out / "metrics.json").read_bytes() == metrics
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "predictions"]  # no staging
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        evaluation.evaluate(cfg, backbone, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists() or not any((tmp_path / "fresh").iterdir())
    assert json.loads(metrics)["splits"]  # the pair left is a whole one
