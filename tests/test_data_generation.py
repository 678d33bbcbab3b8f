"""Generated data: labels match networkx on the parsed text, determinism, leakage, balance."""

from __future__ import annotations

import collections
import json

import networkx as nx
import pytest

from causal_semloss.data.build import build_data, read_split
from causal_semloss.schema import ALL_SPLITS, OOD_SPLITS
from causal_semloss.tasks import get_task
from causal_semloss.text import parse_premise

TASKS = ("transitivity", "dseparation")


@pytest.fixture(scope="module", params=TASKS)
def built(request, tmp_path_factory):
    from tests.conftest import TINY_DATA, compose_cfg

    root = tmp_path_factory.mktemp(request.param)
    cfg = compose_cfg([*TINY_DATA, f"task={request.param}", f"paths.data_root={root}"])
    data_dir, manifest, reused = build_data(cfg)
    assert not reused
    return cfg, data_dir, manifest


def _networkx_answer(task, record):
    """Recompute the label from the *text* alone, with networkx, independently of the generator."""
    graph = nx.DiGraph(parse_premise(record["premise"]))
    x, y, given = get_task(task).parse_question(record["hypothesis"])
    if task == "transitivity":
        return nx.has_path(graph, x, y)
    return nx.is_d_separator(graph, {x}, {y}, set(given))


def test_every_label_matches_networkx_on_the_text(built):
    cfg, data_dir, _ = built
    for split in ALL_SPLITS:
        for record in read_split(data_dir, split):
            assert record["label"] == ("Yes" if _networkx_answer(cfg.task.name, record) else "No")
            assert record["oracle"] == (record["label"] == "Yes")


def test_records_are_well_formed(built):
    cfg, data_dir, _ = built
    for split in ALL_SPLITS:
        for record in read_split(data_dir, split):
            edges = [tuple(e) for e in record["edges"]]
            assert parse_premise(record["premise"]) == edges
            graph = nx.DiGraph(edges)
            assert nx.is_directed_acyclic_graph(graph)
            assert set(record["nodes"]) == set(graph.nodes)
            assert len(record["nodes"]) == len(set(record["nodes"]))  # distinct names
            x, y = record["query"]
            assert x != y and x in graph and y in graph
            assert not ({x, y} & set(record["given"]))
            assert record["split"] == split and record["task"] == cfg.task.name


def test_premise_shapes(built):
    cfg, data_dir, manifest = built
    long_names = read_split(data_dir, "long_names")
    assert all(8 <= len(n) <= 10 for r in long_names for n in r["nodes"])
    assert all(1 <= len(n) <= 3 for r in read_split(data_dir, "train") for n in r["nodes"])
    assert all(7 <= len(r["nodes"]) <= 15 for r in read_split(data_dir, "length"))
    if cfg.task.name == "transitivity":
        # Naturally, length chains (no flipped edge, asked (earlier, later)) are all Yes and
        # reversed chains all No; by default both are asked other pairs too, 50/50.
        splits = manifest["splits"]
        assert splits["length"]["natural_yes_rate"] == 1.0
        assert splits["reversed"]["natural_yes_rate"] == 0.0
        for split in ("length", "reversed"):
            labels = [r["label"] for r in read_split(data_dir, split)]
            assert labels.count("Yes") * 2 == len(labels)


def test_no_evaluation_premise_equals_a_training_premise(built):
    _, data_dir, _ = built
    train = {frozenset(map(tuple, r["edges"])) for r in read_split(data_dir, "train")}
    train_text = {r["premise"] for r in read_split(data_dir, "train")}
    for split in ("test", *OOD_SPLITS, "adversarial"):
        for record in read_split(data_dir, split):
            assert frozenset(map(tuple, record["edges"])) not in train
            assert record["premise"] not in train_text


