"""`--help` is the suite's own (conf/hydra/help/causal_semloss.yaml), not Hydra's default: what
the commands do, the axes, two examples, and no dump of the composed config."""

from __future__ import annotations

import re

import pytest
from hydra import compose, initialize_config_dir

from causal_semloss.paths import CONFIG_DIR
from tests.conftest import run_cli

# The axes the help lists, each a config group whose options are the YAML files in conf/<group>.
AXES = ("task", "recipe", "model", "data", "runtime", "experiment")


def _help_header() -> str:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True)
    return cfg.hydra.help.header


def _axis_options(header: str, axis: str) -> set[str]:
    """The option names the help gives for `axis=`, its continuation lines included."""
    block = re.search(rf"^  {axis}=\s+(.*?)(?=^  \w+=|^\s*$)", header, re.S | re.M).group(1)
    text = re.sub(r"\([^)]*\)", "", block.split(":", 1)[1])  # drop "(the paper's)" asides
    return {w for w in re.findall(r"[a-z][a-z0-9_]*", text)}


@pytest.mark.parametrize("axis", AXES)
def test_help_names_every_option_of_each_axis(axis):
    """A recipe or backbone added to (or removed from) conf/ without its line in the help fails
    here: the help's axes are hand-written, so they are checked against the files."""
    assert _axis_options(_help_header(), axis) == {
        p.stem for p in (CONFIG_DIR / axis).glob("*.yaml")
    }


def test_help_examples_compose():
    """The two example command lines compose (their overrides are real keys and options)."""
    examples_block = _help_header().split("== Examples ==")[1]
    examples = re.findall(r"^\s+python -m causal_semloss\.run (.*)$", examples_block, re.M)
    assert len(examples) == 2
    for line in examples:
        overrides = [a for a in line.split() if a != "-m"]
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            compose(config_name="config", overrides=overrides)


@pytest.mark.slow
def test_run_help_is_the_suites():
    proc = run_cli("causal_semloss.run", "--help", timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "powered by Hydra" not in out
    assert "== The axes" in out and "== Examples ==" in out
    assert "recipe: answer_ce, baseline" in out  # Hydra's generated list of group options
    assert "paths:" not in out and "seed: 0" not in out  # no composed-config dump
