"""Bit-exact or not at all: checkpoints and cached backbones are checked against a sha256 on
load, a finished run refuses a changed config like an interrupted one, and damaged files
(truncated, empty, wrong shape, not UTF-8) are one-line UserErrors, never tracebacks."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from causal_semloss.errors import ConfigError, DataError, UserError
from causal_semloss.train.finetune import train
from causal_semloss.train.trainer import TrainingInterrupted
from tests.conftest import QUICK_EVAL, TINY_DATA, TINY_MODEL, compose_cached, compose_cfg

FAST_TRAIN = [
    "model.pretrain.steps=0",  # a random from-config model: no pre-training stage
    "train.max_steps=6",
    "train.batch_size=8",
    "train.val_size=16",
    "train.eval_steps=100",
    "train.log_steps=100",
    "train.checkpoint_steps=2",
    "train.warmup_steps=0",
    "logger=none",
]


def _cfg(data_root, *overrides):
    return compose_cached(
        *TINY_DATA, *TINY_MODEL, *FAST_TRAIN, f"paths.data_root={data_root}", *overrides
    )


def _interrupted(data_root, out):
    with pytest.raises(TrainingInterrupted):
        train(_cfg(data_root), out, interrupt_at=3)
    assert (out / "checkpoint.pt").exists()
    return out / "checkpoint.pt"


def _weights(path) -> dict:
    """A copy: load_file maps the file, so an in-place edit would show through."""
    return {k: v.clone() for k, v in load_file(path).items()}


def _flip_byte(path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- checkpoints ---------------------------------------------------------------------------------
def test_a_checkpoint_carries_a_sha256_and_resumes_bit_exactly(data_root, tmp_path):
    checkpoint = _interrupted(data_root, tmp_path / "run")
    sidecar = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert sidecar["file"] == "checkpoint.pt" and len(sidecar["sha256"]) == 64
    assert sidecar["step"] == 3
    metrics = train(_cfg(data_root), tmp_path / "run")
    assert metrics["resumed"] and not checkpoint.exists()
    assert not (tmp_path / "run" / "checkpoint.json").exists()
    full = train(_cfg(data_root), tmp_path / "full")
    assert full["history"] == metrics["history"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: _flip_byte(p),
        lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
        lambda p: p.write_bytes(b""),
    ],
    ids=["flipped-bit", "truncated", "empty"],
)
def test_a_damaged_checkpoint_is_refused_in_one_line(data_root, tmp_path, damage):
    checkpoint = _interrupted(data_root, tmp_path / "run")
    damage(checkpoint)
    with pytest.raises(DataError) as error:
        train(_cfg(data_root), tmp_path / "run")
    message = str(error.value)
    assert str(checkpoint) in message and "sha256" in message and "\n" not in message
    assert "delete" in message  # what to do
    assert not (tmp_path / "run" / "model").exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
        lambda p: p.write_bytes(b""),
    ],
    ids=["truncated", "empty"],
)
def test_a_damaged_checkpoint_without_its_sha256_is_still_one_line(data_root, tmp_path, damage):
    checkpoint = _interrupted(data_root, tmp_path / "run")
    (tmp_path / "run" / "checkpoint.json").unlink()
    damage(checkpoint)
    with pytest.raises(DataError, match="cannot be verified") as error:
        train(_cfg(data_root), tmp_path / "run")
    assert str(checkpoint) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("flip", [False, True], ids=["intact", "flipped-bit"])
def test_a_checkpoint_without_its_sha256_is_refused(data_root, tmp_path, flip):
    """Written before checkpoints had one, killed between the checkpoint and its hash, or the
    hash deleted: it cannot be verified, so bit flips could train on. Refused, saying what to do."""
    checkpoint = _interrupted(data_root, tmp_path / "run")
    (tmp_path / "run" / "checkpoint.json").unlink()
    if flip:
        _flip_byte(checkpoint)
    with pytest.raises(DataError, match="no checkpoint.json beside it.*delete") as error:
        train(_cfg(data_root), tmp_path / "run")
    assert "\n" not in str(error.value) and checkpoint.exists()
    assert not (tmp_path / "run" / "model").exists()


# -- a finished run and a changed config ------------------------------------------------------------
def test_a_finished_run_refuses_a_changed_config(data_root, tmp_path):
    out = tmp_path / "run"
    train(_cfg(data_root), out)
    before = _weights(out / "model" / "model.safetensors")
    with pytest.raises(ConfigError, match="another config") as error:
        train(_cfg(data_root, "train.lr=5e-4"), out)
    assert str(out) in str(error.value)
    after = _weights(out / "model" / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)  # model/ untouched
    # bookkeeping settings are not a changed config; the same config trains again, as before
    metrics = train(_cfg(data_root, "train.log_steps=1"), out)
    assert metrics["steps"] == 6 and not metrics["resumed"]


@pytest.mark.slow  # three jobs with evaluation: ~10 s here
def test_a_job_reuses_its_finished_training_and_refuses_another_one(data_root, tmp_path):
    from causal_semloss.pipeline import run_job

    job = ["recipe=baseline", *QUICK_EVAL]
    out = tmp_path / "job"
    assert run_job(_cfg(data_root, *job), out)["status"] == "ok"
    stamp = (out / "model" / "model.safetensors").stat().st_mtime_ns
    # evaluation settings only: the finished model is evaluated again, not retrained
    assert run_job(_cfg(data_root, *job, "eval.max_examples=10"), out)["status"] == "ok"
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns == stamp
    # another training config: refused before the dir is touched (a dir holds one run)
    with pytest.raises(ConfigError, match="holds another run"):
        run_job(_cfg(data_root, *job, "train.lr=5e-4"), out)
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns == stamp


# -- fine-tuned model dirs -------------------------------------------------------------------------
def test_a_fine_tuned_model_dir_is_carded_and_a_flipped_bit_is_refused(data_root, tmp_path):
    from causal_semloss.model.backbone import load_backbone
    from causal_semloss.train.checkpoints import save_model_dir

    cfg, model_dir = _cfg(data_root), tmp_path / "run" / "model"
    save_model_dir(load_backbone(cfg), model_dir, cfg)
    card = json.loads((model_dir / "card.json").read_text())
    assert {"model.safetensors", "training.json", "config.json"} <= set(card["files_sha256"])
    load_backbone(cfg, from_dir=model_dir)  # intact: loads
    _flip_byte(model_dir / "model.safetensors")
    with pytest.raises(ConfigError, match="model.safetensors: sha256 does not match"):
        load_backbone(cfg, from_dir=model_dir)
    (model_dir / "card.json").unlink()
    with pytest.raises(ConfigError, match="has no card.json .*cannot be verified"):
        load_backbone(cfg, from_dir=model_dir)


# -- cached pre-trained backbones -------------------------------------------------------------------
CACHED = [
    *TINY_DATA,
    *TINY_MODEL,
    "model.pretrain.steps=2",
    "model.pretrain.corpus_per_task=40",
    "corpus_data.n_test=20",
    "corpus_data.n_eval=20",
    "corpus_data.n_adversarial=20",
    "corpus_data.natural_rate_sample=50",
]


@pytest.fixture
def cached_backbone(tmp_path):
    """A cache entry as the pre-train stage leaves it (weights, tokenizer, card), written here
    from a random model to keep the test fast; in a cache of this test's own."""
    from causal_semloss.atomic import atomic_dir
    from causal_semloss.model.backbone import build_from_config
    from causal_semloss.model.cache import pretrained_dir
    from causal_semloss.model.card import write_card

    cfg = _cached_cfg(tmp_path)
    path = pretrained_dir(cfg)
    model, tokenizer = build_from_config(cfg)
    with atomic_dir(path) as staging:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_card(staging, {"kind": "cached pre-trained backbone"})
    return cfg, path


