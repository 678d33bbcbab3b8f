"""eval.cache: an evaluation of weights, prompts and scoring settings already scored reads its
Yes/No margins from `${paths.cache_root}/eval_margins/` and writes the very bytes a fresh one
does; any change to what the margins depend on misses; a bad cache file is scored again."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest
import torch

import causal_semloss.evaluate.evaluation as evaluation
from causal_semloss.evaluate.margin_cache import MARGINS_DIR, weights_digest
from tests.conftest import RANDOM_WEIGHTS, ROW, TINY_DATA, compose_cfg

# Random weights, one thread, a small bootstrap (its CIs must come out the same too): an
# evaluation of two built-in sets in about a second.
FAST = [
    *TINY_DATA,
    *RANDOM_WEIGHTS,
    "eval.bootstrap=20",
    "eval.threads=1",
    "eval.batch_size=16",
    "eval.max_examples=20",
    "eval.tasks=[transitivity]",
    "eval.splits=[test,length]",
    "logger=none",
]


@pytest.fixture(scope="module")
def backbone():
    from causal_semloss.model.backbone import load_backbone

    return load_backbone(compose_cfg(FAST))


@pytest.fixture
def scored(monkeypatch):
    """How many rows each call of the real scorer scored (one entry per set not from the cache)."""
    calls: list[int] = []
    real = evaluation.yes_no_margins

    def spy(model, encoded, **kwargs):
        calls.append(len(encoded))
        return real(model, encoded, **kwargs)

    monkeypatch.setattr(evaluation, "yes_no_margins", spy)
    return calls


def _evaluate(backbone, data_root: Path, cache: Path, out: Path, *overrides: str) -> Path:
    cfg = compose_cfg(
        [*FAST, f"paths.data_root={data_root}", f"paths.cache_root={cache}", *overrides]
    )
    evaluation.evaluate(cfg, backbone, out)
    return out


def _outputs(out: Path) -> dict[str, bytes]:
    files = [out / "metrics.json", *sorted((out / "predictions").iterdir())]
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in files}


def _cached(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((cache / MARGINS_DIR).glob("*.json"))}


def test_a_second_evaluation_reads_the_cache_and_writes_the_same_bytes(
    backbone, data_root, tmp_path, scored, caplog
):
    cache = tmp_path / "cache"
    first = _outputs(_evaluate(backbone, data_root, cache, tmp_path / "first"))
    assert scored == [20, 20] and len(_cached(cache)) == 2
    caplog.set_level(logging.INFO, logger=evaluation.__name__)
    second = _outputs(_evaluate(backbone, data_root, cache, tmp_path / "second"))
    assert scored == [20, 20]  # nothing scored again
    assert second == first and len(first) == 3
    hits = [r.getMessage() for r in caplog.records if "margins from the cache" in r.getMessage()]
    assert [h.split(":")[0] for h in hits] == ["transitivity/test", "transitivity/length"]
    assert json.loads(first["metrics.json"])["splits"]["transitivity/test"]["ci95"]["accuracy"]


def test_a_changed_weight_batch_size_or_prompt_misses_the_cache(
    backbone, data_root, tmp_path, scored
):
    cache = tmp_path / "cache"
    external = tmp_path / "ext.jsonl"
    rows = [ROW, {**ROW, "hypothesis": "Does C cause A?", "label": "No"}]
    external.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with_external = f"eval.external=['{external}']"
    _evaluate(backbone, data_root, cache, tmp_path / "a", with_external)
    assert scored == [20, 20, 2]

    scored.clear()
    nudged = copy.deepcopy(backbone)
    with torch.no_grad():
        next(nudged.model.parameters()).view(-1)[0] += 1e-3
    _evaluate(nudged, data_root, cache, tmp_path / "b", with_external)
    assert scored == [20, 20, 2]

    scored.clear()
    _evaluate(backbone, data_root, cache, tmp_path / "c", with_external, "eval.batch_size=8")
    assert scored == [20, 20, 2]

    scored.clear()  # one prompt of the external set changed: that set alone is scored again
    rows[1]["hypothesis"] = "Does B cause A?"
    external.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _evaluate(backbone, data_root, cache, tmp_path / "d", with_external)
    assert scored == [2]
    assert len(_cached(cache)) == 3 + 3 + 3 + 1


def test_an_edit_to_the_scoring_code_misses_the_cache(
    backbone, data_root, tmp_path, scored, monkeypatch
):
    """Margins written by yesterday's model/scoring.py are not read by today's."""
    import causal_semloss.evaluate.margin_cache as margin_cache

    cache = tmp_path / "cache"
    _evaluate(backbone, data_root, cache, tmp_path / "a")
    assert scored == [20, 20]
    monkeypatch.setattr(margin_cache, "_scoring_source", lambda: "an edited scoring.py")
    _evaluate(backbone, data_root, cache, tmp_path / "b")
    assert scored == [20, 20, 20, 20]


def test_weights_digest_sees_every_byte_and_dtype_bf16_included():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).to(torch.bfloat16)  # numpy has no bf16: bytes, not values
    before = weights_digest(model)
    assert weights_digest(copy.deepcopy(model)) == before
    nudged = copy.deepcopy(model)
    with torch.no_grad():
        nudged.weight.view(-1).view(torch.int16)[0] += 1  # one bf16 ulp
    assert not torch.equal(nudged.weight, model.weight)
    assert weights_digest(nudged) != before
    assert weights_digest(copy.deepcopy(model).float()) != before  # same values, other dtype
    with_buffer = copy.deepcopy(model)
    with_buffer.register_buffer("scale", torch.ones(1))
    assert weights_digest(with_buffer) != before


@pytest.mark.parametrize(
    "damage",
    [
        "not json",  # truncated or garbage
        '{"predicted": [true], "margins": [1.0]}\n',  # wrong length
        "[]\n",  # not the object
        None,  # a margin that disagrees with its answer
    ],
)
def test_a_corrupt_cache_file_is_scored_again_and_overwritten(
    backbone, data_root, tmp_path, scored, damage
):
    cache = tmp_path / "cache"
    first = _outputs(_evaluate(backbone, data_root, cache, tmp_path / "first"))
    good = _cached(cache)
    for name in good:
        path = cache / MARGINS_DIR / name
        if damage is None:
            data = json.loads(path.read_text())
            data["margins"][0] = -data["margins"][0] or 1.0
            path.write_text(json.dumps(data))
        else:
            path.write_text(damage)
    scored.clear()
    second = _outputs(_evaluate(backbone, data_root, cache, tmp_path / "second"))
    assert scored == [20, 20]
    assert second == first
    assert _cached(cache) == good


def test_cache_off_neither_reads_nor_writes(backbone, data_root, tmp_path, scored):
    cache = tmp_path / "cache"
    off = "eval.cache=false"
    _evaluate(backbone, data_root, cache, tmp_path / "a", off)
    assert not (cache / MARGINS_DIR).exists()
    _evaluate(backbone, data_root, cache, tmp_path / "b")  # on: fills the cache
    filled = _cached(cache)
    scored.clear()
    _evaluate(backbone, data_root, cache, tmp_path / "c", off)
    assert scored == [20, 20]  # not read
    assert _cached(cache) == filled


def test_generate_mode_is_not_cached(backbone, data_root, tmp_path):
    cache = tmp_path / "cache"
    _evaluate(
        backbone, data_root, cache, tmp_path / "out", "eval.method=generate", "eval.splits=[test]"
    )
    assert not (cache / MARGINS_DIR).exists()
