"""What the constraint arm's formulas can do, computed from the code (constraints.py and the
companion questions of data/companions.py) on a small generated training set: the facts the
report's Claims section and the README state."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest
from omegaconf import OmegaConf

from causal_semloss.constraints import satisfied
from causal_semloss.report.constraint_facts import (
    constraint_arm_markdown,
    formula_facts,
    training_sample,
)
from causal_semloss.report.sweep import Job
from causal_semloss.tasks import PAPER_TASKS, get_task
from tests.conftest import compose_cfg


@pytest.fixture(scope="module")
def samples():
    out = {}
    for task in PAPER_TASKS:
        cfg = compose_cfg(["data=paper", f"task={task}", "recipe=constraints"])
        out[task] = (cfg, formula_facts(training_sample(cfg, 400), task))
    return out


def test_always_no_satisfies_every_d_separation_formula(samples):
    _, facts = samples["dseparation"]
    assert facts["constrained"] == facts["premises"] > 100
    assert facts["all_no_satisfies"] == facts["premises"]
    assert facts["all_yes_satisfies"] == 0  # the stated-edge clauses pin No


def test_d_separation_single_literal_clauses_pin_no_and_most_companions(samples):
    _, facts = samples["dseparation"]
    assert facts["pinned_yes"] == 0 and facts["pinned_no"] > 0
    # most companions are pinned by themselves: in effect extra No labels (~3/4 on data=paper)
    assert facts["pinned_companions"] / facts["companions"] > 0.6


def test_transitivity_pins_yes_and_only_its_labels_oppose_always_no(samples):
    _, facts = samples["transitivity"]
    assert facts["pinned_no"] == 0 and facts["pinned_yes"] > 0
    assert facts["all_no_satisfies"] == 0  # violated only through the stated-edge (unit) clauses
    assert facts["all_no_satisfies_consistency"] == facts["premises"]
    assert facts["all_yes_satisfies_consistency"] == 0  # asymmetry over a pair and its reverse


def test_d_separation_consistency_clauses_hold_for_both_constants(samples):
    _, facts = samples["dseparation"]
    assert facts["all_no_satisfies_consistency"] == facts["premises"]
    assert facts["all_yes_satisfies_consistency"] == facts["premises"]


def test_both_constant_d_separation_answers_are_some_dags_answers():
    """Why no premise-free rule can oppose a constant d-separation answer: the empty graph
    answers Yes to every question, a complete DAG No to every one."""
    rng = random.Random(0)
    nodes = [f"n{i}" for i in range(6)]
    empty = nx.DiGraph()
    empty.add_nodes_from(nodes)
    complete = nx.DiGraph(itertools.combinations(nodes, 2))
    for _ in range(200):
        x, y = rng.sample(nodes, 2)
        rest = [n for n in nodes if n not in (x, y)]
        given = tuple(rng.sample(rest, rng.randint(0, 3)))
        assert get_task("dseparation").answer(empty, x, y, given) is True
        assert get_task("dseparation").answer(complete, x, y, given) is False
        assert get_task("transitivity").answer(empty, x, y) is False


def test_the_formulas_hold_of_the_oracle_on_the_sample(samples):
    for task, (cfg, _) in samples.items():
        records = training_sample(cfg, 100)
        for _, group in itertools.groupby(records, key=lambda r: r["graph_id"]):
            group = list(group)
            atoms = [(r["query"][0], r["query"][1], tuple(r["given"])) for r in group]
            clauses = get_task(task).clauses(atoms, group[0]["edges"])
            assert satisfied(clauses, [r["oracle"] for r in group])


def test_the_report_paragraph_is_computed_from_the_arm_config(samples):
    cfg, facts = samples["dseparation"]
    job = Job(
        path=None,
        result={
            "status": "ok",
            "variant": "dseparation_constraints",
            "task": "dseparation",
            "recipe": "constraints",
        },
        metrics={},
        config=OmegaConf.to_container(cfg, resolve=True),
    )
    text = "\n".join(constraint_arm_markdown([job], 400))
    pinned = facts["pinned_companions"]
    assert f"{pinned}/{facts['companions']}" in text
    assert f"Always-No satisfies {facts['premises']}/{facts['premises']} (100%)" in text
    assert "complete DAG" in text
