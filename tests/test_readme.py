"""The README is a front page that stays true: short, its findings agree with the study pages they
link (which are generated from the committed result files, tests/test_docs.py), and its cheap
commands run as written."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import REPO, run_cli

README = (REPO / "README.md").read_text()
CHEAP = ("--help", "--cfg job", "data.check examples/")


def _findings_rows() -> list[list[str]]:
    section = README.split("## Findings at a glance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:]]


def test_readme_is_a_front_page():
    assert len(README.splitlines()) <= 300


def test_every_findings_number_is_on_the_study_page_it_links():
    """Each number in a findings row (its claim column aside) appears on the linked study page."""
    checked = 0
    for cells in _findings_rows():
        links = re.findall(r"\]\((docs/studies/[\w]+\.md)\)", cells[-1])
        if not links:
            continue
        page = (REPO / links[0]).read_text()
        for number in re.findall(r"\d+(?:[.,]\d+)*", " ".join(cells[1:-1])):
            assert number in page, (
                f"README findings: {number} not on {links[0]} ({cells[1][:60]}...)"
            )
            checked += 1
    assert checked > 30


def test_the_controls_row_speaks_from_its_study_page():
    """The controls of the transitivity rescue are reported from their page, whose numbers the
    test above holds the row to."""
    rows = [cells for cells in _findings_rows() if "claims_controls.md" in cells[-1]]
    assert rows and "undecided" in " ".join(rows[0])


def _cheap_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            if line.startswith("python -m ") and any(c in line for c in CHEAP):
                commands.append(shlex.split(line, comments=True))
    return commands


def test_the_readme_has_cheap_commands():
    assert len(_cheap_commands()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("command", _cheap_commands(), ids=lambda c: " ".join(c[2:4]))
def test_readme_cheap_command_runs_as_written(command):
    assert command[:2] == ["python", "-m"]
    proc = run_cli(command[2], *command[3:], timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()


@pytest.mark.parametrize("axis", ["task", "recipe", "model", "data", "runtime", "experiment"])
def test_the_axes_table_names_every_option(axis):
    from causal_semloss.paths import CONFIG_DIR

    row = next(line for line in README.splitlines() if line.startswith(f"| `{axis}=` |"))
    named = set(re.findall(r"`(\w+)`", row.split(" | ")[1]))
    assert {p.stem for p in (CONFIG_DIR / axis).glob("*.yaml")} <= named
