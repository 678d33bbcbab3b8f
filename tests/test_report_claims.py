"""The Claims section: statistics against scipy/hand values, one test per verdict rule
(`report.verdicts`; each fails on the rules before issue #15), and the section generated from
synthetic sweeps whose answer is known."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_semloss.report.claims import (
    Interval,
    claims_table,
    collapse_rate,
    paired_difference,
    runs_frame,
)
from causal_semloss.report.claims_text import claims_markdown
from causal_semloss.report.paper_numbers import paper_numbers
from causal_semloss.report.sweep import Job
from causal_semloss.report.trivial import headline_flags, per_split_flags
from causal_semloss.report.verdicts import (
    level_verdict,
    prevention_verdict,
    rate_verdict,
    rules_text,
)
from tests.conftest import compose_cfg

RULES = compose_cfg().report.claims  # conf/report/default.yaml
DELTA = RULES.equivalence_margin
# True %Yes of each split, as in data=paper (the ID test and adversarial set are balanced).
TRUTH = {
    "test": 0.5,
    "length": 1.0,
    "branching": 0.02,
    "reversed": 0.022,
    "shuffled": 0.002,
    "long_names": 0.33,
    "adversarial": 0.5,
}
OOD = ("length", "branching", "reversed", "shuffled", "long_names")
IT, LM = "tiny_gemma3_it", "tiny_gemma3_lm"


def _baselines(task: str) -> dict:
    def entry(accuracy, truth):
        two_class = 0 < truth < 1
        return {"accuracy": accuracy, "balanced_accuracy": 0.5 if two_class else None}

    return {
        "always_yes": {f"{task}/{s}": entry(t, t) for s, t in TRUTH.items()},
        "always_no": {f"{task}/{s}": entry(1 - t, t) for s, t in TRUTH.items()},
        "direct_link": {f"{task}/{s}": entry(0.8, t) for s, t in TRUTH.items()},
    }


def _job(variant, task, seed, *, id_acc=0.9, ood=0.7, adv=0.68, yes=0.5, backbone=IT) -> Job:
    """One finished job; `yes` = predicted yes-rate on every split, or a dict per split."""
    yes = yes if isinstance(yes, dict) else dict.fromkeys(TRUTH, yes)
    splits = {
        f"{task}/{s}": {"yes_rate": yes.get(s, 0.5), "true_yes": round(500 * t), "n": 500}
        for s, t in TRUTH.items()
    }
    summary = {
        "id_balanced_accuracy": id_acc,
        "collapsed": yes.get("test", 0.5) >= 0.95 or yes.get("test", 0.5) <= 0.05,
        "ood_accuracy": ood,
        "adversarial_accuracy": adv,
    }
    trained = variant != "base"
    recipe = variant.removeprefix(f"{task}_") if trained else "zero_shot"
    result = {"status": "ok", "variant": variant, "task": task, "recipe": recipe, "seed": seed}
    return Job(
        path=Path(f"/sweep/{backbone}-{variant}-{task}-{seed}"),
        result={**result, "trained": trained},
        metrics={"summary": {task: summary}, "splits": splits, "baselines": _baselines(task)},
        config={"model": {"name": backbone}, "eval": {"collapse_threshold": 0.95}},
    )


NOISE = (0.0, 0.004, -0.003, 0.002, -0.001, 0.001)


def _sweep(baseline_yes, semantic_yes=0.5, seeds=3, task="transitivity", backbone=IT, gain=0.0):
    jobs = []
    for seed, noise in enumerate(NOISE[:seeds]):
        jobs.append(_job("base", task, seed, id_acc=0.9 + noise, backbone=backbone))
        jobs.append(
            _job(f"{task}_baseline", task, seed, id_acc=0.5, yes=baseline_yes, **_bb(backbone))
        )
        sem_yes = semantic_yes + noise if isinstance(semantic_yes, float) else semantic_yes
        jobs.append(
            _job(f"{task}_semantic", task, seed, id_acc=0.5 + gain + noise, ood=0.7 + noise,
                 yes=sem_yes, backbone=backbone)
        )  # fmt: skip
    return jobs


def _bb(backbone):
    return {"backbone": backbone}


def _table(jobs) -> pd.DataFrame:
    return claims_table(runs_frame(jobs), RULES).set_index(["claim", "task", "backbone"])


CLAIM1, CLAIM2 = "1. plain fine-tuning collapses", "2. scheduled λ prevents collapse"
CLAIM3, CLAIM4 = (
    "3. semantic accuracy 70.4 / 68.6",
    "4. adversarial 67–70 (semantic) vs 43–71 (collapsed)",
)


# --- statistics ---------------------------------------------------------------------------


def test_collapse_rate_is_the_exact_binomial_interval():
    frame = runs_frame(_sweep(baseline_yes=0.5))
    k, n, rate = collapse_rate(frame, "baseline", 0.95, "transitivity", IT)
    assert (k, n) == (0, 3)
    assert rate.low == 0 and rate.high == pytest.approx(100 * (1 - 0.025 ** (1 / 3)))


def test_paired_difference_pairs_by_seed_and_uses_a_t_interval():
    frame = runs_frame(_sweep(baseline_yes=0.99, gain=0.2))
    diff = paired_difference(frame, "transitivity", "semantic", "baseline", "id", 0.95, IT)
    values = np.array([20.0, 20.4, 19.7])
    half = 4.302652729911275 * values.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert diff.estimate == pytest.approx(values.mean())
    assert (diff.low, diff.high) == pytest.approx((values.mean() - half, values.mean() + half))


# --- collapse is looked for on every split --------------------------------------------------


def test_collapse_per_split_counts_informative_collapses():
    # The paper's "always No" d-separation baseline: fine on the balanced ID test, No on OOD.
    yes = {"test": 0.46, "length": 0.006, "branching": 0.005, "long_names": 0.021}
    yes |= {"reversed": 0.3, "shuffled": 0.3}
    row = runs_frame([_job("dseparation_baseline", "dseparation", 0, yes=yes)]).iloc[0]
    assert row.near_constant_splits == 3 and row.splits_scored == 6  # length, branching, long_names
    # branching is 98% No: answering No there is right, not collapse; length is 100% Yes
    assert row.collapsed_splits == 2 and not row.collapsed_id  # the rule's count, as in W&B
    assert row.collapsed  # the old rule looked at the ID test only
    assert row.yes_long_names == pytest.approx(2.1)


# --- one rule, one test ---------------------------------------------------------------------


def test_claim_1_counts_collapsed_splits_by_the_one_rule():
    """Always-No on every split is near-constant on all six, but answering No where the truth
    is 98–99.8% No is no collapse: claim 1 counts 3 (ID test, length, long_names), as the
    run's verdict, the trajectory and W&B's `collapsed_splits` do — not the raw 6."""
    table = _table(_sweep(baseline_yes=0.0))
    statistic = table.loc[(CLAIM1, "transitivity", IT), "statistic"]
    assert "collapsed splits per run: 3, 3, 3 of 6" in statistic


def test_claims_are_per_task_and_backbone_never_pooled():
    jobs = [
        *_sweep(0.99, task="transitivity", backbone=IT),
        *_sweep(0.99, task="dseparation", backbone=IT),
        *_sweep(0.99, task="transitivity", backbone=LM),
    ]
    table = claims_table(runs_frame(jobs), RULES)
    claim1 = table[table.claim == CLAIM1]
    assert sorted(zip(claim1.task, claim1.backbone, strict=True)) == [
        ("dseparation", IT),
        ("transitivity", IT),
        ("transitivity", LM),
    ]
    assert (claim1.n == 3).all()  # never 6 runs pooled over two tasks
    assert "both" not in set(table.task)


def test_prevention_is_not_testable_where_the_baseline_never_collapsed():
    table = _table(_sweep(baseline_yes=0.5))
    assert table.loc[(CLAIM2, "transitivity", IT), "verdict"] == "not testable"
    statistics = table.reset_index().query("claim == @CLAIM2").statistic
    assert not statistics.str.contains("ID balanced accuracy").any()


def test_prevention_is_judged_on_collapse_rate_and_yes_rate_error():
    table = _table(_sweep(baseline_yes=0.99, semantic_yes=0.5))
    row = table.loc[(CLAIM2, "transitivity", IT)]
    assert "semantic 0/3 vs baseline 3/3" in row.statistic
    # error against each split's true %Yes, semantic − baseline, paired by seed
    truth = np.array([100 * t for s, t in TRUTH.items() if s != "adversarial"])
    sem = [np.abs(100 * (0.5 + n) - truth).mean() for n in NOISE[:3]]
    expected = np.mean(sem) - np.abs(99 - truth).mean()
    assert row.estimate == pytest.approx(expected)
    assert row.verdict == "confirmed"
    both_collapse = _table(_sweep(baseline_yes=0.99, semantic_yes=0.985))
    assert both_collapse.loc[(CLAIM2, "transitivity", IT), "verdict"] == "refuted"
    assert prevention_verdict((3, 3), (3, 3), Interval(0.0, -9.0, 8.0, 3), DELTA) == "inconclusive"


@pytest.mark.parametrize(
    ("interval", "paper", "verdict"),
    [
        (Interval(70.0, 69.0, 71.0, 3), 70.4, "confirmed"),  # within 70.4 ± 2
        (Interval(70.0, 60.0, 80.0, 3), 70.4, "consistent"),  # old rule: confirmed
        (Interval(60.9, 53.4, 68.3, 3), (67.8, 69.8), "consistent"),  # old rule: confirmed
        (Interval(66.5, 65.0, 66.0, 3), (67.8, 69.8), "differs"),  # old rule: confirmed
        (Interval(83.0, 79.1, 86.8, 3), 70.4, "differs"),
        (Interval(70.4, 70.4, 70.4, 3), 70.4, "no verdict"),  # identical seeds
        (Interval(70.4, None, None, 1), 70.4, "no verdict"),
    ],
)
def test_level_verdicts_confirm_only_by_equivalence(interval, paper, verdict):
    assert level_verdict(interval, paper, DELTA) == verdict


def test_rate_verdicts():
    assert rate_verdict(Interval(100.0, 54.1, 100.0, 6), 0.5) == "confirmed"
    assert rate_verdict(Interval(0.0, 0.0, 45.9, 6), 0.5) == "refuted"
    assert rate_verdict(Interval(100.0, 29.2, 100.0, 3), 0.5) == "inconclusive"


def test_a_zero_width_ci_gives_no_verdict():
    jobs = [j for j in _sweep(0.99) if "semantic" not in j.result["variant"]]
    jobs += [_job("transitivity_semantic", "transitivity", s, ood=0.704) for s in range(3)]
    table = _table(jobs)
    assert table.loc[(CLAIM3, "transitivity", IT), "verdict"] == "no verdict"
    assert "identical seeds" in table.loc[(CLAIM3, "transitivity", IT), "value"]


def test_level_claims_name_the_backbone():
    table = _table(_sweep(0.99, backbone=LM))
    for claim in (CLAIM3, CLAIM4):
        assert LM in table.loc[(claim, "transitivity", LM), "statistic"]


def test_a_level_within_delta_of_a_trivial_baseline_is_flagged():
    # always-No averages (0 + 98 + 97.8 + 99.8 + 67) / 5 = 72.52 on these OOD splits
    always_no = 100 * np.mean([1 - TRUTH[s] for s in OOD])
    jobs = [j for j in _sweep(0.99) if "semantic" not in j.result["variant"]]
    jobs += [
        _job("transitivity_semantic", "transitivity", s, ood=always_no / 100 + d)
        for s, d in enumerate((0.005, 0.01, 0.002))
    ]
    table = _table(jobs)
    row = table.loc[(CLAIM3, "transitivity", IT)]
    assert row.trivial.startswith("always_no 72.5")
    text = "\n".join(claims_markdown(runs_frame(jobs), RULES, jobs))
    assert "trivial (≈ always_no 72.5)" in text
    # the same rule in the tables: per split and headline
    per_split = pd.DataFrame(
        [{"data": "paper", "task": "transitivity", "split": "branching", "accuracy": 97.0}]
    )
    baselines = pd.DataFrame(
        [
            {"data": "paper", "baseline": b, "task": "transitivity", "split": s, "accuracy": a}
            for s, t in TRUTH.items()
            for b, a in (("always_no", 100 * (1 - t)), ("always_yes", 100 * t))
        ]
    )
    assert per_split_flags(per_split, baselines, DELTA) == ["always_no"]
    headline = pd.DataFrame(
        [{"data": "paper", "task": "transitivity", "id_accuracy": 90.0, "ood_accuracy": 73.0}]
    )
    assert headline_flags(headline, baselines, DELTA) == ["OOD ≈ always_no"]


def test_the_section_prints_its_rules():
    jobs = _sweep(0.99)
    text = "\n".join(claims_markdown(runs_frame(jobs), RULES, jobs))
    assert "## Claims" in text
    for line in rules_text(RULES, "95%"):
        assert line in text
    assert "| backbone" in text or "backbone |" in text


def test_ablation_sentences_are_per_task_and_backbone():
    jobs = _sweep(0.99, gain=0.3)
    text = "\n".join(claims_markdown(runs_frame(jobs), RULES, jobs))
    assert f"*transitivity, {IT}*, fine-tuning at all" in text
    assert f"**transitivity, {IT}: what moves the paper's baseline most is the paper's" in text


def test_an_arm_a_config_change_makes_is_held_against_its_recipes_own_arm():
    """A constant-λ control beside the scheduled arm gets its own ablation sentence."""
    jobs = _sweep(0.99, gain=0.3)
    for seed, noise in enumerate(NOISE[:3]):
        job = _job("transitivity_semantic", "transitivity", seed, id_acc=0.5 + 2 * noise)
        job.arm_suffix = " [loss.schedule=constant(0.3)]"
        jobs.append(job)
    text = "\n".join(claims_markdown(runs_frame(jobs), RULES, jobs))
    assert (
        "loss.schedule=constant(0.3) instead of the recipe's own "
        "(`semantic [loss.schedule=constant(0.3)]` − `semantic`): ID balanced accuracy lowers it"
    ) in text


def test_no_section_without_a_trained_baseline():
    jobs = [_job("base", "transitivity", 0)]
    assert claims_markdown(runs_frame(jobs), RULES, jobs) == []


def test_no_headline_number_of_the_paper_is_written_in_the_code():
    """paper_numbers.json is the one place the paper's numbers are written (issue #17)."""
    numbers = {
        repr(float(value))
        for model in paper_numbers()["headline"].values()
        for key in ("standard", "adversarial")
        if (value := model[key]) is not None
    }
    number = re.compile(rf"(?<![\d.])({'|'.join(map(re.escape, sorted(numbers)))})(?![\d])")
    package = Path(__file__).resolve().parent.parent / "src" / "causal_semloss"
    found = [
        f"{path.relative_to(package)}:{line_no}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        for line_no, line in enumerate(path.read_text().splitlines(), 1)
        if number.search(line)
    ]
    assert not found, found
