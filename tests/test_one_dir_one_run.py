"""A dir holds one run, and a refusal changes nothing: a rerun under another config, another
recipe, or an `evaluate` into a run's dir is refused before any file is touched (in a sweep: that
job fails, the others run); a failed job makes the entry point exit non-zero."""

from __future__ import annotations

import json
import sys

import pytest
from omegaconf import OmegaConf

from causal_semloss.errors import ConfigError
from causal_semloss.paths import RESULT, RUN_CONFIG
from tests.conftest import TINY_DATA, compose_cached

BASE = (*TINY_DATA, "logger=none", "model.pretrain.steps=0")


# Hydra run in-process points the loggers at the test's captured stderr: conftest puts them back.
pytestmark = pytest.mark.usefixtures("restore_logging")


def _finished_run(out, *overrides: str) -> dict[str, bytes]:
    """A dir as a finished run of `overrides` leaves it: its config, result, metrics, model."""
    cfg = compose_cached(*BASE, *overrides)
    out.mkdir(parents=True)
    (out / RUN_CONFIG).write_text(json.dumps(OmegaConf.to_container(cfg, resolve=True)))
    (out / RESULT).write_text(json.dumps({"status": "ok", "name": "transitivity_v", "seed": 0}))
    (out / "metrics.json").write_text("{}")
    (out / "model").mkdir()
    (out / "model" / "model.safetensors").write_bytes(b"weights")
    return _snapshot(out)


def _snapshot(out) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("override", "differs"),
    [("train.lr=5e-3", "train"), ("recipe=zero_shot", "recipe"), ("seed=1", "seed")],
)
def test_another_run_into_a_finished_runs_dir_is_refused_untouched(tmp_path, override, differs):
    from causal_semloss.pipeline import run_job

    out = tmp_path / "run"
    before = _finished_run(out, "recipe=baseline")
    with pytest.raises(ConfigError, match=rf"holds another run .*differs in .*{differs}"):
        run_job(compose_cached(*BASE, "recipe=baseline", override), out)
    assert _snapshot(out) == before


def test_a_run_into_an_evaluate_output_dir_is_refused(tmp_path):
    from causal_semloss.pipeline import run_job

    out = tmp_path / "eval"
    (out / "predictions").mkdir(parents=True)
    (out / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="another job's output"):
        run_job(compose_cached(*BASE), out)
    assert not (out / RUN_CONFIG).exists()


def test_evaluate_into_a_run_dir_is_one_error_line_and_changes_nothing(tmp_path, capsys):
    from hydra import compose, initialize_config_dir

    from causal_semloss.evaluate.__main__ import run_evaluation
    from causal_semloss.paths import CONFIG_DIR

    out = tmp_path / "run"
    before = _finished_run(out)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        raw = compose(config_name="config", overrides=list(BASE))
    with pytest.raises(SystemExit) as excinfo:
        run_evaluation(raw, str(out))
    assert excinfo.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {out} holds a run")
    assert _snapshot(out) == before


def test_in_a_sweep_a_refused_job_fails_without_touching_its_dir(tmp_path, monkeypatch, capsys):
    import causal_semloss.run as run
    from causal_semloss.sweep_stop import failed_jobs, stop_scope

    out = tmp_path / "0"
    before = _finished_run(out)
    monkeypatch.setattr(run, "in_sweep", lambda: True)
    with stop_scope():
        run.run_job(compose_cached(*BASE, "train.lr=5e-3"), str(out))  # no SystemExit
        assert failed_jobs() == [str(out)]
    assert capsys.readouterr().err.startswith(f"error: {out} holds another run")
    assert _snapshot(out) == before


def _fake_run_job(failing_seeds: set[int]):
    def run_job(cfg, out_dir):
        base = {"name": "transitivity_v", "seed": cfg.seed, "task": "transitivity"}
        if cfg.seed in failing_seeds:
            return {**base, "status": "failed", "error": "FloatingPointError: nan"}
        s = dict.fromkeys(("id_accuracy", "ood_accuracy", "adversarial_accuracy"), 0.5)
        return {**base, "status": "ok", "summary": {"transitivity": {**s, "collapsed": False}}}

    return run_job


@pytest.mark.parametrize(
    ("args", "failing", "code"),
    [
        ([], {0}, 1),  # a single run that failed
        ([], set(), None),
        (["-m", "seed=0,1,2"], {1}, 1),  # a sweep with one failed job: the others still ran
        (["-m", "seed=0,1"], set(), None),
    ],
)
def test_the_exit_status_says_whether_a_job_failed(tmp_path, monkeypatch, args, failing, code):
    import causal_semloss.run as run

    ran = []
    fake = _fake_run_job(failing)
    monkeypatch.setattr(
        run.pipeline, "run_job", lambda cfg, out: ran.append(cfg.seed) or fake(cfg, out)
    )
    dirs = [f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    monkeypatch.setattr(sys, "argv", ["run", *args, *BASE, *dirs])
    if code is None:
        run.main()
    else:
        with pytest.raises(SystemExit) as excinfo:
            run.main()
        assert excinfo.value.code == code
    assert ran == ([0, 1, 2] if "seed=0,1,2" in args else [0, 1] if "-m" in args else [0])
