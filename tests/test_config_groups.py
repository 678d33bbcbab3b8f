"""Every option of every config group composes and validates, alone and as the CLIs use it:
a YAML file no test composes is a YAML file that may not load."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from causal_semloss.config_checks import checked
from causal_semloss.errors import ConfigError
from causal_semloss.paths import CONFIG_DIR
from tests.conftest import compose_cfg

GROUPS = sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and p.name != "hydra")
# Nested groups too (model/prompt): (group path, option).
NESTED = sorted(f"{g}/{p.name}" for g in GROUPS for p in (CONFIG_DIR / g).iterdir() if p.is_dir())
OPTIONS = [
    (group, path.stem)
    for group in GROUPS + NESTED
    for path in sorted((CONFIG_DIR / group).glob("*.yaml"))
]


def test_every_group_has_options():
    assert {
        "task",
        "data",
        "model",
        "loss",
        "train",
        "logger",
        "eval",
        "recipe",
        "experiment",
    } <= set(GROUPS)
    assert len(OPTIONS) >= 30


# One option a group in `make test` (~1 s a composition here); every other option: slow.
OPTION_PARAMS = [
    pytest.param(
        g,
        o,
        id=f"{g}={o}",
        marks=() if OPTIONS.index((g, o)) == [x[0] for x in OPTIONS].index(g) else pytest.mark.slow,
    )
    for g, o in OPTIONS
]


@pytest.mark.parametrize(("group", "option"), OPTION_PARAMS)
def test_option_composes_and_validates(group, option):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = checked(compose("config", overrides=[f"{group}={option}"]))
    # The YAML holds every value: nothing is left to a code default.
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    if group == "recipe":
        assert cfg.recipe.name == option
    elif group in ("task", "loss", "model"):
        assert cfg[group].name == option
    elif group == "model/prompt":
        assert cfg.model.prompt.name == option


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local", "slurm"])
def test_hydra_launchers_compose(launcher):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_


def test_a_resolved_value_of_the_wrong_type_is_one_config_error():
    """An interpolation whose value does not fit its field's type fails while resolving: one
    ConfigError naming the field, not a traceback."""
    with pytest.raises(ConfigError, match=r"config train\.epochs: .*could not be converted"):
        compose_cfg(["train.epochs=${task.name}"])