def test_balance_and_manifest(built):
    cfg, data_dir, manifest = built
    for split in ("train", "test", *OOD_SPLITS):  # data=default: every split 50/50
        labels = [r["label"] for r in read_split(data_dir, split)]
        assert labels.count("Yes") == len(labels) // 2
    for split, info in manifest["splits"].items():
        records = read_split(data_dir, split)
        assert info["n"] == len(records)
        assert info["yes_rate"] == pytest.approx(sum(r["oracle"] for r in records) / len(records))
        assert 0.0 <= info["natural_yes_rate"] <= 1.0
    assert manifest["seed"] == cfg.seed


def test_queries_share_premises(built):
    _, data_dir, _ = built
    by_graph = collections.defaultdict(set)
    for record in read_split(data_dir, "train"):
        by_graph[record["graph_id"]].add(record["premise"])
    assert all(len(premises) == 1 for premises in by_graph.values())
    assert len(by_graph) < len(read_split(data_dir, "train"))  # some premises carry 2 questions


def test_adversarial_minimal_pairs(built):
    _, data_dir, _ = built
    records = read_split(data_dir, "adversarial")
    assert sum(r["oracle"] for r in records) * 2 == len(records)
    pairs = collections.defaultdict(list)
    for record in records:
        assert record["kind"]
        pairs[record["pair_id"]].append(record)
    for pair in pairs.values():
        assert len(pair) == 2
        a, b = pair
        assert a["label"] != b["label"] and a["kind"] == b["kind"]
        changed_edges = set(map(tuple, a["edges"])) ^ set(map(tuple, b["edges"]))
        changed_query = (a["query"], a["given"]) != (b["query"], b["given"])
        assert changed_query or len(changed_edges) == 2  # one edge reversed, nothing else


@pytest.mark.parametrize(("key", "value"), [("shape", "chain"), ("nodes", [3, 8])])
def test_the_adversarial_split_has_no_graph_shape_to_set(key, value):
    """Each pair kind builds its own graphs: a shape or node range for the adversarial split
    would change the data dir's hash and no byte, so the config refuses one."""
    from hydra.errors import ConfigCompositionException

    from causal_semloss.errors import ConfigError
    from tests.conftest import compose_cfg

    override = f"tasks.dseparation.splits.adversarial.{key}={value}"
    with pytest.raises(ConfigCompositionException, match="Could not override"):
        compose_cfg([override])
    # Appended, as Hydra's error suggests: the schema check names the key.
    with pytest.raises(ConfigError, match=f"adversarial.{key}: Key '{key}' not in"):
        compose_cfg([f"+{override}"])


def test_the_adversarial_split_takes_its_name_lengths_from_config(tiny_cfg):
    data_dir, _, _ = build_data(tiny_cfg("task.splits.adversarial.name_length=[8,10]"))
    records = read_split(data_dir, "adversarial")
    assert all(8 <= len(name) <= 10 for record in records for name in record["nodes"])


def test_same_config_same_bytes_and_reuse(tmp_path):
    from tests.conftest import TINY_DATA, compose_cfg

    digests = []
    for root in ("a", "b"):
        cfg = compose_cfg([*TINY_DATA, "task=dseparation", f"paths.data_root={tmp_path / root}"])
        data_dir, manifest, _ = build_data(cfg)
        digests.append({s: i["sha256"] for s, i in manifest["splits"].items()})
        digests.append((data_dir / "manifest.json").read_bytes())
    assert digests[0] == digests[2] and digests[1] == digests[3]
    _, _, reused = build_data(cfg)
    assert reused
    other = compose_cfg(
        [*TINY_DATA, "task=dseparation", "seed=1", f"paths.data_root={tmp_path / 'a'}"]
    )
    _, manifest, reused = build_data(other)
    assert not reused and {s: i["sha256"] for s, i in manifest["splits"].items()} != digests[0]


def test_balance_true_and_paper_balance(tiny_cfg):
    _, manifest, _ = build_data(tiny_cfg("data.balance=true"))
    assert all(info["yes_rate"] == 0.5 for info in manifest["splits"].values())
    _, manifest, _ = build_data(
        tiny_cfg("data=paper", *[f"data.{k}" for k in ("n_train=500", "n_eval=500")])
    )
    assert manifest["splits"]["train"]["yes_rate"] == pytest.approx(0.628, abs=0.002)
    assert manifest["splits"]["length"]["yes_rate"] == 1.0
    assert manifest["splits"]["shuffled"]["yes_rate"] == pytest.approx(0.002, abs=0.002)
    assert manifest["splits"]["test"]["yes_rate"] == 0.5
    # natural balance: transitivity's length chains are all Yes
    _, manifest, _ = build_data(tiny_cfg(*[f"data.yes_rate.{s}=null" for s in OOD_SPLITS]))
    assert manifest["splits"]["length"]["yes_rate"] == 1.0


