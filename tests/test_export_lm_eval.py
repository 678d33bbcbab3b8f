"""`causal_semloss.export lm-eval`: the files it writes (one task per task x split, the groups),
their rows (the data stage's oracle labels, the model's prompt) and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from causal_semloss.data.build import build_data, config_for_task, read_split
from causal_semloss.export import harness_metrics
from causal_semloss.export.__main__ import main
from causal_semloss.export.lm_eval_tasks import export_lm_eval, task_name
from causal_semloss.model.batches import render_prompt
from causal_semloss.schema import EVALUATION_SPLITS
from tests.conftest import TINY_DATA


class HarnessLoader(yaml.SafeLoader):
    """YAML as lm-eval reads it: `!function module.name` names a function in a .py beside it."""


HarnessLoader.add_constructor("!function", lambda loader, node: ("function", node.value))


def read_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=HarnessLoader)  # noqa: S506


def read_jsonl(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tests.conftest import compose_cfg

    root = tmp_path_factory.mktemp("export")
    overrides = [*TINY_DATA, f"paths.data_root={root / 'data'}", "model/prompt=compact"]
    cfg = compose_cfg([*overrides, "eval=paper_tasks"])  # the suite: both paper tasks
    out = root / "tasks"
    summary = export_lm_eval(cfg, out)
    return cfg, out, summary


def test_a_task_per_task_and_split_and_the_groups(exported):
    cfg, out, summary = exported
    tasks = ["transitivity", "dseparation"]
    assert list(cfg.eval.tasks) == tasks and list(cfg.eval.splits) == list(EVALUATION_SPLITS)
    expected = {f"{task_name(t, s)}.yaml" for t in tasks for s in cfg.eval.splits}
    groups = {f"{task_name(t)}.yaml" for t in tasks} | {"causal_semloss.yaml"}
    assert {p.name for p in out.glob("*.yaml")} == expected | groups
    suite = read_yaml(out / "causal_semloss.yaml")
    assert suite["group"] == "causal_semloss" and suite["task"] == [task_name(t) for t in tasks]
    for t in tasks:
        group = read_yaml(out / f"{task_name(t)}.yaml")
        assert group["task"] == [task_name(t, s) for s in cfg.eval.splits]
        assert {m["metric"] for m in group["aggregate_metric_list"]} == {"acc", "f1", "mcc"}
    assert (out / "causal_semloss_metrics.py").read_text() == Path(
        harness_metrics.__file__
    ).read_text()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_each_task_is_multiple_choice_no_yes_on_its_own_rows(exported):
    cfg, out, _ = exported
    for path in out.glob("causal_semloss_*_*.yaml"):
        config = read_yaml(path)
        if "group" in config:
            continue
        assert config["output_type"] == "multiple_choice"
        assert config["doc_to_choice"] == ["No", "Yes"]
        assert (config["doc_to_text"], config["doc_to_target"]) == ("prompt", "answer")
        assert config["target_delimiter"] == "" and config["test_split"] == "test"
        assert config["dataset_path"] == "json"
        data_file = Path(config["dataset_kwargs"]["data_files"]["test"])
        assert data_file.is_absolute() and data_file.is_file()
        assert data_file.parent.parent == out / "data"
        metrics = {m["metric"]: m["aggregation"] for m in config["metric_list"]}
        assert metrics == {
            "acc": "mean",
            "f1": ("function", "causal_semloss_metrics.f1_yes"),
            "mcc": ("function", "causal_semloss_metrics.mcc"),
        }


def test_rows_are_the_data_stage_records_with_the_models_prompt(exported):
    cfg, out, summary = exported
    template = cfg.model.prompt.template
    for task in cfg.eval.tasks:
        data_dir, _, _ = build_data(config_for_task(cfg, task))
        assert summary["tasks"][task]["data_dir"] == str(data_dir)
        for split in cfg.eval.splits:
            records = read_split(data_dir, split)
            rows = read_jsonl(out / "data" / task / f"{split}.jsonl")
            assert [r["id"] for r in rows] == [r["id"] for r in records]
            assert [r["answer"] for r in rows] == [int(r["oracle"]) for r in records]
            assert [r["prompt"] for r in rows] == [render_prompt(template, r) for r in records]
            assert summary["tasks"][task]["splits"][split]["n"] == len(records)


def test_max_examples_keeps_the_split_balance(tmp_path):
    from tests.conftest import compose_cfg

    cfg = compose_cfg(
        [*TINY_DATA, f"paths.data_root={tmp_path / 'data'}", "eval.max_examples=10"]
        + ["eval.tasks=[dseparation]", "eval.splits=[test]"]
    )
    summary = export_lm_eval(cfg, tmp_path / "out")
    assert summary["tasks"]["dseparation"]["splits"]["test"] == {
        "task": "causal_semloss_dseparation_test",
        "n": 10,
        "yes": 5,
    }
    rows = read_jsonl(tmp_path / "out" / "data" / "dseparation" / "test.jsonl")
    assert rows[0]["prompt"].startswith("<start_of_turn>user")  # the default model's prompt


def test_harness_metrics_are_f1_of_yes_and_mcc():
    items = [(1, 1), (1, 0), (0, 0), (0, 1), (1, 1)]
    assert harness_metrics.f1_yes(items) == pytest.approx(2 / 3)
    assert harness_metrics.mcc(items) == pytest.approx(1 / 6)
    assert harness_metrics.f1_yes([(0, 0), (0, 0)]) == 0.0
    assert harness_metrics.mcc([(1, 1), (0, 1)]) == 0.0


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """The CLI in this process (a subprocess would spend seconds importing torch)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refuses_a_non_empty_dir_unless_told_to_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = [
        "lm-eval",
        str(out),
        *TINY_DATA,
        f"paths.data_root={tmp_path / 'data'}",
        "eval.tasks=[transitivity]",
        "eval.splits=[test]",
    ]
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: {out}: directory is not empty; pass --overwrite to replace it (its files are "
        "removed)"
    ]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "data").exists()  # refused before building any data

    code, out_text, err = run_main(capsys, args[0], args[1], "--overwrite", *args[2:])
    assert code == 0, err
    assert "transitivity: test 60" in out_text
    assert not (out / "notes.txt").exists()
    assert (out / "causal_semloss_transitivity_test.yaml").is_file()


