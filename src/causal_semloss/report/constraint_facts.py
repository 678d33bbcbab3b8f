"""What the constraint arm's formulas (`causal_semloss.constraints`) can do, counted on
training data made with the arm's own config: which answers a single-literal clause pins by
itself (such a clause is a label, not a consistency constraint) and whether a constant answer
satisfies every formula (if always-No does, the formulas cannot oppose a drift to No).

Why consistency alone cannot oppose a constant d-separation answer: a constraint sound for every
DAG (symmetry, the graphoid axioms, any property of d-separation as such) holds in particular of
the empty graph, where every pair is d-separated (always Yes), and of a complete DAG, where none
is (always No); both constants satisfy it. Only clauses that read the premise can, and the
premise-reading clauses here are the stated-edge ones, which pin single answers.
"""

from __future__ import annotations

from itertools import groupby

from omegaconf import OmegaConf

from causal_semloss.constraints import satisfied
from causal_semloss.data.build import target_yes_rate
from causal_semloss.data.companions import add_companions
from causal_semloss.data.splits import generate_split, split_rng
from causal_semloss.graphs import plain_shape
from causal_semloss.report.sweep import Job
from causal_semloss.tasks import TASK_NAMES, get_task


def training_sample(cfg, n: int) -> list[dict]:
    """`n` labeled training questions with their companions, made as the data stage makes the
    training split of `cfg` (its task, data setting and seed; a smaller `n`)."""
    task = cfg.task.name
    records = generate_split(
        task=task,
        split="train",
        shape=plain_shape(cfg.task.splits.train),
        hypothesis_template=cfg.task.hypothesis,
        n=n,
        yes_rate=target_yes_rate(cfg, "train"),
        queries_per_graph=cfg.data.queries_per_graph,
        rng=split_rng(cfg.seed, task, "train"),
    )
    return add_companions(
        records,
        task=task,
        hypothesis_template=cfg.task.hypothesis,
        max_atoms=cfg.data.companions.max_atoms,
        rng=split_rng(cfg.seed, task, "train:companions"),
    )


def formula_facts(records: list[dict], task: str) -> dict:
    """Counts over the premises of `records` (a premise's questions are consecutive): atoms
    (questions), labeled and companion; atoms pinned by a single-literal clause, by kind and by
    the answer pinned; premises with a clause; premises whose formula always-No / always-Yes
    satisfies, with all its clauses and with its consistency clauses only (two or more literals)."""
    build = get_task(task).clauses
    facts = dict.fromkeys(
        (
            "premises",
            "constrained",
            "labeled",
            "companions",
            "pinned_labeled",
            "pinned_companions",
            "pinned_yes",
            "pinned_no",
            "all_no_satisfies",
            "all_yes_satisfies",
            "all_no_satisfies_consistency",
            "all_yes_satisfies_consistency",
        ),
        0,
    )
    for _, group in groupby(records, key=lambda r: r["graph_id"]):
        group = list(group)
        atoms = [(r["query"][0], r["query"][1], tuple(r["given"])) for r in group]
        clauses = build(atoms, group[0]["edges"])
        pinned = {abs(c[0]) - 1: c[0] > 0 for c in clauses if len(c) == 1}
        facts["premises"] += 1
        facts["constrained"] += bool(clauses)
        for slot, record in enumerate(group):
            kind = "companions" if record.get("companion") else "labeled"
            facts[kind] += 1
            if slot in pinned:
                facts[f"pinned_{kind}"] += 1
                facts["pinned_yes" if pinned[slot] else "pinned_no"] += 1
        consistency = [c for c in clauses if len(c) > 1]
        for answer, name in ((False, "all_no"), (True, "all_yes")):
            facts[f"{name}_satisfies"] += satisfied(clauses, [answer] * len(atoms))
            facts[f"{name}_satisfies_consistency"] += satisfied(consistency, [answer] * len(atoms))
    return facts


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def facts_sentence(task: str, facts: dict, n: int) -> str:
    """One bullet: what the formulas pin and what a constant answer does to them."""
    pinned = facts["pinned_labeled"] + facts["pinned_companions"]
    answers = "Yes" if not facts["pinned_no"] else "No" if not facts["pinned_yes"] else "Yes/No"
    return (
        f"- *{task}* ({n} labeled training questions made with the arm's own config; "
        f"{facts['premises']} premises, {facts['constrained']} with a clause): single-literal "
        f"clauses pin {_pct(pinned, facts['labeled'] + facts['companions'])} of the questions "
        f"to {answers} by themselves — {_pct(facts['pinned_companions'], facts['companions'])} "
        f"of the unlabeled companions, which are in effect extra labels. Always-No satisfies "
        f"{_pct(facts['all_no_satisfies'], facts['premises'])} of the premises' formulas, "
        f"always-Yes {_pct(facts['all_yes_satisfies'], facts['premises'])}; their consistency "
        f"clauses alone (two or more literals) are satisfied by always-No on "
        f"{_pct(facts['all_no_satisfies_consistency'], facts['premises'])}, by always-Yes on "
        f"{_pct(facts['all_yes_satisfies_consistency'], facts['premises'])}."
    )


def constraint_arm_markdown(jobs: list[Job], sample: int) -> list[str]:
    """The constraint arm paragraph of the Claims section, for each task with such an arm."""
    lines = []
    for task in TASK_NAMES:
        job = next(
            (
                j
                for j in jobs
                if j.recipe == "constraints" and j.result.get("task") == task and "data" in j.config
            ),
            None,
        )
        if job is None:
            continue
        cfg = OmegaConf.create(job.config)
        n = min(sample, int(cfg.data.n_train))
        lines.append(facts_sentence(task, formula_facts(training_sample(cfg, n), task), n))
    if not lines:
        return []
    return [
        "",
        "What the constraint arm's formulas can do (counted by "
        "src/causal_semloss/report/constraint_facts.py):",
        "",
        *lines,
        "- A clause that holds for every DAG whatever the premise (symmetry, closure, asymmetry, "
        "the graphoid axioms of conditional independence) also holds of any constant answer some "
        "DAG gives: always-No for transitivity (the empty graph), always-Yes (the empty graph) "
        "and always-No (a complete DAG) for d-separation. So consistency alone cannot oppose a "
        "drift to No in either task, nor to Yes in d-separation (transitivity's asymmetry, over a "
        "question and its reverse, is the one rule that opposes always-Yes). A clause that can "
        "oppose a constant answer must read the premise, and here those are the stated-edge "
        "clauses, which pin single answers: labels. D-separation's all pin No (a stated edge is "
        "never d-separated), the answer the paper's d-separation baseline collapsed to.",
    ]
