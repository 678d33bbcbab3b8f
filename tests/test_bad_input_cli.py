"""Bad input through the entry points: external sets keep their own keys, keep mode scores what
it can and counts the rest, prompts are capped before anything is allocated, bad settings and
bad paths are refused at start-up, and every expected failure is one `error:` line, exit 2."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from causal_semloss.errors import ConfigError, DataError, exit_on_user_error
from causal_semloss.paths import CONFIG_DIR
from tests.conftest import RANDOM_WEIGHTS, ROW, TINY_DATA, compose_cfg, run_cli

# Random weights, nothing pre-trained, one thread, no bootstrap: an evaluation in a second.
FAST = [
    *RANDOM_WEIGHTS,
    "eval.bootstrap=0",
    "eval.threads=1",
    "eval.batch_size=16",
    "logger=none",
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def _raw(*overrides: str):
    """The composed config *before* the start-up checks (what a CLI receives from Hydra)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def _externals(*paths: Path) -> str:
    return "eval.external=[" + ",".join(f"'{p}'" for p in paths) + "]"


def _error_line(capsys, excinfo) -> str:
    assert excinfo.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def backbone():
    """One random-weight tiny backbone for every evaluation here (it depends on no eval key)."""
    from causal_semloss.model.backbone import load_backbone

    return load_backbone(compose_cfg(FAST))


def _evaluate(backbone, tmp_path: Path, *overrides: str) -> dict:
    from causal_semloss.evaluate.evaluation import evaluate

    cfg = compose_cfg([*TINY_DATA, f"paths.data_root={tmp_path / 'data'}", *FAST, *overrides])
    return evaluate(cfg, backbone, tmp_path / "out")


def test_external_sets_never_replace_builtin_splits_or_each_other(backbone, tmp_path):
    # The case: a file named test.jsonl beside the built-in test split, and two
    # files with the same stem in different dirs.
    test_file = _write(tmp_path / "mine" / "test.jsonl", [ROW] * 3)
    first = _write(tmp_path / "a" / "ext.jsonl", [ROW] * 4)
    second = _write(tmp_path / "b" / "ext.jsonl", [{**ROW, "label": "No"}] * 5)
    metrics = _evaluate(
        backbone,
        tmp_path,
        "eval.tasks=[transitivity]",
        "eval.splits=[test]",
        "eval.max_examples=10",
        _externals(test_file, first, second),
    )
    splits = metrics["splits"]
    assert splits["transitivity/test"]["n"] == 10
    assert "invalid" not in splits["transitivity/test"]
    for path, n in ((test_file, 3), (first, 4), (second, 5)):
        entry = splits[f"transitivity/external:{path}"]
        assert entry["n"] == n and entry["path"] == str(path)
        assert set(metrics["baselines"]["always_yes"]) == set(splits)
    predictions = sorted(p.name for p in (tmp_path / "out" / "predictions").glob("*.jsonl"))
    assert len(predictions) == 4 and "transitivity__test.jsonl" in predictions
    n_lines = sorted(
        len((tmp_path / "out" / "predictions" / name).read_text().splitlines())
        for name in predictions
    )
    assert n_lines == [3, 4, 5, 10]


def test_the_authors_prompt_rows_score_as_their_premise_hypothesis_rows(backbone, tmp_path):
    """The issue's case: the same questions scored 4/4 as premise/hypothesis and 2/4 as the
    authors' {prompt, completion} rows (chat tail inside the question, template around it
    again). Both shapes must give the model the same prompt: the same margins."""
    from tests.test_external_prompts import PAPER_PROMPT, QUESTIONS

    plain = _write(
        tmp_path / "plain.jsonl",
        [{"premise": p, "hypothesis": h, "label": a} for p, h, a in QUESTIONS],
    )
    prompted = _write(
        tmp_path / "prompted.jsonl",
        [
            {
                "prompt": PAPER_PROMPT.format(premise=p, hypothesis=h),
                "completion": f"{a}<end_of_turn>",
            }
            for p, h, a in QUESTIONS
        ],
    )
    metrics = _evaluate(backbone, tmp_path, "eval.tasks=[]", _externals(plain, prompted))
    margins = []
    for path in (plain, prompted):
        assert metrics["splits"][f"transitivity/external:{path}"]["n"] == len(QUESTIONS)
        name = next((tmp_path / "out" / "predictions").glob(f"*{path.stem}-*.jsonl"))
        margins.append([json.loads(line)["margin"] for line in name.read_text().splitlines()])
    assert margins[0] == margins[1]


