"""lm-evaluation-harness scores the exported tasks as the suite's own evaluator does.

`lm_eval` (the `harness` extra; `make test-slow` installs it) runs its HF backend on the
shipped stand-in backbone over a few dozen exported rows; per row, its log-likelihood
difference log P(Yes) - log P(No) after the prompt must equal the suite's margin
logit(Yes) - logit(No) (same tokens, BOS included on both sides), so its accuracy, F1 and MCC
per split equal the suite's.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from causal_semloss.evaluate.eval_sets import encode_capped, load_eval_sets
from causal_semloss.evaluate.evaluation import predict_encoded
from causal_semloss.evaluate.metrics import binary_metrics
from causal_semloss.export.lm_eval_tasks import export_lm_eval, task_name
from causal_semloss.model.backbone import load_backbone, save_backbone
from causal_semloss.paths import RESOURCES_DIR
from tests.conftest import TINY_DATA, TINY_MODEL, compose_cfg

pytestmark = pytest.mark.slow

SPLITS = "[test,long_names,adversarial]"
ROWS_PER_SPLIT = 12
# float32 on a CPU, batched differently by the two scorers: margins agree to ~1e-5.
TOLERANCE = 1e-3


def require_lm_eval() -> None:
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        message = "lm-eval is not installed: `make harness` (pip install -e '.[harness]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def run_lm_eval(tasks_dir: Path, model_dir: Path, out: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(out / "hf-datasets"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        sys.executable,
        "-m",
        "lm_eval",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model_dir},dtype=float32",
        "--include_path",
        str(tasks_dir),
        "--tasks",
        "causal_semloss",
        "--device",
        "cpu",
        "--batch_size",
        "16",
        "--output_path",
        str(out / "results"),
        "--log_samples",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def harness_rows(results_dir: Path, name: str) -> dict[str, float]:
    """doc id -> log P(Yes) - log P(No), from lm-eval's logged samples of task `name`."""
    (path,) = glob.glob(str(results_dir / "*" / f"samples_{name}_*.jsonl"))
    margins = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        (no_ll, _), (yes_ll, _) = sample["filtered_resps"]
        margins[sample["doc"]["id"]] = float(yes_ll) - float(no_ll)
    return margins


def model_under_test(prompt: str, tmp_path: Path):
    """(config, HF model dir): the shipped stand-in with its own prompt (compact, ending in a
    newline that lm-eval moves into the continuation), or a tiny random Gemma 3 written here
    for the paper prompt (Gemma chat turns, special tokens inside the text), which the
    stand-in's card refuses."""
    data = [*TINY_DATA, f"paths.data_root={tmp_path / 'data'}"]
    sets = [f"eval.splits={SPLITS}", f"eval.max_examples={ROWS_PER_SPLIT}", "eval=paper_tasks"]
    if prompt == "compact":
        cfg = compose_cfg([*data, *sets, "model=tiny_gemma3_it", "model/prompt=compact"])
        return cfg, RESOURCES_DIR / "backbones" / "tiny_gemma3_it"
    cfg = compose_cfg([*data, *sets, "model=tiny_gemma3", *TINY_MODEL, "model.pretrain.steps=0"])
    assert cfg.model.prompt.name == prompt
    save_backbone(load_backbone(cfg), tmp_path / "model")
    return cfg, tmp_path / "model"


@pytest.mark.parametrize("prompt", ["compact", "paper"])
def test_lm_eval_scores_the_exported_tasks_as_the_suite_does(tmp_path, prompt):
    require_lm_eval()
    cfg, model_dir = model_under_test(prompt, tmp_path)
    export_lm_eval(cfg, tmp_path / "tasks")
    done = run_lm_eval(tmp_path / "tasks", model_dir, tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    (results_file,) = glob.glob(str(tmp_path / "results" / "*" / "results_*.json"))
    report = json.loads(Path(results_file).read_text())
    results = report["results"]

    backbone = load_backbone(cfg, from_dir=None if prompt == "compact" else model_dir)
    eval_sets = load_eval_sets(cfg)
    assert len(eval_sets) == 2 * 3
    accuracies = []
    for eval_set in eval_sets:
        name = task_name(eval_set.task, eval_set.split)
        predicted, margins = predict_encoded(
            backbone, encode_capped(eval_set, backbone.tokenizer, cfg), cfg
        )
        theirs = harness_rows(tmp_path / "results", name)
        ours = {r["id"]: m for r, m in zip(eval_set.records, margins, strict=True)}
        assert set(theirs) == set(ours) and len(ours) == ROWS_PER_SPLIT
        worst = max(abs(theirs[i] - ours[i]) for i in ours)
        assert worst < TOLERANCE, f"{name}: margins differ by up to {worst}"
        # lm-eval picks the likelier choice (No on a tie); the suite says Yes iff margin > 0.
        assert {i: theirs[i] > 0 for i in ours} == {i: ours[i] > 0 for i in ours}, name
        suite = binary_metrics(predicted, [bool(r["oracle"]) for r in eval_set.records])
        harness = results[name]
        assert harness["acc,none"] == pytest.approx(suite["accuracy"]), name
        assert harness["f1,none"] == pytest.approx(suite["f1"] or 0.0), name
        assert harness["mcc,none"] == pytest.approx(suite["mcc"] or 0.0), name
        accuracies.append(suite["accuracy"])
        print(
            f"{name}: acc {harness['acc,none']:.3f} (suite {suite['accuracy']:.3f}), "
            f"max |margin diff| {worst:.2e}"
        )
    # The suite group: the plain mean over its task groups, each the mean over its splits.
    assert report["groups"]["causal_semloss"]["acc,none"] == pytest.approx(
        sum(accuracies) / len(accuracies)
    )
