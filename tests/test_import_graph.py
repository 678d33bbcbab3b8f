"""The code's shape: the package's import graph has no cycle (type-hint imports included), no stage imports a later stage
(data -> model -> train -> evaluate -> report; `pipeline`/`run` wire them) even for a type
hint, and no module passes ~300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "causal_semloss"
STAGES = ["data", "model", "train", "evaluate", "report"]
MAX_LINES = 300


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, type_only: bool) -> set[str]:
    """Package modules `path` imports at module level or inside functions, and with `type_only`
    also those under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if not type_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("causal_semloss")
        ):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("causal_semloss")}
    return found


def _graph(type_only: bool, package: Path = PACKAGE) -> nx.DiGraph:
    modules = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(path, type_only):
            # `from causal_semloss.data import x` names the package; resolve to a module if x is one
            graph.add_edge(name, target if target in modules else target.rsplit(".", 1)[0])
    return graph


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_no_import_cycle():
    """Type-only imports included. A `TYPE_CHECKING` import hides a cycle from the interpreter,
    not from the design: schema -> tasks -> (type hint) graphs -> schema was such a cycle, and
    the fix is to move the dependency, not to hide an edge (see `test_a_type_only_cycle_is_a_cycle`)."""
    cycles = list(nx.simple_cycles(_graph(type_only=True)))
    assert not cycles, cycles[:3]


def test_a_type_only_cycle_is_a_cycle(tmp_path):
    """The cycle the suite once had, rebuilt in a scratch package: a schema naming the task
    registry, a task naming a graph type under TYPE_CHECKING, the graphs importing the schema."""
    root = tmp_path / "causal_semloss"
    (root / "tasks").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "schema.py").write_text("from causal_semloss.tasks import TASK_NAMES\n")
    (root / "graphs.py").write_text("from causal_semloss.schema import SplitShapeConfig\n")
    (root / "tasks" / "__init__.py").write_text("from causal_semloss.tasks.base import Task\n")
    (root / "tasks" / "base.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from causal_semloss.graphs import CausalGraph\n"
    )
    assert list(nx.simple_cycles(_graph(type_only=True, package=root)))
    assert not list(nx.simple_cycles(_graph(type_only=False, package=root)))


def test_no_stage_imports_a_later_stage():
    """Type-only imports included: a later stage named for a type hint is still a wrong-way
    dependency (the fix is a type that lives at or below the stage that needs it)."""
    wrong = []
    for source, target in _graph(type_only=True).edges:
        s, t = _stage(source), _stage(target)
        if s is not None and t is not None and t > s:
            wrong.append(f"{source} -> {target}")
        if s is not None and target.split(".")[-1] in ("pipeline", "run"):
            wrong.append(f"{source} -> {target} (the wiring)")
    assert not wrong, wrong


def test_modules_stay_small():
    long = {
        _module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_type_checking_imports_are_seen(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from causal_semloss.train.premise_groups import PremiseGroups\n"
    )
    assert _imports(module, type_only=True) == {"causal_semloss.train.premise_groups"}
    assert _imports(module, type_only=False) == set()