def _cached_cfg(tmp_path):
    return compose_cfg(
        [
            *TINY_DATA,
            *TINY_MODEL,
            "model.pretrain.steps=2",
            "model.pretrain.corpus_per_task=40",
            "corpus_data.n_test=20",
            "corpus_data.n_eval=20",
            "corpus_data.n_adversarial=20",
            "corpus_data.natural_rate_sample=50",
            f"paths.data_root={tmp_path / 'data'}",
            f"paths.cache_root={tmp_path / 'cache'}",
        ]
    )


def test_a_flipped_byte_in_a_cached_backbone_is_refused(cached_backbone):
    from causal_semloss.train.cached_lm_stage import ensure_pretrained

    cfg, path = cached_backbone
    assert ensure_pretrained(cfg) == path  # intact: reused
    _flip_byte(path / "model.safetensors")
    with pytest.raises(UserError, match="sha256") as error:
        ensure_pretrained(cfg)
    assert str(path) in str(error.value) and "delete" in str(error.value)


def test_a_truncated_cached_backbone_is_refused(cached_backbone):
    from causal_semloss.train.cached_lm_stage import ensure_pretrained

    cfg, path = cached_backbone
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(UserError, match="sha256"):
        ensure_pretrained(cfg)


@pytest.mark.slow
def test_the_pretrain_stage_writes_a_card_and_rebuilds_an_entry_without_one(tmp_path):
    """An entry cached before backbones had cards cannot be checked: built again, the same."""
    from causal_semloss.model.card import CARD, read_card
    from causal_semloss.train.cached_lm_stage import ensure_pretrained

    cfg = _cached_cfg(tmp_path)
    path = ensure_pretrained(cfg)
    assert "model.safetensors" in read_card(path)["files_sha256"]
    before = _weights(path / "model.safetensors")
    (path / CARD).unlink()
    _flip_byte(path / "model.safetensors")
    assert ensure_pretrained(cfg) == path
    assert (path / CARD).exists()
    after = _weights(path / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)  # deterministic rebuild


