"""The code's shape: the package's import graph has no cycle, no stage imports a later stage
(data -> model -> train -> evaluate -> report; `pipeline`/`run` wire them), and no module
passes ~300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "causal_semloss"
STAGES = ["data", "model", "train", "evaluate", "report"]
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Package modules `path` imports at module level or inside functions (TYPE_CHECKING
    blocks excluded: they never run)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
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


def _graph() -> nx.DiGraph:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(path):
            # `from causal_semloss.data import x` names the package; resolve to a module if x is one
            graph.add_edge(name, target if target in modules else target.rsplit(".", 1)[0])
    return graph


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_no_import_cycle():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, cycles[:3]


def test_no_stage_imports_a_later_stage():
    wrong = []
    for source, target in _graph().edges:
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
