"""Settings that cannot give a meaningful result are refused at start-up, as one `error:` line
and exit 2, before any file is written: a job that would score no row, prompt words that cannot
tell Yes from No, a template without a field the task needs, an unknown device."""

from __future__ import annotations

import json

import pytest
from hydra import compose, initialize_config_dir

from causal_semloss.paths import CONFIG_DIR
from tests.conftest import RANDOM_WEIGHTS, ROW, TINY_DATA

FAST = [
    *TINY_DATA,
    *RANDOM_WEIGHTS,
    "eval.bootstrap=0",
    "eval.threads=1",
    "logger=none",
    "recipe=zero_shot",
]


def _raw(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=[*FAST, *overrides])


def _refused(entry, tmp_path, capsys, *overrides: str) -> str:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as excinfo:
        entry(_raw(f"paths.data_root={tmp_path / 'data'}", *overrides), str(out))
    assert excinfo.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert not out.exists() or not any(out.iterdir())  # nothing written
    return lines[0]


def _entries():
    from causal_semloss.evaluate.__main__ import run_evaluation
    from causal_semloss.run import run_job

    return {"run": run_job, "evaluate": run_evaluation}


@pytest.mark.parametrize("entry", ["run", "evaluate"])
@pytest.mark.parametrize("override", ["eval.tasks=[]", "eval.splits=[]"])
def test_a_job_that_would_score_no_row_is_refused(tmp_path, capsys, entry, override):
    line = _refused(_entries()[entry], tmp_path, capsys, override)
    key = override.split("=")[0]
    assert f"config {key}: is empty and eval.external lists no file" in line


def test_a_run_scoring_external_sets_only_finishes_in_one_line(tmp_path, capsys):
    from causal_semloss.run import run_job

    path = tmp_path / "ext.jsonl"
    path.write_text(json.dumps(ROW) + "\n")
    cfg = _raw(f"paths.data_root={tmp_path / 'data'}", "eval.tasks=[]", f"eval.external=['{path}']")
    run_job(cfg, str(tmp_path / "out"))  # was a StopIteration after an "ok" result.json
    assert "scored eval.external" in capsys.readouterr().out
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["status"] == "ok"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.prompt.yes_word=No"], "config model.prompt.yes_word: 'No' is the no_word 'No'"),
        (["model.prompt.yes_word=no"], "config model.prompt.yes_word: 'no' is the no_word 'No'"),
        (["model.prompt.yes_word=' '"], "config model.prompt.yes_word: must not be empty"),
        (["model.prompt.template='{premise}\n'"], "model.prompt.template: has no {hypothesis}"),
        (["model.prompt.template='{hypothesis}'"], "model.prompt.template: has no {premise}"),
        (["model.prompt.template='{premise} {hypothesis} {x}'"], "fields no task fills: ['x']"),
        (["model.prompt.answer=Yes"], "model.prompt.answer: has no {label} to fill"),
    ],
)
def test_prompt_settings_that_cannot_tell_yes_from_no_are_refused(
    tmp_path, capsys, overrides, message
):
    from causal_semloss.run import run_job

    assert message in _refused(run_job, tmp_path, capsys, *overrides)


def test_answer_words_the_tokenizer_cannot_tell_apart_are_refused(monkeypatch):
    import causal_semloss.model.backbone as backbone
    from causal_semloss.errors import ConfigError
    from tests.conftest import compose_cfg

    # a character the tiny vocabulary lacks: its unknown token, the same for any such word
    with pytest.raises(ConfigError, match="'∀' is not in the vocabulary"):
        backbone.load_backbone(compose_cfg([*FAST, "model.prompt.yes_word='∀'"]))
    # two words one token (a normalising tokenizer: case, width): refused by id
    monkeypatch.setattr(backbone, "answer_token_id", lambda tokenizer, word, where=None: 7)
    with pytest.raises(ConfigError, match="'Yes' and no_word 'No' are the same token"):
        backbone.load_backbone(compose_cfg(FAST))


@pytest.mark.parametrize("value", ["0", "-5"])
def test_the_checker_refuses_a_max_nodes_below_one(tmp_path, capsys, value):
    from causal_semloss.data.check import main

    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(ROW) + "\n")
    with pytest.raises(SystemExit) as excinfo:
        main([str(path), "--task", "transitivity", "--max-nodes", value])
    assert excinfo.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: --max-nodes must be > 0, got {value}"


def test_run_refuses_eval_model_dir_which_only_evaluate_reads(tmp_path, capsys):
    from causal_semloss.run import run_job

    line = _refused(run_job, tmp_path, capsys, f"eval.model_dir={tmp_path / 'model'}")
    assert line.startswith("error: config eval.model_dir=") and "causal_semloss.evaluate" in line
