"""The pretrain stage, the backbone dirs it writes, and the backbones shipped in the package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from causal_semloss.errors import ConfigError
from causal_semloss.model.backbone import answer_token_id, build_from_config, load_backbone
from causal_semloss.model.batches import encode_records
from causal_semloss.model.card import CARD, WEIGHTS, read_card, resolve_backbone_dir
from causal_semloss.oracles import build_graph
from causal_semloss.tasks import get_task
from causal_semloss.text import parse_premise
from causal_semloss.train.corpus import generate_texts, instruction_corpus
from causal_semloss.train.pretrain import build_backbone, corpus_spec, zero_shot
from tests.conftest import TINY_MODEL, compose_cfg, run_cli

SHIPPED = ["tiny_gemma3_it", "tiny_gemma3_lm"]
# A build small enough for a test: a 2-layer model, a few steps per stage.
TINY_BUILD = [
    "model=tiny_gemma3_it",
    *(o for o in TINY_MODEL if o.startswith("model.architecture.")),
    "model.build.graphs=120",
    "model.build.val_graphs=20",
    "model.build.workers=1",
    "model.build.zero_shot_n=20",
    "model.build.card_check.n=10",
    "model.build.stages.lm.steps=3",
    "model.build.stages.lm.batch_size=8",
    "model.build.stages.instruct.steps=3",
    "model.build.stages.instruct.batch_size=8",
    "runtime.device=cpu",
]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_backbone_matches_its_card(name):
    directory = resolve_backbone_dir(f"pkg://{name}")
    card = read_card(directory)  # raises if the weights' hash differs from the card's
    assert (directory / WEIGHTS).stat().st_size <= 16 * 2**20
    assert card["stages"]["lm"]["steps"] > 0
    assert set(card["zero_shot"]) == {"transitivity", "dseparation"}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_backbone_loads_through_its_model_config(name):
    backbone = load_backbone(compose_cfg([f"model={name}"]))
    card = read_card(resolve_backbone_dir(f"pkg://{name}"))
    assert sum(p.numel() for p in backbone.model.parameters()) == card["params"]


def test_shipped_it_backbone_scores_what_its_card_says():
    cfg = compose_cfg(["model=tiny_gemma3_it", "runtime.device=cpu"])
    card = read_card(resolve_backbone_dir(cfg.model.backbone_dir))
    backbone = load_backbone(cfg)
    check = card["card_check"]
    scores = zero_shot(cfg, backbone.model, backbone.tokenizer, check["n"], check["seed"])
    for task, accuracy in check["accuracy"].items():
        # built on a GPU; fp32 scoring on this CPU may flip a near-tie or two
        assert abs(scores[task]["accuracy"] - accuracy) <= 0.02, (task, scores[task], accuracy)
    # the bar the stand-in exists for (zero-shot, balanced, in-distribution)
    assert card["zero_shot"]["transitivity"]["accuracy"] >= 0.85
    assert card["zero_shot"]["dseparation"]["accuracy"] >= 0.75


def test_corpus_labels_are_the_oracles_and_its_first_block_is_the_eval_prompt(tmp_path):
    cfg = compose_cfg([*TINY_BUILD, f"paths.data_root={tmp_path}"])
    texts = generate_texts(corpus_spec(cfg), 40, workers=1)
    for text in texts:
        graph = build_graph(parse_premise(text.premise))
        for task, question, answer in text.questions:
            x, y, given = get_task(task).parse_question(question)
            assert get_task(task).answer(graph, x, y, given) == answer
    _, tokenizer = build_from_config(cfg)
    yes_id = answer_token_id(tokenizer, "Yes")
    no_id = answer_token_id(tokenizer, "No")
    corpus = instruction_corpus(texts, tokenizer, yes_id, no_id)
    first = texts[0].questions[0]
    record = {
        "premise": texts[0].premise,
        "hypothesis": first[1],
        "label": "Yes" if first[2] else "No",
        "graph_id": "g0",
    }
    encoded = encode_records([record], tokenizer, cfg.model.prompt)
    block = encoded.prompt_ids[0] + encoded.answer_ids[0]
    assert corpus.tokens[0, : len(block)].tolist() == block
    assert corpus.targets[0, len(block) - 1].item() == (yes_id if first[2] else no_id)


def test_pretrain_stage_writes_a_loadable_backbone_with_a_card(tmp_path):
    out, lm_out = tmp_path / "it", tmp_path / "lm"
    cfg = compose_cfg(
        [
            *TINY_BUILD,
            f"paths.data_root={tmp_path}",
            f"model.build.out_dir={out}",
            f"model.build.lm_out_dir={lm_out}",
            f"model.build.corpus_cache={tmp_path / 'corpus'}",
        ]
    )
    assert build_backbone(cfg) == out
    for directory in (out, lm_out):
        card = read_card(directory)
        assert card["stages"]["lm"]["steps"] == 3
        assert {"transitivity", "dseparation"} == set(card["zero_shot"])
    assert read_card(out)["stages"]["instruct"]["steps"] == 3
    assert "instruct" not in read_card(lm_out)["stages"]
    assert list((tmp_path / "corpus").glob("corpus-*.pt"))  # shared by later builds
    loaded = load_backbone(compose_cfg([*TINY_BUILD, f"model.backbone_dir={out}"]))
    assert sum(p.numel() for p in loaded.model.parameters()) == read_card(out)["params"]


def _copy_shipped(tmp_path):
    target = tmp_path / "bb"
    shutil.copytree(resolve_backbone_dir("pkg://tiny_gemma3_it"), target)
    return target


def test_bad_backbone_dirs_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_card(tmp_path / "missing")
    no_card = _copy_shipped(tmp_path)
    (no_card / CARD).unlink()
    with pytest.raises(ConfigError, match=f"{no_card} has no card.json"):
        read_card(no_card)
    tampered = _copy_shipped(tmp_path / "t")
    weights = tampered / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="sha256 does not match"):
        read_card(tampered)


def test_tokenizer_without_single_token_answer_names_the_backbone():
    cfg = compose_cfg(["model=tiny_gemma3_it", "model.prompt.yes_word=Maybe"])
    with pytest.raises(ConfigError, match="tokenizer of pkg://tiny_gemma3_it splits 'Maybe'"):
        load_backbone(cfg)


# a subprocess (~12 s here); the missing dir's own error (read_card) is tested above
@pytest.mark.slow
def test_cli_refuses_a_missing_backbone_dir_with_exit_2(tmp_path):
    result = run_cli(
        "causal_semloss.evaluate",
        "model=tiny_gemma3_it",
        f"model.backbone_dir={tmp_path / 'nope'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "logger=none",
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: backbone dir") and "does not exist" in last


def test_a_prompt_other_than_the_cards_is_refused():
    cfg = compose_cfg(["model=tiny_gemma3_it", "model.prompt.template='Q: {premise} {hypothesis}'"])
    with pytest.raises(ConfigError, match="is not the prompt .* was trained with"):
        load_backbone(cfg)


def test_an_edited_tokenizer_file_is_caught(tmp_path):
    edited = _copy_shipped(tmp_path)
    with open(edited / "tokenizer_config.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(ConfigError, match="tokenizer_config.json: sha256 does not match"):
        read_card(edited)


@pytest.mark.slow  # end to end, 10-75 s here: `make test-slow` (CI) runs it
def test_corpus_is_the_same_under_any_hash_seed_and_worker_count(tmp_path):
    """Statements come from graph sets: their order must not depend on PYTHONHASHSEED."""
    script = (
        "from tests.conftest import compose_cfg\n"
        "from causal_semloss.train.pretrain import corpus_spec\n"
        "from causal_semloss.train.corpus import generate_texts\n"
        "import sys, hashlib\n"
        "cfg = compose_cfg(['model=tiny_gemma3_it'])\n"
        "texts = generate_texts(corpus_spec(cfg), 300, workers=int(sys.argv[1]))\n"
        "print(hashlib.sha256(repr(texts).encode()).hexdigest())\n"
    )
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    digests = set()
    for hash_seed, workers in (("1", "1"), ("2", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"}
        out = subprocess.run(
            [sys.executable, "-c", script, workers],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        digests.add(out.stdout.strip())
    assert len(digests) == 1


@pytest.mark.slow  # end to end, 10-75 s here: `make test-slow` (CI) runs it
def test_pretrain_cli_runs_the_lm_stage_of_a_from_config_model(tmp_path):
    from tests.conftest import TINY_DATA

    result = run_cli(
        "causal_semloss.train.pretrain",
        *TINY_DATA,
        *TINY_MODEL,
        f"paths.data_root={tmp_path / 'data'}",
        f"paths.cache_root={tmp_path / 'cache'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "logger=none",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    target = result.stdout.strip().splitlines()[-1].removeprefix("backbone: ")
    assert (tmp_path / "cache" / "backbones") in Path(target).parents
    assert (Path(target) / "pretrain_metrics.json").exists()
