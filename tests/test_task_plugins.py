"""Tasks are plugins: everything a question type means lives in `causal_semloss.tasks`, found
through the registry. No other module branches on a task's name, an unknown name is an error
listing the known ones, the task package sits below every stage, and every registered task
keeps the contracts the stages rely on (grammar round trip, adversarial pairs that differ,
formulas true of its oracle)."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from causal_semloss.errors import ConfigError
from causal_semloss.evaluate.baselines import direct_link
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.tasks import REGISTRY, TASK_NAMES, get_task
from causal_semloss.text import render_hypothesis

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "causal_semloss"
# Where a task may be named in code: its own package, and the config.
TASK_HOMES = ("tasks", "conf")
# Modules below the stages that a task module may import (graphs only for type hints).
TASK_IMPORTS = {"constraints", "errors", "oracles", "text", "tasks"}
# Files another change owns that still name a task; remove an entry when its file is fixed.
KNOWN_LEFTOVERS: dict[str, str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _task_names_in_code(path: Path) -> list[str]:
    """`line: 'name'` for every string literal in code (not a docstring) that is exactly a
    registered task's name: what `if task == "..."`, a dict keyed by task, or a tuple of the
    tasks is made of."""
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree)
    return [
        f"{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and id(node) not in skip
        and isinstance(node.value, str)
        and node.value in REGISTRY
    ]


def test_no_module_outside_tasks_names_a_task():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] in TASK_HOMES or rel in KNOWN_LEFTOVERS:
            continue
        if hits := _task_names_in_code(path):
            found[rel] = hits
    assert not found, f"branch on a task name; ask the registry (causal_semloss.tasks): {found}"


def test_the_scan_finds_a_branch_on_a_task_name(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        '"""Transitivity, in a docstring, is fine."""\n\nX = task == "transitivity"\n'
    )
    assert _task_names_in_code(module) == ["3: 'transitivity'"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("causal_semloss"):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("causal_")}
    return names


def test_the_task_package_sits_below_every_stage():
    for path in (PACKAGE / "tasks").glob("*.py"):
        assert _imports(path) <= TASK_IMPORTS, (path.name, _imports(path) - TASK_IMPORTS)


def test_an_unknown_task_is_an_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match="unknown task 'nope'") as err:
        get_task("nope")
    assert all(name in str(err.value) for name in TASK_NAMES)
    # No silent default: the baselines ask the registry too.
    with pytest.raises(ConfigError, match="unknown task"):
        direct_link({"task": "nope", "query": ["A", "B"], "edges": [["A", "B"]]})


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_task_has_its_config(name):
    task_cfg = OmegaConf.load(CONFIG_DIR / "task" / f"{name}.yaml")
    assert task_cfg.name == name
    template = task_cfg.hypothesis
    task = get_task(name)
    given_nodes = ["C", "D"] if "given" in task.question.groupindex else []
    text = render_hypothesis(template, "A-1", "B", given_nodes)
    assert task.parse_question(f"A causes B. {text}") == ("A-1", "B", given_nodes)
    premise, question = task.split_question(f"Given the following causal relationships: P. {text}")
    assert (premise, question) == ("P. ", text)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_adversarial_kinds_make_pairs_whose_answers_differ(name):
    task = get_task(name)
    rng = random.Random(0)
    for kind, build in task.adversarial_kinds:
        differ = 0
        for _ in range(40):
            edges_a, (xa, ya, ga), edges_b, (xb, yb, gb) = build(rng)
            a = task.answer(nx.DiGraph(edges_a), xa, ya, ga)
            b = task.answer(nx.DiGraph(edges_b), xb, yb, gb)
            differ += a != b
        assert differ >= 20, (name, kind, differ)


@st.composite
def _premise_and_atoms(draw):
    n = draw(st.integers(3, 7))
    nodes = [f"n{i}" for i in range(n)]
    pairs = [(u, v) for i, u in enumerate(nodes) for v in nodes[i + 1 :]]
    edges = [p for p in pairs if draw(st.booleans())]
    k = draw(st.integers(1, 6))
    atoms = []
    for _ in range(k):
        x, y = draw(st.lists(st.sampled_from(nodes), min_size=2, max_size=2, unique=True))
        others = [z for z in nodes if z not in (x, y)]
        given = tuple(draw(st.lists(st.sampled_from(others), max_size=2, unique=True)))
        atoms.append((x, y, given))
    return nodes, edges, atoms


@pytest.mark.parametrize("name", TASK_NAMES)
@settings(max_examples=150, deadline=None)
@given(case=_premise_and_atoms(), seed=st.integers(0, 2**16))
def test_formulas_and_companions_hold_of_the_oracle(name, case, seed):
    from causal_semloss.constraints import satisfied

    task = get_task(name)
    nodes, edges, atoms = case
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    if "given" not in task.question.groupindex:
        atoms = [(x, y, ()) for x, y, _ in atoms]
    companions = task.companion_candidates(atoms, nodes, edges, graph, random.Random(seed))
    atoms = list(dict.fromkeys([*atoms, *(a for a in companions if a[0] != a[1])]))[:10]
    truth = [task.answer(graph, x, y, given) for x, y, given in atoms]
    assert satisfied(task.clauses(atoms, edges), truth)


def test_the_paper_configs_compose_only_its_two_tasks_and_a_third_finds_its_own():
    from causal_semloss.data.build import config_for_task
    from causal_semloss.tasks import PAPER_TASKS
    from tests.conftest import compose_cfg

    cfg = compose_cfg()
    assert tuple(cfg.tasks) == PAPER_TASKS
    extra = [name for name in TASK_NAMES if name not in PAPER_TASKS]
    for name in extra:
        own = config_for_task(cfg, name)  # read from conf/task/<name>.yaml
        assert own.task == compose_cfg([f"task={name}"]).task
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        config_for_task(cfg, "nope")
