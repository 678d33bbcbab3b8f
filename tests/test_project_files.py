"""The files a user cites and licenses the suite by agree with each other and with pyproject."""

from __future__ import annotations

import tomllib

import yaml

from tests.conftest import REPO


def test_license_is_an_spdx_string_matching_the_license_file():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)  # PEP 639; the table form is deprecated
    assert project["license"] == "MIT"
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert project["license-files"] == ["LICENSE"]


def test_citation_cff_names_the_suite_and_the_paper():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == project["version"] and cff["license"] == project["license"]
    paper = cff["preferred-citation"]
    assert paper["identifiers"][0]["value"] == "arXiv:2605.05438"
    assert [a["family-names"] for a in paper["authors"]] == ["Deshmukh", "Gupta"]


def test_readme_carries_the_papers_bibtex():
    readme = (REPO / "README.md").read_text()
    assert "@article{deshmukh2026semantic," in readme
    assert "eprint        = {2605.05438}" in readme
