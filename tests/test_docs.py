"""docs/ pages that are generated — the configuration reference (schema + conf/ YAML comments) and
the study and benchmark pages (templates filled from the committed result files) — match what
`python -m causal_semloss.docs` builds now: a number on a page cannot drift from its file."""

from __future__ import annotations

import pytest

from causal_semloss.docs import pages
from causal_semloss.docs.__main__ import generated, main
from tests.conftest import REPO

STUDIES = (
    "reproduce",
    "claims",
    "claims_trajectory",
    "claims_full",
    "claims_controls",
    "gemma",
    "backbone",
)


@pytest.fixture(scope="module")
def built():
    return generated(REPO)


def test_every_generated_page_is_up_to_date(built):
    stale = [
        str(p.relative_to(REPO))
        for p, text in built.items()
        if not p.exists() or p.read_text() != text
    ]
    assert not stale, f"stale docs (rebuild: python -m causal_semloss.docs): {stale}"


def test_one_page_per_study_and_the_reference_pages(built):
    names = {p.relative_to(REPO / "docs").as_posix() for p in built}
    assert {f"studies/{s}.md" for s in STUDIES} | {
        "configuration.md",
        "benchmarks.md",
        "data.md",
    } <= names


def test_a_changed_csv_makes_its_page_stale(tmp_path):
    """The staleness test has teeth: edit one number in a cited CSV and the page changes."""
    (tmp_path / "docs" / "templates").mkdir(parents=True)
    (tmp_path / "r.csv").write_text("task,acc\ntransitivity,88.9\n")
    template = tmp_path / "docs" / "templates" / "p.md"
    template.write_text("ID {{value r.csv ;; task == 'transitivity' ;; acc}}%\n")
    assert main(["--repo", str(tmp_path)]) == 0
    assert main(["--repo", str(tmp_path), "--check"]) == 0
    (tmp_path / "r.csv").write_text("task,acc\ntransitivity,88.8\n")
    assert main(["--repo", str(tmp_path), "--check"]) == 1
    assert "ID 88.8%" in pages.render(template, tmp_path)


def test_a_placeholder_that_matches_nothing_is_an_error(tmp_path):
    (tmp_path / "r.csv").write_text("task,acc\ntransitivity,88.9\n")
    template = tmp_path / "p.md"
    template.write_text("{{value r.csv ;; task == 'dseparation' ;; acc}}\n")
    with pytest.raises(ValueError, match="leaves 0 rows"):
        pages.render(template, tmp_path)


def test_a_pipe_in_a_table_cell_does_not_split_the_cell(tmp_path):
    (tmp_path / "r.csv").write_text('claim,statistic\n2,"error (|predicted − true|)"\n')
    template = tmp_path / "p.md"
    template.write_text("{{table r.csv ;; * ;; claim=claim, statistic=statistic}}\n")
    rows = [line for line in pages.render(template, tmp_path).splitlines() if "| 2 |" in line]
    assert rows == ["| 2 | error (\\|predicted − true\\|) |"]


def test_config_reference_names_every_schema_key(built):
    """Every leaf of the composed default config appears in the reference."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from causal_semloss.docs.config_reference import _flatten
    from causal_semloss.paths import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="config"), resolve=False)
    text = built[REPO / "docs" / "configuration.md"]
    missing = [
        k
        for k in _flatten(cfg)
        if not k.startswith(("tasks.", "corpus_data.")) and f"`{k}`" not in text
    ]
    assert not missing, missing


def test_an_arms_run_dirs_exclude_other_arms_of_the_same_recipe(tmp_path):
    from causal_semloss.docs.run_dirs import run_files

    for name in (
        "transitivity_semantic_1",
        "transitivity_semantic_0",
        "transitivity_semantic_constant0.3_0",
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text("{}")
    found = run_files(tmp_path, "transitivity", "semantic", "metrics.json")
    assert [p.parent.name for p in found] == ["transitivity_semantic_0", "transitivity_semantic_1"]
    assert len(run_files(tmp_path, "transitivity", "semantic_constant0.3", "metrics.json")) == 1