def test_dseparation_paper_balance_uses_measured_rates_only(tiny_cfg):
    """Unmeasured d-sep balances (null) keep the natural balance, never transitivity's."""
    _, manifest, _ = build_data(tiny_cfg("task=dseparation", "data=paper", "data.n_train=500"))
    splits = manifest["splits"]
    assert splits["train"]["yes_rate"] == pytest.approx(0.157, abs=0.002)
    assert splits["branching"]["target_yes_rate"] == 0.017
    assert splits["length"]["target_yes_rate"] is None
    assert splits["length"]["yes_rate"] < 1.0


def test_unreachable_balance_fails_fast_with_a_clear_error(tiny_cfg):
    from causal_semloss.errors import ConfigError

    # Two-node d-separation graphs (one edge): the two nodes are never d-separated.
    cfg = tiny_cfg("task=dseparation", "task.splits.length.nodes=[2,2]")
    with pytest.raises(ConfigError, match=r"split 'length'.*answer Yes.*data.yes_rate.length"):
        build_data(cfg)


def test_manifest_is_json_with_hashes(built):
    _, data_dir, _ = built
    manifest = json.loads((data_dir / "manifest.json").read_text())
    assert set(manifest["splits"]) == set(ALL_SPLITS)
    assert all(len(info["sha256"]) == 64 for info in manifest["splits"].values())


def test_evaluation_scores_every_split_the_data_has_but_train(built):
    """The split names live in the schema alone: the default `eval.splits` is every split a
    data dir holds but train, in its order, and no eval YAML writes a list of its own."""
    from omegaconf import OmegaConf

    from causal_semloss.paths import CONFIG_DIR

    cfg, _, manifest = built
    assert list(cfg.eval.splits) == [split for split in manifest["splits"] if split != "train"]
    for path in (CONFIG_DIR / "eval").glob("*.yaml"):
        assert "splits" not in OmegaConf.load(path), path


def test_a_split_edited_after_generation_is_an_error(tmp_path):
    from causal_semloss.errors import DataError
    from tests.conftest import TINY_DATA, compose_cfg

    cfg = compose_cfg([*TINY_DATA, f"paths.data_root={tmp_path}"])
    data_dir, _, _ = build_data(cfg)
    assert build_data(cfg)[2]  # reused while untouched
    with open(data_dir / "test.jsonl", "a") as fh:
        fh.write("\n")
    with pytest.raises(DataError, match="test.jsonl: sha256 differs"):
        build_data(cfg)


@pytest.mark.parametrize("recorded", ["removed", None, 12])
def test_a_split_without_its_recorded_hash_is_an_error(tmp_path, recorded):
    """The issue's hand edit: `splits.test.sha256` taken out of manifest.json and test.jsonl cut
    to 10 lines must not be scored as a 10-row test split."""
    import json

    from causal_semloss.errors import DataError
    from tests.conftest import TINY_DATA, compose_cfg

    cfg = compose_cfg([*TINY_DATA, f"paths.data_root={tmp_path}"])
    data_dir, _, _ = build_data(cfg)
    manifest_path = data_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if recorded == "removed":
        del manifest["splits"]["test"]["sha256"]
    else:
        manifest["splits"]["test"]["sha256"] = recorded
    manifest_path.write_text(json.dumps(manifest))
    lines = (data_dir / "test.jsonl").read_text().splitlines(keepends=True)
    (data_dir / "test.jsonl").write_text("".join(lines[:10]))
    with pytest.raises(DataError, match=r"manifest.json: no sha256 recorded for split 'test'"):
        build_data(cfg)