def test_the_same_external_file_twice_is_refused(tmp_path):
    path = _write(tmp_path / "x.jsonl", [ROW])
    with pytest.raises(ConfigError, match="eval.external.*twice"):
        compose_cfg([_externals(path, path)])


@pytest.mark.parametrize("other", ["./test.jsonl", "absolute", "symlink", "hardlink"])
def test_one_external_file_by_two_names_is_refused(tmp_path, monkeypatch, capsys, other):
    """The issue's `eval.external=[test.jsonl,/abs/path/test.jsonl,./test.jsonl]`: one file,
    which would be scored as three sets under three keys."""
    from causal_semloss.evaluate.__main__ import run_evaluation

    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "test.jsonl", [ROW])
    if other == "absolute":
        other = str(tmp_path / "test.jsonl")
    elif other in ("symlink", "hardlink"):
        link = tmp_path / "link.jsonl"
        link.symlink_to("test.jsonl") if other == "symlink" else link.hardlink_to("test.jsonl")
        other = "link.jsonl"
    with pytest.raises(SystemExit) as excinfo:
        run_evaluation(_raw(*FAST, f"eval.external=[test.jsonl,'{other}']"), str(tmp_path / "out"))
    line = _error_line(capsys, excinfo)
    assert (
        line == f"error: config eval.external: lists test.jsonl twice (as test.jsonl and {other})"
    )
    assert not (tmp_path / "out").exists()


BAD_ROWS = [
    ROW,
    {**ROW, "label": "Maybe"},  # bad_label: scored against the oracle, which ran
    {"premise": "A causes B.", "hypothesis": "Is A a cause?", "label": "No"},  # no question
    # no oracle and no label: nothing to score against, skipped and counted
    {"premise": "A never causes B.", "hypothesis": "Is it?", "label": "Maybe"},
]


def test_keep_mode_with_bad_label_and_unparseable_rows_writes_metrics(backbone, tmp_path):
    path = _write(tmp_path / "bad.jsonl", BAD_ROWS)
    metrics = _evaluate(backbone, tmp_path, "eval.tasks=[]", _externals(path))
    entry = metrics["splits"][f"transitivity/external:{path}"]
    assert entry["n"] == 3 and entry["skipped"] == {"no_answer": 1}
    assert entry["invalid"]["invalid"] == {"bad_label": 2, "unparseable_question": 1}
    assert entry["valid_rows"]["n"] == 1
    for name in ("always_yes", "always_no", "direct_link"):
        assert metrics["baselines"][name][f"transitivity/external:{path}"]["n"] == 3
    assert (tmp_path / "out" / "metrics.json").is_file()


def test_a_transitivity_file_in_a_dseparation_job_is_one_error_line(tmp_path, capsys):
    from causal_semloss.evaluate.__main__ import run_evaluation

    path = _write(tmp_path / "trans.jsonl", [ROW, {**ROW, "label": "No"}])
    cfg = _raw(*FAST, "task=dseparation", "eval.tasks=[]", _externals(path))
    with pytest.raises(SystemExit) as excinfo:
        run_evaluation(cfg, str(tmp_path / "out"))
    line = _error_line(capsys, excinfo)
    assert str(path) in line and "dseparation question" in line and "eval.external_task" in line


def _chain(n: int) -> str:
    return " ".join(f"n{i} causes n{i + 1}." for i in range(n))


def test_prompts_over_the_token_cap_are_never_scored(backbone, tmp_path, monkeypatch):
    import causal_semloss.evaluate.evaluation as evaluation

    longest = []
    real = evaluation.yes_no_margins

    def spy(model, encoded, **kwargs):
        longest.append(max(len(p) for p in encoded.prompt_ids))
        return real(model, encoded, **kwargs)

    monkeypatch.setattr(evaluation, "yes_no_margins", spy)
    rows = [
        ROW,
        # too_large (over data.max_nodes), kept by default: its prompt is far over the cap
        {"premise": _chain(300), "hypothesis": "Does n0 cause n300?", "label": "Yes"},
        # valid, but a long premise
        {"premise": _chain(150), "hypothesis": "Does n0 cause n150?", "label": "Yes"},
    ]
    path = _write(tmp_path / "big.jsonl", rows)
    for mode in ("keep", "drop"):
        metrics = _evaluate(
            backbone,
            tmp_path,
            "eval.cache=false",  # the spy must see every scoring, none read from the cache
            "eval.tasks=[]",
            "eval.max_prompt_tokens=64",
            f"eval.on_invalid={mode}",
            _externals(path),
        )
        entry = metrics["splits"][f"transitivity/external:{path}"]
        assert entry["n"] == 1
        expected = (
            {"prompt_too_long": 2} if mode == "keep" else {"prompt_too_long": 1, "dropped": 1}
        )
        assert entry["skipped"] == expected
        assert max(longest) <= 64
    with pytest.raises(DataError, match=r"big.jsonl:2: prompt of \d+ tokens.*max_prompt_tokens"):
        _evaluate(
            backbone,
            tmp_path,
            "eval.tasks=[]",
            "eval.max_prompt_tokens=64",
            "eval.on_invalid=error",
            "data.max_nodes=400",
            _externals(path),
        )


