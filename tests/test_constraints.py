"""The exact constraint semantic loss: formulas true of the oracle, hand-computed values, its
gradient, companion questions in the data, and premise-keeping batches."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from causal_semloss.constraints import satisfied
from causal_semloss.data.build import build_data, read_split
from causal_semloss.tasks import get_task
from causal_semloss.train.finetune import train
from causal_semloss.train.losses import constraint_term
from causal_semloss.train.premise_groups import (
    build_premise_groups,
    group_batches,
    satisfying_mask,
)
from tests.conftest import TINY_DATA, TINY_MODEL, compose_cfg

YES, NO = 0, 1  # token ids of the toy two-word vocabulary below


def _clauses_tensor(clauses, atoms):
    t = torch.zeros((1, max(len(clauses), 1), atoms), dtype=torch.int8)
    for c, clause in enumerate(clauses):
        for lit in clause:
            t[0, c, abs(lit) - 1] = 1 if lit > 0 else -1
    return t


def _term(p_yes: list[float], clauses) -> torch.Tensor:
    """The term on one group whose atoms answer Yes with probabilities `p_yes`."""
    p = torch.tensor(p_yes, dtype=torch.float64)
    logprobs = torch.stack([p.log(), (1 - p).log()], dim=1)
    batch = {
        "group_slots": torch.arange(len(p_yes))[None],
        "group_satisfying": satisfying_mask(_clauses_tensor(clauses, len(p_yes))),
        "group_constrained": torch.tensor([bool(clauses)]),
    }
    return constraint_term(logprobs, batch, YES, NO)


def test_three_atom_closure_by_hand():
    # Yes(a,b) ∧ Yes(b,c) → Yes(a,c): the only violating assignment is (Yes, Yes, No).
    closure = [(-1, -2, 3)]
    assert _term([0.5, 0.5, 0.5], closure).item() == pytest.approx(-math.log(1 - 0.125))
    violate = 0.9 * 0.8 * (1 - 0.3)
    assert _term([0.9, 0.8, 0.3], closure).item() == pytest.approx(-math.log(1 - violate))
    # Add asymmetry Yes(a,b) → No(b,a) as a third atom set: (a,b), (b,a), stated edge (a,b).
    asym_and_edge = [(-1, -2), (1,)]
    # satisfying: a=Yes, b=No -> P = 0.7 * (1 - 0.6)
    assert _term([0.7, 0.6], asym_and_edge).item() == pytest.approx(-math.log(0.7 * 0.4))


def test_term_is_zero_when_the_answers_satisfy_the_formula_with_certainty():
    clauses = [(-1, -2, 3), (-1, -4), (1,)]
    eps = 1e-12
    assert _term([1 - eps, 1 - eps, 1 - eps, eps], clauses).item() == pytest.approx(0, abs=1e-9)
    assert _term([1 - eps, 1 - eps, eps, eps], clauses).item() > 10  # closure violated


def test_gradient_pushes_an_always_yes_model_toward_no_on_reversed_pairs():
    # Atoms: Yes(a,b) [a stated edge], Yes(b,a) [its reverse]; the model says Yes to both.
    margins = torch.tensor([3.0, 3.0], dtype=torch.float64, requires_grad=True)
    logprobs = torch.stack(
        [torch.nn.functional.logsigmoid(margins), torch.nn.functional.logsigmoid(-margins)], 1
    )
    clauses = get_task("transitivity").clauses([("a", "b", ()), ("b", "a", ())], [("a", "b")])
    batch = {
        "group_slots": torch.arange(2)[None],
        "group_satisfying": satisfying_mask(_clauses_tensor(clauses, 2)),
        "group_constrained": torch.tensor([True]),
    }
    constraint_term(logprobs, batch, YES, NO).backward()
    assert margins.grad[1] > 0  # descent lowers p(Yes) of the reversed pair
    assert margins.grad[0] < 0  # and keeps the stated edge Yes


def test_missing_atoms_of_a_smaller_group_do_not_count():
    clauses = [(-1, -2)]
    p = torch.tensor([0.7, 0.6, 0.5], dtype=torch.float64)
    logprobs = torch.stack([p.log(), (1 - p).log()], dim=1)
    mask = satisfying_mask(_clauses_tensor(clauses, 3))
    batch = {  # a 2-atom group padded to 3 atoms; row 2 belongs to no group
        "group_slots": torch.tensor([[0, 1, -1]]),
        "group_satisfying": mask,
        "group_constrained": torch.tensor([True]),
    }
    expected = -math.log(1 - 0.7 * 0.6)
    assert constraint_term(logprobs, batch, YES, NO).item() == pytest.approx(expected)


def test_formulas_hold_for_the_oracle_on_random_premises(tmp_path):
    """The truth is always a model of the formula (both tasks, companions included)."""
    for task in ("transitivity", "dseparation"):
        cfg = compose_cfg(
            [
                *TINY_DATA,
                f"task={task}",
                "data.companions.enabled=true",
                "data.n_train=400",
                f"paths.data_root={tmp_path}",
            ]
        )
        data_dir, manifest, _ = build_data(cfg)
        records = read_split(data_dir, "train")
        groups = build_premise_groups(records, task)
        assert groups.constrained.float().mean() > 0.9
        for start, size in zip(groups.start.tolist(), groups.size.tolist(), strict=True):
            rows = records[start : start + size]
            atoms = [(r["query"][0], r["query"][1], tuple(r["given"])) for r in rows]
            clauses = get_task(task).clauses(atoms, rows[0]["edges"])
            assert satisfied(clauses, [r["oracle"] for r in rows]), rows[0]["premise"]
        # ... and the precomputed mask agrees: the truth's assignment is marked satisfying.
        for g in range(len(groups)):
            start, size = int(groups.start[g]), int(groups.size[g])
            index = sum(int(records[start + i]["oracle"]) << i for i in range(size))
            assert groups.satisfying[g, index]
        assert manifest["splits"]["train"]["n"] == 400
        assert manifest["splits"]["train"]["n_companions"] > 400


def test_companions_change_no_labeled_byte_and_stay_out_of_evaluation(tmp_path):
    base = compose_cfg([*TINY_DATA, f"paths.data_root={tmp_path}"])
    with_companions = compose_cfg(
        [*TINY_DATA, "data.companions.enabled=true", f"paths.data_root={tmp_path}"]
    )
    plain_dir, _, _ = build_data(base)
    comp_dir, _, _ = build_data(with_companions)
    assert plain_dir != comp_dir
    plain, comp = read_split(plain_dir, "train"), read_split(comp_dir, "train")
    companions = [r for r in comp if r.get("companion")]
    assert companions and all(r["label"] is None for r in companions)
    assert [r for r in comp if not r.get("companion")] == plain
    for split in ("test", "length", "branching", "reversed", "shuffled", "long_names"):
        assert (plain_dir / f"{split}.jsonl").read_bytes() == (
            comp_dir / f"{split}.jsonl"
        ).read_bytes()
        assert not any(
            json.loads(line).get("companion")
            for line in (comp_dir / f"{split}.jsonl").read_text().splitlines()
        )
    # Turning companions off keeps the cache key every earlier data dir was built under.
    assert "companions" not in json.loads((plain_dir / "manifest.json").read_text())["data"]


def test_dseparation_formula_by_hand():
    atoms = [("X", "Y", ("Z",)), ("Y", "X", ("Z",)), ("X", "Z", ())]
    clauses = get_task("dseparation").clauses(atoms, [("X", "Z"), ("Z", "Y")])
    assert satisfied(clauses, [True, True, False])
    assert not satisfied(clauses, [True, False, False])  # symmetry
    assert not satisfied(clauses, [True, True, True])  # adjacent pair declared separated


def test_group_batches_keep_premises_whole_and_average_the_batch_size():
    rng = random.Random(0)
    records = []
    for g in range(60):
        for _ in range(rng.randint(1, 3)):
            records.append({"graph_id": f"g{g}", "query": ["a", "b"], "given": [], "edges": []})
        for _ in range(rng.randint(0, 4)):
            records.append(
                {
                    "graph_id": f"g{g}",
                    "query": ["b", "a"],
                    "given": [],
                    "edges": [],
                    "companion": True,
                }
            )
    groups = build_premise_groups(records, "transitivity")
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(1))
    batches = group_batches(groups, order, 8)
    labeled_total = 0
    for batch in batches:
        rows = batch["rows"].tolist()
        ids = {records[r]["graph_id"] for r in rows}
        whole = [i for i, r in enumerate(records) if r["graph_id"] in ids]
        assert sorted(rows) == whole  # every premise in the batch is there entirely
        slots = batch["group_slots"]
        for slot_row in slots.tolist():
            members = [rows[s] for s in slot_row if s >= 0]
            assert len({records[m]["graph_id"] for m in members}) == 1
        labeled_total += sum(not records[r].get("companion") for r in rows)
    assert len(batches) == int(groups.labeled.sum()) // 8
    assert abs(labeled_total / len(batches) - 8) < 1


@pytest.mark.slow  # end to end, 10-75 s here: `make test-slow` (CI) runs it
def test_constraints_variant_trains_end_to_end(tmp_path):
    cfg = compose_cfg(
        [
            *TINY_DATA,
            *TINY_MODEL,
            "recipe=constraints",
            "train.max_steps=6",
            "train.batch_size=8",
            "train.val_size=16",
            "train.eval_steps=3",
            "train.log_steps=1",
            "train.warmup_steps=1",
            "logger=none",
            f"paths.data_root={tmp_path / 'data'}",
        ]
    )
    a = train(cfg, tmp_path / "a")
    values = a["history"]["sem/constraints"]
    assert len(values) == 6 and all(math.isfinite(v) and v > 0 for v in values)
    b = train(cfg, tmp_path / "b")
    assert a["history"] == b["history"]


def test_checker_counts_companions_and_evaluation_never_loads_them(tmp_path):
    from causal_semloss.data.external import check_external, load_external

    cfg = compose_cfg([*TINY_DATA, "data.companions.enabled=true", f"paths.data_root={tmp_path}"])
    data_dir, manifest, _ = build_data(cfg)
    path = data_dir / "train.jsonl"
    summary = check_external(path, "transitivity")
    n_companions = manifest["splits"]["train"]["n_companions"]
    assert summary["valid"] == summary["n"] == 200 + n_companions
    assert summary["info"]["companion"] == n_companions
    loaded = load_external(path, "transitivity")
    assert len(loaded.records) == 200 and not any(r["companion"] for r in loaded.records)
