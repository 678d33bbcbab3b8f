"""Arms of a paired comparison are scored on the very same evaluation rows, whatever data they
train on: a balanced twin and the constraint arm (companions) train on other data dirs than the
baseline, but `eval.data` points their evaluation at the baseline's (README "Claims")."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from causal_semloss.data.build import config_hash, data_dir_for
from causal_semloss.evaluate.eval_sets import eval_data_config, load_builtin_sets
from causal_semloss.paths import CONFIG_DIR
from tests.conftest import compose_cfg

TINY = ["data.n_train=300", "data.n_test=40", "data.n_eval=40", "data.n_adversarial=20"]


def _sweep(experiment: str) -> list[tuple[str, str]]:
    """(recipe, task) of every run the experiment sweeps."""
    params = OmegaConf.load(CONFIG_DIR / "experiment" / f"{experiment}.yaml").hydra.sweeper.params
    split = lambda value: [v.strip() for v in str(value).split(",")]  # noqa: E731
    return [(r, t) for r in split(params.recipe) for t in split(params.task)]


# claims_gpu: its own test. The whole claims sweep composes 18 configs (~30 s here): slow; the
# recipes that train on other data than the baseline are checked on one task in `make test`.
DATA_CHANGING = ("baseline", "baseline_balanced", "constraints")


@pytest.mark.parametrize(
    ("experiment", "only", "task_only"),
    [
        ("claims", DATA_CHANGING, "dseparation"),
        pytest.param("claims_trajectory", None, None, marks=pytest.mark.slow),
        pytest.param("claims", None, None, marks=pytest.mark.slow),
    ],
)
def test_every_arm_of_a_task_evaluates_on_one_data_dir(experiment, only, task_only):
    found: dict[str, set] = {}
    train_dirs: dict[str, set] = {}
    for recipe, task in _sweep(experiment):
        if (only is not None and recipe not in only) or task_only not in (None, task):
            continue
        cfg = compose_cfg(
            [f"experiment={experiment}", f"recipe={recipe}", f"task={task}", "seed=1"]
        )
        for task in cfg.eval.tasks:
            found.setdefault(task, set()).add(config_hash(eval_data_config(cfg, task)))
        if cfg.recipe.train:
            train_dirs.setdefault(cfg.task.name, set()).add(config_hash(cfg))
    assert all(len(hashes) == 1 for hashes in found.values()), found
    if experiment == "claims":  # the twins and the constraint arm do train on other data
        assert all(len(dirs) > 1 for dirs in train_dirs.values()), train_dirs


# generates two data dirs (~15 s); the hashes are compared in `make test` above
@pytest.mark.slow
def test_balanced_twin_gets_the_baselines_rows_byte_for_byte(data_root):
    data_root = f"paths.data_root={data_root}"
    base = compose_cfg(
        ["experiment=claims", "recipe=baseline", "task=dseparation", *TINY, data_root]
    )
    twin = compose_cfg(
        ["experiment=claims", "recipe=baseline_balanced", "task=dseparation", *TINY, data_root]
    )
    assert data_dir_for(base) != data_dir_for(twin)  # it trains on other data...
    rows = [
        {s.key: s.records for s in load_builtin_sets(c, ["dseparation"], None)}
        for c in (base, twin)
    ]
    assert rows[0] == rows[1]  # ...and is scored on the same rows
    # Without eval.data the twin's OOD rows would differ (their balance does): the test can fail.
    unpaired = compose_cfg(
        ["experiment=claims", "recipe=baseline_balanced", "task=dseparation", *TINY, data_root]
    )
    OmegaConf.update(unpaired, "eval.data", {}, merge=False)
    own = {s.key: s.records for s in load_builtin_sets(unpaired, ["dseparation"], None)}
    assert own["dseparation/length"] != rows[0]["dseparation/length"]
