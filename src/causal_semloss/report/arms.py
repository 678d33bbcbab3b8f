"""Which runs are seeds of one arm. A row of the report averages over seeds, so it must hold
exactly the runs whose configs differ in nothing but the seed: runs of one recipe at two learning
rates, two λ schedules or two budgets are two rows, each named by what differs, and a run repeated
with the same config and seed (`seed=0,0`, a sweep given twice under two names) counts once.

What may differ inside one arm without making it another experiment — where a run was written,
how it was logged, how many threads scored it, how often it was probed — is listed in
`report.same_arm_ignores` (conf/report/default.yaml)."""

from __future__ import annotations

import json
from collections import Counter

from causal_semloss.report.sweep import Job


def _flat(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = json.dumps(value, sort_keys=True)
    return out


def _ignored(key: str, ignores: list[str]) -> bool:
    return any(key == prefix or key.startswith(f"{prefix}.") for prefix in ignores)


def fingerprint(job: Job, ignores: list[str]) -> dict[str, str]:
    """The job's config, flattened, less the seed and the keys that do not make another arm."""
    return {k: v for k, v in _flat(job.config).items() if not _ignored(k, [*ignores, "seed"])}


def _value(text: str) -> str:
    value = json.loads(text)
    return value if isinstance(value, str) else json.dumps(value)


def assign_arms(jobs: list[Job], ignores: list[str]) -> tuple[list[Job], list[str]]:
    """Set each job's `arm_suffix` and drop repeats; return (the jobs, one note per repeat).

    Jobs of one (task, recipe) whose configs differ get a suffix naming the differing keys,
    e.g. `[loss.schedule=constant(0.3)]`, except the one config that holds strictly the most
    runs, which keeps the plain recipe name (the arm the recipe means, e.g. the paper's
    scheduled λ beside two constant-λ controls); with no such majority every config is named.
    """
    notes: list[str] = []
    by_recipe: dict[tuple, list[Job]] = {}
    for job in jobs:
        job.fingerprint = fingerprint(job, ignores)
        by_recipe.setdefault((job.task, job.recipe), []).append(job)
    for recipe, group in by_recipe.items():
        # A key only some runs have (a setting added to the suite after the others ran) tells
        # no arm apart: the runs without it ran with the behaviour before it existed. So a
        # newer suite's rerun of an older run is a repeat too.
        shared = set.intersection(*(set(j.fingerprint) for j in group))
        for job in group:
            job.fingerprint = {k: v for k, v in job.fingerprint.items() if k in shared}
        by_recipe[recipe] = group = _without_repeats(group, notes)
        configs = Counter(tuple(sorted(j.fingerprint.items())) for j in group)
        if len(configs) < 2:
            continue
        differing = sorted(
            {k for j in group for k in j.fingerprint}
            - {
                k
                for k in group[0].fingerprint
                if all(j.fingerprint.get(k) == group[0].fingerprint[k] for j in group)
            }
        )
        (top, n_top), *rest = configs.most_common()
        majority = top if not rest or rest[0][1] < n_top else None
        for job in group:
            if tuple(sorted(job.fingerprint.items())) == majority:
                continue
            shown = [f"{k}={_value(job.fingerprint[k])}" for k in differing if k in job.fingerprint]
            job.arm_suffix = f" [{', '.join(shown)}]"
    kept = {id(job) for group in by_recipe.values() for job in group}
    return [job for job in jobs if id(job) in kept], notes


def _record_size(job: Job) -> tuple[int, int]:
    """How much of training a run recorded: its trajectory points, then its logged steps of the
    answer token's weight. Of two copies of one run the richer record is the one to draw."""
    train = job.train_metrics or {}
    return len(train.get("trajectory", [])), len(train.get("history", {}).get("answer_weight", []))


def _without_repeats(group: list[Job], notes: list[str]) -> list[Job]:
    """The group with each finished (fingerprint, seed) once, noted. Two copies of one seed need
    not end with the same model: a rerun on another device or thread count sums in another order,
    and over thousands of steps that can move the final scores (claims_full's CUDA `semantic`
    seed 0 ended at ID 83.1, its CPU rerun in claims_controls at 86.7). The copy with the richer
    training record (`_record_size`: a rerun with a finer trajectory grid) is kept, else the
    earlier one, and the note names the one counted."""
    first_of: dict[tuple, Job] = {}
    kept: list[Job] = []
    for job in group:
        key = (tuple(sorted(job.fingerprint.items())), job.result.get("seed"))
        if not job.ok:
            kept.append(job)
            continue
        earlier = first_of.get(key)
        if earlier is None:
            first_of[key] = job
            kept.append(job)
        elif _record_size(job) > _record_size(earlier):
            notes.append(
                f"{earlier.path} repeats {job.path} (same arm and seed): counted once, "
                "as the later run (its scores), whose training record is richer"
            )
            kept = [job if k is earlier else k for k in kept]
            first_of[key] = job
        else:
            notes.append(f"{job.path} repeats {earlier.path} (same arm and seed): counted once")
    return kept