# -- backbone cards ----------------------------------------------------------------------------------
def _carded_dir(tmp_path):
    from causal_semloss.model.card import CARD, file_sha256

    directory = tmp_path / "backbone"
    directory.mkdir()
    (directory / "model.safetensors").write_bytes(b"weights")
    card = {"weights_sha256": file_sha256(directory / "model.safetensors"), "files_sha256": {}}
    (directory / CARD).write_text(json.dumps(card))
    return directory, directory / CARD


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"weights_sha256": "00", "files_sha256": []}', "files_sha256"),
        (b'{"weights_sha256": 5}', "weights_sha256"),
        (b'{"weights_sha256": "00", "files_sha256": {"x": 1}}', "files_sha256"),
        (b'{"weights_sha256": "00", "files_sha256": {"../escape": "00"}}', "files_sha256"),
        (b"\xff\xfe{not utf-8", "UTF-8"),
        (b"", "not valid JSON"),
        (b"[]", "not a backbone card"),
    ],
)
def test_a_malformed_card_is_one_config_error(tmp_path, content, message):
    from causal_semloss.model.card import read_card

    directory, card = _carded_dir(tmp_path)
    read_card(directory)  # well-formed: accepted
    card.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as error:
        read_card(directory)
    assert str(card) in str(error.value) and "\n" not in str(error.value)


# -- data manifests ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [b"", b'{"task": "transitivity", "splits": {"tr', b"[1, 2]", b'{"splits": 3}', b"\xff\xfe"],
    ids=["empty", "truncated", "list", "wrong-splits", "not-utf8"],
)
def test_a_damaged_manifest_is_one_data_error(tiny_cfg, content):
    from causal_semloss.data.build import MANIFEST, build_data

    cfg = tiny_cfg()
    data_dir, _, _ = build_data(cfg)
    (data_dir / MANIFEST).write_bytes(content)
    with pytest.raises(DataError, match="manifest") as error:
        build_data(cfg)
    assert str(data_dir / MANIFEST) in str(error.value) and "delete" in str(error.value)