def test_builtin_split_over_the_token_cap_is_a_config_error(backbone, tmp_path):
    with pytest.raises(ConfigError, match="transitivity/length.*eval.max_prompt_tokens"):
        _evaluate(
            backbone,
            tmp_path,
            "eval.tasks=[transitivity]",
            "eval.splits=[length]",
            "eval.max_examples=4",
            "eval.max_prompt_tokens=8",
        )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("eval.threads=0", "config eval.threads: must be > 0"),
        ("eval.max_prompt_tokens=0", "config eval.max_prompt_tokens: must be > 0"),
        ("eval.generate_tokens=0", "config eval.generate_tokens: must be > 0"),
        (f"seed={10**15}", "config seed: must be in [0, 2**32)"),
        ("seed=-1", "config seed: must be in [0, 2**32)"),
        ("model.pretrain.seed=-1", "config model.pretrain.seed: must be in [0, 2**32)"),
    ],
)
def test_bad_settings_are_refused_at_start_up(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        compose_cfg([override, "eval.method=generate"])


def test_a_refused_setting_is_one_error_line(tmp_path, capsys):
    from causal_semloss.evaluate.__main__ import run_evaluation

    with pytest.raises(SystemExit) as excinfo:
        run_evaluation(_raw(f"seed={10**15}"), str(tmp_path))
    assert (
        _error_line(capsys, excinfo) == f"error: config seed: must be in [0, 2**32), got {10**15}"
    )


@pytest.mark.parametrize("kind", ["missing", "directory", "device"])
def test_bad_external_paths_are_refused_before_any_training(tmp_path, capsys, monkeypatch, kind):
    import causal_semloss.pipeline as pipeline
    from causal_semloss.run import run_job

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking eval.external")

    monkeypatch.setattr(pipeline, "train", no_training)
    path, message = {
        "missing": (tmp_path / "missing.jsonl", "no such file"),
        "directory": (tmp_path, "is a directory"),
        "device": (Path(os.devnull), "not a regular file"),
    }[kind]
    with pytest.raises(SystemExit) as excinfo:
        run_job(_raw(*FAST, _externals(path)), str(tmp_path / "job"))
    line = _error_line(capsys, excinfo)
    assert line.startswith(f"error: config eval.external: {path}: {message}")


INVALID = {"premise": "A never causes B.", "hypothesis": "Does A cause B?", "label": "Yes"}
NO_ANSWER = {"premise": "A never causes B.", "hypothesis": "Is it?", "label": "Maybe"}
# (rows, overrides, what the error says): files of which no row is left to score.
NOTHING_TO_SCORE = {
    "all-dropped": ([INVALID] * 2, ["eval.on_invalid=drop"], "2 rows skipped: 2 dropped"),
    "all-no-answer": ([NO_ANSWER] * 3, [], "3 rows skipped: 3 no_answer"),
    "all-too-long": ([ROW] * 2, ["eval.max_prompt_tokens=4"], "2 prompt_too_long"),
}


@pytest.mark.parametrize("case", sorted(NOTHING_TO_SCORE))
def test_an_external_set_with_no_row_to_score_is_one_error_line(tmp_path, capsys, case):
    """Was an IndexError from model/batches.py (a bare one under `run`)."""
    from causal_semloss.evaluate.__main__ import run_evaluation

    rows, overrides, why = NOTHING_TO_SCORE[case]
    path = _write(tmp_path / "none.jsonl", rows)
    cfg = _raw(*FAST, "eval.tasks=[]", *overrides, _externals(path))
    with pytest.raises(SystemExit) as excinfo:
        run_evaluation(cfg, str(tmp_path / "out"))
    assert excinfo.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if not line.startswith("evaluate:")]  # tqdm's bar aside
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: no row to score ("), err
    assert why in lines[0]
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no rows"),
        ('{"premise": "A causes B.",\n', "1: malformed JSON"),
        ("\n".join(json.dumps(NO_ANSWER) for _ in range(2)) + "\n", "no row to score"),
        (json.dumps(ROW) + "\n" + json.dumps(INVALID) + "\n", "2: invalid row"),
    ],
    ids=["empty", "malformed", "nothing-to-score", "invalid-under-error"],
)
@pytest.mark.parametrize("entry", ["run", "evaluate"])
def test_external_file_content_is_checked_before_any_training(
    tmp_path, capsys, monkeypatch, entry, content, message
):
    import causal_semloss.evaluate.__main__ as evaluate_main
    import causal_semloss.pipeline as pipeline
    from causal_semloss.run import run_job

    def too_late(*args, **kwargs):
        raise AssertionError("trained or loaded a model before reading eval.external")

    for module, name in [(pipeline, "train"), (pipeline, "load_backbone")] + [
        (evaluate_main, "prepare_backbone"),
        (evaluate_main, "load_backbone"),
    ]:
        monkeypatch.setattr(module, name, too_late)
    path = tmp_path / "set.jsonl"
    path.write_text(content)
    on_invalid = "error" if "invalid row" in message else "keep"
    cfg = _raw(*FAST, f"eval.on_invalid={on_invalid}", _externals(path))
    with pytest.raises(SystemExit) as excinfo:
        (run_job if entry == "run" else evaluate_main.run_evaluation)(cfg, str(tmp_path / "job"))
    line = _error_line(capsys, excinfo)
    assert line.startswith(f"error: {path}:") and message in line, line