def test_overwrite_never_replaces_the_working_dir_or_the_data(tmp_path, monkeypatch):
    from causal_semloss.errors import UserError
    from tests.conftest import compose_cfg

    (tmp_path / "data").mkdir()
    (tmp_path / "work").mkdir()
    cfg = compose_cfg([f"paths.data_root={tmp_path / 'data'}"])
    with pytest.raises(UserError, match="holds .*data"):
        export_lm_eval(cfg, tmp_path, overwrite=True)
    monkeypatch.chdir(tmp_path / "work")
    (tmp_path / "work" / "mine.txt").write_text("mine")
    with pytest.raises(UserError, match="holds .*work"):
        export_lm_eval(cfg, ".", overwrite=True)
    assert (tmp_path / "work" / "mine.txt").exists()


@pytest.mark.parametrize(
    "args",
    [["data.n_test=many"], ["no_such_key=1"], ["--no-such-flag"]],
    ids=["bad-value", "unknown-key", "unknown-flag"],
)
def test_cli_bad_input_is_one_error_line(tmp_path, capsys, args):
    code, _, err = run_main(capsys, "lm-eval", str(tmp_path / "out"), *args)
    assert code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(("error: ", "causal-semloss-export lm-eval: error:"))
    )
    if not args[0].startswith("-"):
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("eval.tasks=[]", "config eval.tasks: empty, nothing to export"),
        ("eval.splits=[]", "config eval.splits: empty, nothing to export"),
        ("eval.external=[EXT]", "config eval.external: export writes the built-in splits only"),
    ],
    ids=["no-tasks", "no-splits", "external"],
)
def test_an_export_of_nothing_is_refused_and_the_previous_one_kept(
    tmp_path, capsys, override, message
):
    """`--overwrite` with nothing to export (or an eval.external it would leave out) is refused
    before OUT_DIR is touched: the previous valid export stays, byte for byte."""
    external = tmp_path / "ext.jsonl"
    external.write_text(
        json.dumps({"premise": "A causes B.", "hypothesis": "Does A cause B?", "label": "Yes"})
        + "\n"
    )
    out = tmp_path / "out"
    args = [*TINY_DATA, f"paths.data_root={tmp_path / 'data'}", "eval.splits=[test]"]
    code, _, err = run_main(capsys, "lm-eval", str(out), *args, "eval.tasks=[transitivity]")
    assert code == 0, err
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    override = override.replace("EXT", str(external))
    code, _, err = run_main(capsys, "lm-eval", str(out), "--overwrite", *args, override)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