def test_a_killed_builds_staging_dir_is_removed_by_the_next_build(tiny_cfg):
    """`kill -9` mid-build leaves `.NAME.xxxx` (atomic_dir's staging) behind; the next build,
    holding the entry's lock — so no live writer can own it — removes it."""
    from causal_semloss.data.build import build_data, data_dir_for

    cfg = tiny_cfg()
    target = data_dir_for(cfg)
    target.parent.mkdir(parents=True)
    for name in (f".{target.name}.k1ll3d", f".{target.name}.stale-0123abcd"):
        (target.parent / name).mkdir()
        (target.parent / name / "train.jsonl").write_text("half a file")
    other = target.parent / ".another-entry-0123456789ab.k1ll3d"
    other.mkdir()
    data_dir, _, reused = build_data(cfg)
    assert not reused and data_dir == target
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == [other.name]


def test_a_run_killed_mid_write_leaves_nothing_behind_after_its_rerun(data_root, tmp_path):
    """`kill -9` while a checkpoint or the model dir is written leaves `.checkpoint.pt.*.tmp`
    (possibly gigabytes) or `.model.*`; rerunning the job's dir removes them."""
    out = tmp_path / "run"
    out.mkdir()
    leftovers = [out / ".checkpoint.pt.k1ll3d.tmp", out / ".checkpoint.json.k1ll3d.tmp"]
    for path in leftovers:
        path.write_bytes(b"half")
    (out / ".model.k1ll3d").mkdir()
    (out / ".model.k1ll3d" / "model.safetensors").write_bytes(b"half")
    train(_cfg(data_root), out)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_the_train_cli_turns_a_damaged_checkpoint_into_one_error_line(data_root, tmp_path, capsys):
    from causal_semloss.train.__main__ import run_training

    checkpoint = _interrupted(data_root, tmp_path / "run")
    _flip_byte(checkpoint)
    with pytest.raises(SystemExit) as stop:
        run_training(_cfg(data_root), str(tmp_path / "run"))
    assert stop.value.code == 2
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error: ")]
    assert str(checkpoint) in line and "sha256" in line


def test_a_rerun_refuses_a_damaged_finished_model_before_touching_the_dir(data_root, tmp_path):
    """The job's finished training is evaluated again (only evaluation settings changed): a
    model dir that fails its card is refused while result.json and config.json stay as they were;
    a model dir from before cards can be carded by hand."""
    import subprocess
    import sys

    from omegaconf import OmegaConf

    from causal_semloss.model.backbone import load_backbone
    from causal_semloss.pipeline import run_job
    from causal_semloss.train.checkpoints import save_model_dir

    cfg, out = _cfg(data_root, "recipe=baseline", *QUICK_EVAL), tmp_path / "job"
    save_model_dir(load_backbone(cfg), out / "model", cfg)
    (out / "train_metrics.json").write_text("{}")
    (out / "config.json").write_text(json.dumps(OmegaConf.to_container(cfg, resolve=True)))
    (out / "result.json").write_text('{"status": "ok"}')
    _flip_byte(out / "model" / "model.safetensors")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ConfigError, match="sha256 does not match"):
        run_job(_cfg(data_root, "recipe=baseline", *QUICK_EVAL, "eval.max_examples=10"), out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    (out / "model" / "card.json").unlink()
    with pytest.raises(ConfigError, match="python -m causal_semloss.model.card"):
        load_backbone(cfg, from_dir=out / "model")
    done = subprocess.run(
        [sys.executable, "-m", "causal_semloss.model.card", str(out / "model")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    load_backbone(cfg, from_dir=out / "model")  # carded as it now is