def test_an_unreadable_external_file_says_permission_denied(tmp_path, monkeypatch):
    import causal_semloss.input_files as input_files

    path = _write(tmp_path / "secret.jsonl", [ROW])
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make the open fail as it would for a user

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(input_files, "open", refuse, raising=False)
    with pytest.raises(ConfigError, match=rf"{path}: permission denied"):
        compose_cfg([_externals(path)])


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (PermissionError(13, "Permission denied", "/x/y.jsonl"), "/x/y.jsonl: Permission denied"),
        (IsADirectoryError(21, "Is a directory", "/x"), "/x: Is a directory"),
        (OSError("disk on fire"), "disk on fire"),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), "'utf-8' codec"),
        (json.JSONDecodeError("Expecting value", "{\n", 2), "malformed JSON (Expecting value"),
    ],
)
def test_the_cli_guard_turns_expected_failures_into_one_line(capsys, exc, expected):
    @exit_on_user_error
    def entry():
        raise exc

    with pytest.raises(SystemExit) as excinfo:
        entry()
    assert _error_line(capsys, excinfo).startswith(f"error: {expected}")


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_the_checker_says_what_a_path_is(tmp_path, capsys, kind):
    from causal_semloss.data.check import main

    path, message = {
        "directory": (tmp_path, "is a directory"),
        "device": (os.devnull, "not a regular file"),
    }[kind]
    with pytest.raises(SystemExit) as excinfo:
        main([str(path), "--task", "transitivity"])
    assert _error_line(capsys, excinfo).startswith(f"error: {path}: {message}")


@pytest.mark.slow
def test_the_real_clis_refuse_bad_input_with_one_line(tmp_path):
    """The cases above through the installed entry points, as a user runs them."""
    missing = tmp_path / "missing.jsonl"
    cases = [
        ("causal_semloss.run", [f"eval.external=['{missing}']", "logger=none"], "no such file"),
        ("causal_semloss.evaluate", ["eval.threads=0"], "config eval.threads: must be > 0"),
        ("causal_semloss.train", [f"seed={10**15}"], "config seed: must be in [0, 2**32)"),
        ("causal_semloss.data.check", [str(tmp_path), "--task", "transitivity"], "is a directory"),
    ]
    for module, args, message in cases:
        if module != "causal_semloss.data.check":  # the Hydra CLIs: keep outputs in tmp_path
            args = [*args, f"hydra.run.dir={tmp_path / 'run'}"]
        result = run_cli(module, *args, cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (module, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_direct_link_reads_no_link_from_a_row_it_cannot_parse():
    from causal_semloss.evaluate.baselines import direct_link

    unparsed = {"query": None, "edges": [["A", "B"]]}
    assert direct_link({**unparsed, "task": "transitivity"}) is False
    assert direct_link({**unparsed, "task": "dseparation", "edges": None}) is True
    assert direct_link({"task": "transitivity", "query": ["A", "B"], "edges": None}) is False
